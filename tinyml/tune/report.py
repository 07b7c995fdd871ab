"""The study's outcome: every trial as a row, the Pareto front (best score for its latency),
the front measured on the emulator against the estimate, report.json and pareto.png in the
tune folder, the table the command prints, and `--apply`: a candidate as a training config."""

from __future__ import annotations

import hashlib
import json
import statistics
import tomllib
from pathlib import Path

import numpy as np

from tinyml.boards import Board, load_board
from tinyml.errors import TinymlError
from tinyml.tools.fs import atomic_file
from tinyml.tune.space import candidate_config, config_class

EMULATED_TWIN = {"cortex-m4": "emu-cortex-m4", "cortex-m55": "emu-cortex-m55"}
REPORT = "report.json"


def rows(study) -> list[dict]:
    """Every trial that ran or was claimed, oldest first (the model as packed text, "tflite")."""
    out = []
    for t in study.get_trials(deepcopy=False):
        if t.state.name == "WAITING":
            continue
        a = t.user_attrs
        cost = a.get("cost") or a.get("untrained_cost") or {}
        out.append({"number": t.number, "state": t.state.name, "status": a.get("status", t.state.name.lower()),
                    "params": dict(t.params), "val_metric": a.get("val_metric"),
                    "test_metric": a.get("test_metric"), "cost": cost, "epochs": a.get("epochs"),
                    "seconds": a.get("seconds"), "worker": a.get("worker"), "baseline": bool(a.get("baseline")),
                    "same_as": a.get("same_as"), "note": a.get("why") or a.get("error") or a.get("pruned_at"),
                    "retry_of": t.system_attrs.get("failed_trial"), "tflite": a.get("tflite")})
    return out


def pareto_front(all_rows: list[dict]) -> list[dict]:
    """The complete, feasible candidates no other one beats on both score and instructions,
    fastest first (one per distinct candidate)."""
    done = [r for r in all_rows if r["status"] == "complete" and r["same_as"] is None]
    front = []
    for r in done:
        s, i = r["val_metric"], r["cost"]["instructions"]
        if not any((o["val_metric"] >= s and o["cost"]["instructions"] <= i)
                   and (o["val_metric"] > s or o["cost"]["instructions"] < i) for o in done):
            front.append(r)
    return sorted(front, key=lambda r: (r["cost"]["instructions"], -r["val_metric"], r["number"]))


def check_on_emulator(front: list[dict], board: Board, work: Path, folder: Path, progress: bool) -> None:
    """Runs each front candidate on the emulated board with the target's core, and records in
    each row QEMU's instruction count and the estimate's error (kept in qemu.json, so a
    resumed study measures only new candidates)."""
    from tinyml.tune.cost import estimate_instructions, kernel_calls
    from tinyml.tune.study import unpack
    from tinyml.validate.bench import run_on_board

    twin_id = EMULATED_TWIN.get(board.core)
    if twin_id is None:
        return
    twin = load_board(twin_id)
    cache_file = Path(folder) / "qemu.json"
    cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    for r in front:
        if not r.get("tflite"):
            continue
        tflite = unpack(r["tflite"])
        key = f"{r['number']}:{hashlib.sha256(tflite).hexdigest()[:16]}"
        if key not in cache:
            from tinyml.tflite.model import read_tflite

            model = read_tflite(tflite)
            shape = model.tensor(model.inputs[0]).shape
            inputs = np.random.default_rng(r["number"]).integers(-128, 128, size=(3, *shape[1:]), dtype=np.int8)
            if progress:
                print(f"measuring trial {r['number']} on {twin_id} ...", flush=True)
            run = run_on_board(tflite, twin, inputs, work / f"trial-{r['number']}")
            estimate, _ = estimate_instructions(kernel_calls(tflite), twin.core)
            measured = int(statistics.median(run.instructions))
            cache[key] = {"board": twin_id, "instructions": measured, "estimate": estimate,
                          "error": round(estimate / measured - 1, 4)}
            with atomic_file(cache_file) as tmp:
                tmp.write_text(json.dumps(cache, indent=2) + "\n")
        r["qemu"] = cache[key]


def summary(params: dict, app: str) -> str:
    p = params
    if app == "kws":
        return (f"ch {p['channels']} x{p['blocks']} k{p['kernel_frames']}x{p['kernel_coeffs']} "
                f"s{p['stride_frames']}x{p['stride_coeffs']} | mfcc {p['frame_samples']}/{p['hop_samples']} "
                f"{p['mel_bands']} mel {p['mfcc_coefficients']} c"
                + (" cmn" if p.get("normalize", "none") != "none" else ""))
    return f"{p['hidden']}-{p['bottleneck']}-{p['hidden']} | {p['bands']} bands"


def table(front: list[dict], app: str, board: Board) -> list[str]:
    """The Pareto front as the lines the command prints."""
    metric = "acc" if app == "kws" else "AUC"
    lines = [f"  {'#':>4} {metric:>7} {'test':>7} {'latency':>10} {'instructions':>13} {'QEMU err':>9} "
             f"{'RAM':>9} {'flash':>9} {'arena':>7} {'weights':>8}  candidate"]
    for r in front:
        c = r["cost"]
        latency = f"{c['latency_ms']:.2f} ms" if c.get("latency_ms") is not None else "-"
        err = f"{r['qemu']['error']:+.1%}" if "qemu" in r else "-"
        mark = " (default)" if r["baseline"] else ""
        lines.append(f"  {r['number']:>4} {r['val_metric']:>7.4f} {r['test_metric']:>7.4f} {latency:>10} "
                     f"{c['instructions']:>13,} {err:>9} {c['ram_bytes']:>9,} {c['flash_bytes']:>9,} "
                     f"{c['arena_bytes']:>7,} {c['weights_bytes']:>8,}  {summary(r['params'], app)}{mark}")
    return lines


