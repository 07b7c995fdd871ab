"""`tinyml run`: the whole pipeline in one command, each stage resumable from its artifacts.

    from tinyml.pipeline import run_pipeline
    result = run_pipeline("kws")                  # data -> train -> firmware -> validate -> report
    print(result.summary())

Like a build system, every stage has a key made of what it depends on (the config, the
dataset, the model's bytes, the firmware templates, the board); a stage whose key matches the
one recorded in runs/.pipeline-APP-BOARD.json and whose artifacts exist is skipped. A second
run with nothing changed only rewrites the report.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinyml import __version__
from tinyml.boards import Board, load_board
from tinyml.datasets.store import intact
from tinyml.errors import TinymlError, warn
from tinyml.paths import PACKAGE_DIR, TEMPLATES_DIR
from tinyml.tools.fs import atomic_file
from tinyml.train.config import KwsTrainConfig, VibrationTrainConfig, load_config, to_toml

STAGES = ("dataset", "train", "firmware", "validate", "report")
QUICK = {  # a reduced pipeline for tests and a first look: minutes, not a quarter hour
    "kws": (KwsTrainConfig(size="small", epochs=16, clips_per_class=200), 100),
    "vibration": (VibrationTrainConfig(epochs=25, normal_windows=1200), 150),
}


@dataclass
class PipelineResult:
    app: str
    board: Board
    run_dir: Path
    report: Path
    stages: dict[str, dict] = field(default_factory=dict)  # name -> {"skipped": bool, "seconds": float}
    seconds: float = 0.0

    def summary(self) -> str:
        """One screen: quality float / int8 / on the device, memory against the board, latency."""
        metrics = json.loads((self.run_dir / "metrics.json").read_text())
        validation = json.loads((self.run_dir / f"validate-{self.board.id}" / "validation.json").read_text())
        budget = json.loads((self.run_dir / f"firmware-{self.board.id}" / "budget.json").read_text())
        flash = sum(r[1] for r in budget["rows"])
        ram = sum(r[2] for r in budget["rows"])
        stages = ", ".join(f"{name} " + ("cached" if s["skipped"] else f"{s['seconds']:.0f} s")
                           for name, s in self.stages.items())
        lines = [f"{self.app} on {self.board.id}: {self.seconds:.0f} s ({stages})"]
        if self.app == "kws":
            lines.append(f"  accuracy   float {metrics['float_acc']:.2%}   int8 TFLM {metrics['int8_tflm_acc']:.2%}"
                         f"   on the device {validation['device_accuracy']:.2%} ({validation['samples']} clips)")
            if "trained_on" in metrics:
                lines.append(f"  data       trained on {metrics['trained_on']}; tested on {metrics['tested_on']}")
            for path in sorted((self.run_dir / "evaluations").glob("*.json")):
                with contextlib.suppress(OSError, ValueError, KeyError):
                    ev = json.loads(path.read_text())
                    lines.append(f"  also on    {ev['dataset']}: {ev['accuracy']:.2%} of {ev['clips']} clips, "
                                 f"false accepts {ev['false_accept_rate']:.2%} (tinyml evaluate)")
        else:
            lines.append(f"  AUC        float {metrics['float_auc']:.4f}   int8 TFLM {metrics['int8_tflm_auc']:.4f}"
                         f"   on the device {validation['device_auc']:.4f} ({validation['samples']} windows)")
            lines.append(f"  threshold  false alarms {validation['false_alarm_rate']:.2%}, detection "
                         f"{validation['detection_rate']:.2%}")
            if validation.get("normalised"):
                lines.append(f"  machines   {validation['normalised']}: on a machine of yours, "
                             "`tinyml calibrate --port URL` first")
            if "fault_type_acc" in metrics.get("classifier", {}):
                lines.append(f"  fault type {metrics['classifier']['fault_type_acc']:.2%} of test alarms named right "
                             "(int8, after 3 anomalous windows)")
        lines.append(f"  agreement  {validation['agreement']:.2%} of outputs identical to TFLM")
        if budget["flash_limit"]:
            lines.append(f"  memory     arena {budget['arena']:,} B (TFLM {metrics['model']['tflm_arena_bytes']:,});"
                         f" flash {flash:,} / {budget['flash_limit']:,} B, RAM {ram:,} / {budget['ram_limit']:,} B")
        model = validation["latency"]["model"]
        lines.append(f"  latency    model {model['median']:,.0f} {validation['latency_unit']} (median)"
                     + (f", front-end {validation['latency']['features']['median']:,.0f}"
                        if "features" in validation["latency"] else ""))
        lines.append(f"  report     {self.report}")
        return "\n".join(lines)


def _hash(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _tree_hash(*folders: Path) -> str:
    """Every file under the folders: the firmware's sources change, the firmware is rebuilt."""
    parts = []
    for folder in folders:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            parts += [path.relative_to(folder).as_posix(), path.read_bytes()]
    return _hash(*parts)