def write(folder: Path, settings, board: Board, all_rows: list[dict], front: list[dict]) -> Path:
    """report.json: the settings, every trial (without its model) and the front."""
    from tinyml.tune.study import _settings_record

    def strip(r: dict) -> dict:
        return {k: v for k, v in r.items() if k != "tflite"}

    states: dict[str, int] = {}
    for r in all_rows:
        states[r["status"]] = states.get(r["status"], 0) + 1
    report = {"settings": _settings_record(settings), "study": settings.study_name(), "board": board.id,
              "clock_hz": board.clock_hz, "metric": "accuracy" if settings.app == "kws" else "auc",
              "statuses": states, "pareto": [r["number"] for r in front],
              "trials": [strip(r) for r in all_rows]}
    path = Path(folder) / REPORT
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2, default=float) + "\n")
    return path


def plot(folder: Path, settings, board: Board, all_rows: list[dict], front: list[dict]) -> Path | None:
    """pareto.png: score against latency (instructions where the core is not calibrated) of every
    feasible candidate, the front joined up, marker area proportional to the firmware's RAM."""
    from tinyml.train.common import pyplot

    done = [r for r in all_rows if r["status"] == "complete" and r["same_as"] is None]
    if not done:
        return None
    timed = all(r["cost"].get("latency_ms") is not None for r in done)

    def x(r):
        return r["cost"]["latency_ms"] if timed else r["cost"]["instructions"]

    def size(r):
        return 20 + 400 * r["cost"]["ram_bytes"] / board.ram_bytes

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter([x(r) for r in done], [r["val_metric"] for r in done], s=[size(r) for r in done],
               color="lightgrey", edgecolor="grey", label="candidates", zorder=2)
    ax.plot([x(r) for r in front], [r["val_metric"] for r in front], "-", color="tab:blue", zorder=3)
    ax.scatter([x(r) for r in front], [r["val_metric"] for r in front], s=[size(r) for r in front],
               color="tab:blue", alpha=0.7, edgecolor="navy", label="Pareto front", zorder=4)
    for r in front:
        ax.annotate(f"#{r['number']}", (x(r), r["val_metric"]), textcoords="offset points", xytext=(5, 5),
                    fontsize=8)
    for r in done:
        if r["baseline"]:
            ax.scatter([x(r)], [r["val_metric"]], marker="x", color="red", s=60, zorder=5, label="default model")
    if settings.max_latency_ms is not None and timed:
        ax.axvline(settings.max_latency_ms, color="red", linestyle=":", label="latency budget")
    ax.set_xlabel(f"latency at {board.clock_hz / 1e6:g} MHz (ms)" if timed else "instructions (Cortex-M4 estimate)")
    ax.set_ylabel("validation accuracy (int8)" if settings.app == "kws" else "validation AUC (int8)")
    ax.set_title(f"tinyml tune {settings.app} on {board.id}: {len(done)} candidates "
                 f"(marker area: RAM of {board.ram_bytes // 1024} KiB)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path = Path(folder) / "pareto.png"
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return path


def read_report(folder: Path) -> dict:
    path = Path(folder) / REPORT
    try:
        return json.loads(path.read_text())
    except OSError:
        raise TinymlError(f"{folder} has no {REPORT}: is it a tune folder (`tinyml tune kws|vibration "
                          "--board B` writes one)?") from None
    except ValueError as exc:
        raise TinymlError(f"{path} is damaged ({exc}): run the tune again to rewrite it") from None


def apply(folder: Path, number: int, out: Path | None = None) -> tuple[Path, object]:
    """Writes candidate `number` of the tune in `folder` as a training config (the study's base
    config with the candidate's values): (its path, the config)."""
    from tinyml.train.config import to_toml

    report = read_report(folder)
    settings = report["settings"]
    row = next((r for r in report["trials"] if r["number"] == number), None)
    front = report["pareto"]
    hint = f"the Pareto front: {', '.join(map(str, front))}" if front else "no trial has completed yet"
    if row is None:
        raise TinymlError(f"{folder} has no trial {number}; {hint}")
    if row["status"] != "complete":
        raise TinymlError(f"trial {number} of {folder} is {row['status']}, not a trained candidate; {hint}")
    base = config_class(settings["app"])(**tomllib.loads(settings["base"]))
    cfg = candidate_config(base, row["params"])
    path = Path(out) if out is not None else Path(folder) / f"candidate-{number}.toml"
    metric = "accuracy" if settings["app"] == "kws" else "AUC"
    c = row["cost"]
    latency = f", {c['latency_ms']:.2f} ms" if c.get("latency_ms") is not None else ""
    header = (f"# tinyml tune candidate {number} of {report['study']} on {report['board']}: validation "
              f"{metric} {row['val_metric']:.4f} after {row['epochs']} epochs, {c['instructions']:,} "
              f"instructions{latency}, RAM {c['ram_bytes']:,} B, flash {c['flash_bytes']:,} B\n"
              f"# train it: tinyml train {settings['app']} --config {path}\n")
    with atomic_file(path) as tmp:
        tmp.write_text(header + to_toml(cfg))
    return path, cfg