class _State:
    """The stage keys and outputs of the last run, in runs/.pipeline-APP-BOARD.json. A file that
    cannot be read (torn by a crash, edited) only costs a full run, with a warning."""

    def __init__(self, path: Path):
        self.path = path
        self.data = self._read() if path.is_file() else {}

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
            if isinstance(data, dict) and all(isinstance(entry, dict) and all(
                    isinstance(value, str) for value in entry.values()) for entry in data.values()):
                return data
            reason = "not a table of stages"
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            reason = str(exc)
        warn(f"{self.path} is unreadable ({reason}): running every stage again")
        return {}

    def fresh(self, stage: str, key: str, *artifacts: Path) -> bool:
        entry = self.data.get(stage, {})
        return entry.get("key") == key and all(Path(a).exists() for a in artifacts)

    def record(self, stage: str, key: str, **outputs) -> None:
        self.data[stage] = {"key": key, **{k: str(v) for k, v in outputs.items()}}
        with atomic_file(self.path) as tmp:
            tmp.write_text(json.dumps(self.data, indent=2) + "\n")

    def get(self, stage: str, name: str) -> str:
        return self.data[stage][name]


def run_pipeline(app: str, board: str | Board = "emu-cortex-m4", config: Path | None = None,
                 quick: bool = False, limit: int | None = None, runs_root: Path | str = "runs",
                 progress: bool = True, echo: Callable[[str], None] = print,
                 dataset: str | None = None) -> PipelineResult:
    """Every stage for `app` on `board`, skipping what is up to date. `quick` trains small on a
    small set and validates 100-150 samples; `limit` caps the validated samples; `dataset` (a
    dataset folder, or the name of a downloaded one: speech-commands) replaces the config's."""
    if app not in QUICK:
        raise TinymlError(f"unknown app {app!r}: choose kws or vibration")
    cls = KwsTrainConfig if app == "kws" else VibrationTrainConfig
    cfg = QUICK[app][0] if quick and config is None else load_config(cls, config)  # before any work
    if dataset is not None:
        from dataclasses import replace

        from tinyml.datasets.download import dataset_folder

        cfg = replace(cfg, dataset=str(dataset_folder(dataset, app)))
    from tinyml.train import kws, vibration

    board = board if isinstance(board, Board) else load_board(board)
    trainer = kws if app == "kws" else vibration
    limit = limit if limit is not None else (QUICK[app][1] if quick else None)
    runs_root = Path(runs_root)
    state = _State(runs_root / f".pipeline-{app}-{board.id}.json")
    result = PipelineResult(app, board, Path(), Path())
    start = time.monotonic()

    def stage(number: int, name: str, key: str, artifacts: list[Path], work: Callable[[], dict],
              what: str, sound: Callable[[], bool] = lambda: True) -> None:
        echo(f"[{number}/{len(STAGES)}] {name:<9} {what}")
        if state.fresh(name, key, *artifacts) and sound():
            result.stages[name] = {"skipped": True, "seconds": 0.0}
            echo(f"      {name} is up to date: skipped")
            return
        t = time.monotonic()
        outputs = work()
        state.record(name, key, **outputs)
        result.stages[name] = {"skipped": False, "seconds": round(time.monotonic() - t, 1)}
        echo(f"      {name} done in {result.stages[name]['seconds']:.0f} s")

    dataset_dir = trainer.dataset_folder_of(cfg)
    data_key = _hash(dataset_dir.name, __version__)
    stage(1, "dataset", data_key, [dataset_dir / "meta.json"],
          lambda: {"folder": trainer.prepare_dataset(cfg, progress)[1]},
          f"synthetic {app} data, or the imported set ({dataset_dir})",
          sound=lambda: intact(dataset_dir))  # a torn data.npz is made again (or named), not trained on

    train_key = _hash(to_toml(cfg), data_key)
    prior = Path(state.data.get("train", {}).get("run", "no-run-yet"))
    stage(2, "train", train_key, [prior / "metrics.json", prior / "model_int8.tflite"],
          lambda: {"run": trainer.train(cfg, runs_root=runs_root, progress=progress).folder},
          "Keras model -> int8 TFLite, checked in TFLite Micro")
    run_dir = Path(state.get("train", "run"))
    result.run_dir = run_dir

    firmware_dir = run_dir / f"firmware-{board.id}"
    firmware_key = _hash((run_dir / "model_int8.tflite").read_bytes(), board.id,
                         _tree_hash(TEMPLATES_DIR, PACKAGE_DIR / "compile", PACKAGE_DIR / "features",
                                    PACKAGE_DIR / "firmware"), __version__)

    def build() -> dict:
        from tinyml.firmware import build_app

        built = build_app(app, run_dir, board, firmware_dir)
        rows = (built.budget or built.estimate).rows
        (firmware_dir / "budget.json").write_text(json.dumps({
            "rows": rows, "measured": built.budget is not None, "arena": built.firmware.arena_bytes,
            "flash_limit": board.flash_bytes if board.arch != "host" else 0,
            "ram_limit": board.ram_bytes if board.arch != "host" else 0}, indent=2) + "\n")
        (firmware_dir / "layers.json").write_text(json.dumps(
            [l.__dict__ for l in built.firmware.compiled.layers], indent=2, default=list) + "\n")
        echo((built.budget or built.estimate).table())
        return {"firmware": built.built.firmware}

    stage(3, "firmware", firmware_key, [firmware_dir / "budget.json", firmware_dir / "layers.json"],
          build, f"compile the model to C, build for {board.id} with PlatformIO")
    firmware = Path(state.get("firmware", "firmware"))

    validate_dir = run_dir / f"validate-{board.id}"
    validate_key = _hash(firmware_key, limit, _tree_hash(PACKAGE_DIR / "validate", PACKAGE_DIR / "link"))

    def check() -> dict:
        from tinyml.validate import validate

        summary = validate(run_dir, board, limit=limit, out_dir=validate_dir, firmware=firmware,
                           progress=progress).summary
        echo(f"      {summary['samples']} samples, {summary['agreement']:.2%} identical to TFLM, "
             f"{summary['samples_per_s']:.0f} samples/s")
        return {"validation": validate_dir / "validation.json"}

    stage(4, "validate", validate_key, [validate_dir / "validation.json", validate_dir / "device_outputs.npz"],
          check, f"the test split through the board, compared with TFLM")

    def report() -> dict:
        from tinyml.report import build_report

        result.report = build_report(run_dir, board.id)
        return {"report": result.report}

    # The report is rebuilt every time: it is cheap, and it is what the user looks at.
    echo(f"[5/{len(STAGES)}] report    HTML page with plots")
    t = time.monotonic()
    report()
    result.stages["report"] = {"skipped": False, "seconds": round(time.monotonic() - t, 1)}
    result.seconds = time.monotonic() - start
    return result
