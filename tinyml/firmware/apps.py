"""The kws and vibration firmware apps, made from a training run.

A run folder (tinyml.train) holds the int8 model and the front-end it was trained on. An app
firmware is that model compiled to C (tinyml.compile), the same front-end in C
(tinyml.features), the live-mode settings, and for boards without the sensor a short
recording from the run's test split to replay. `host_outputs` is the host half of the
comparison: the Python front-end and TFLM, which the device must match byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyml.boards import Board
from tinyml.compile import CompileResult, compile_model, compile_models
from tinyml.errors import TinymlError
from tinyml.features.host import write_c_frontend
from tinyml.features.spec import MfccSpec, SpectrumSpec
from tinyml.firmware.render import APP_SENSOR, AppParts

CLASSIFIER_FILE = "classifier_int8.tflite"  # a vibration run's fault classifier
MODEL_FILE = "model_int8.tflite"
IGNORED_KWS_CLASSES = ("_silence_", "_unknown_")
# The output order of the MLPerf Tiny KWS reference model (its training script's word labels).
MLPERF_KWS_CLASSES = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes",
                      "_silence_", "_unknown_"]


@dataclass(frozen=True)
class LiveSettings:
    """How live mode decides. KWS firmware: the detector of tinyml.stream (the model every
    `every` 20 ms hops, the last `average` outputs summed, a keyword reported at a mean
    probability of `threshold` or more, then nothing for suppress_ms). The exported Arduino
    library classifies a 1 s window every hop_ms instead (whole front-end frames of 20 ms).
    Vibration: an alarm after alarm_windows anomalous windows in a row."""
    hop_ms: int = 240
    average: int = 3
    threshold: float = 0.7
    suppress_ms: int = 1000
    alarm_windows: int = 3  # tinyml.train.vibration.ALARM_WINDOWS, which fault_type_acc is measured for
    every: int = 2
    target_fa_per_hour: float | None = None  # kws: per-keyword thresholds for this rate instead

    def detect_config(self):
        from tinyml.stream.detect import DetectConfig

        return DetectConfig(every=self.every, average=self.average, refractory_ms=self.suppress_ms)


def kws_thresholds(source: Path, live: LiveSettings) -> list[int | None]:
    """The detector's per-class score thresholds for the firmware of `source` (a kws run, or a
    bare .tflite; None: never fires): one probability for every keyword, or with
    live.target_fa_per_hour those tinyml.stream picks on the run's validation split for that
    many false accepts an hour."""
    from tinyml.stream.detect import keyword_thresholds
    from tinyml.tflite.model import read_tflite

    if live.target_fa_per_hour is not None:
        from tinyml.stream import StreamModel, choose_thresholds

        return choose_thresholds(StreamModel.load(source), live.detect_config(), live.target_fa_per_hour).thresholds
    metrics, model_file = run_or_model("kws", source)
    model = read_tflite(model_file)
    scale, _ = model.tensor(model.outputs[0]).quant()
    return keyword_thresholds(list(metrics["classes"]), live.threshold, live.average, float(scale))


@dataclass
class AppFirmware:
    """Everything the renderer needs for one app on one board, and what it costs."""
    app: str
    run_dir: Path
    spec: MfccSpec | SpectrumSpec
    compiled: CompileResult
    parts: AppParts
    raw_shape: tuple[int, ...]        # one raw window as the device takes it (int16)
    threshold: float | None = None    # vibration: the anomaly score's alarm threshold
    classes: list[str] = field(default_factory=list)
    buffers: dict[str, int] = field(default_factory=dict)  # RAM the app adds, by part
    replay: np.ndarray | None = None  # the embedded recording, as the sensor delivers it
    classifier: CompileResult | None = None  # vibration: the fault classifier, in the model's arena
    in_arena: dict[str, int] = field(default_factory=dict)  # other work the arena holds between inferences

    @property
    def arena_bytes(self) -> int:
        """The arena the firmware holds: the largest of the model's, the classifier's (which
        shares it) and the work it holds between inferences (kws: the front-end's FFT)."""
        return max(self.compiled.arena_bytes, self.classifier.arena_bytes if self.classifier else 0,
                   *self.in_arena.values())

    @property
    def replay_bytes(self) -> int:
        return 0 if self.replay is None else int(self.replay.size) * 2

    @property
    def raw_bytes(self) -> int:
        return int(np.prod(self.raw_shape)) * 2


def read_run(run_dir: Path, app: str | None = None) -> dict:
    """The run's metrics, checked to be a finished run (of `app`, when given)."""
    run_dir = Path(run_dir)
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.is_file() or not (run_dir / MODEL_FILE).is_file():
        raise TinymlError(f"{run_dir} is not a training run folder (it needs metrics.json and "
                          f"{MODEL_FILE}): train one with `tinyml train {app or 'kws|vibration'}`.")
    metrics = json.loads(metrics_file.read_text())
    if app is not None and metrics.get("app") != app:
        raise TinymlError(f"{run_dir} is a {metrics.get('app')} run; build it with "
                          f"--app {metrics.get('app')}, or pass a {app} run.")
    return metrics


def run_or_model(app: str, source: Path) -> tuple[dict, Path]:
    """(metrics, model file) of a run folder, or of a bare int8 .tflite for kws (such as the
    MLPerf Tiny reference model: MLPerf's class order, the default front-end, no recording)."""
    source = Path(source)
    if source.is_file() and source.suffix == ".tflite":
        if app != "kws":
            raise TinymlError(f"the {app} app needs a training run (its threshold and front-end), "
                              f"not a bare model: pass --run runs/{app}-...")
        return {"app": "kws", "classes": MLPERF_KWS_CLASSES, "frontend": MfccSpec().as_dict()}, source
    return read_run(source, app), source / MODEL_FILE


def frontend_spec(app: str, metrics: dict) -> MfccSpec | SpectrumSpec:
    """The front-end a run trained on, from its metrics.json."""
    cls = MfccSpec if app == "kws" else SpectrumSpec
    try:
        return cls(**metrics["frontend"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TinymlError(f"the run's metrics.json has no front-end this tinyml knows ({exc}): "
                          "train the run again") from None


def raw_windows(app: str, dataset_x: np.ndarray, spec) -> np.ndarray:
    """Dataset examples as the device's raw input: int16 audio [N, samples], or int16
    accelerometer counts [N, axes, samples]."""
    if app == "kws":
        return np.asarray(dataset_x, dtype=np.int16)
    from tinyml.features.reference import to_counts

    return to_counts(dataset_x, spec)


def normal_levels(metrics: dict) -> np.ndarray | None:
    """A vibration run's built-in normal levels (tinyml.features.normalize); None for kws and for
    runs trained before normalisation (their model takes the front-end's features as they are)."""
    levels = metrics.get("normal_level")
    return None if levels is None else np.asarray(levels, dtype=np.int16)


def host_features(app: str, raw: np.ndarray, spec, levels: np.ndarray | None = None) -> np.ndarray:
    """The Python front-end on raw device windows (minus the normal levels, when given): what
    training saw."""
    from tinyml.features import reference
    from tinyml.features.normalize import normalize

    if app == "kws":
        from tinyml.features import kws_features

        return kws_features(raw, spec)
    q = reference.quantize(reference.spectrum(raw, spec), spec.scale, spec.zero_point)
    return q if levels is None else normalize(q, levels).reshape(q.shape)


def host_outputs(run_dir: Path, app: str, raw: np.ndarray) -> np.ndarray:
    """int8 outputs of the host pipeline (Python front-end, TFLM) for raw device windows."""
    from tinyml.convert.tflm import TflmModel

    metrics = read_run(run_dir, app)
    features = host_features(app, raw, frontend_spec(app, metrics), normal_levels(metrics))
    return TflmModel(Path(run_dir) / MODEL_FILE).run(features)


def anomaly_score(features: np.ndarray, outputs: np.ndarray, in_q: tuple, out_q: tuple) -> float:
    """The device's anomaly score, in float32 and in its order of operations (app_vibration.c)."""
    f32 = np.float32
    total = f32(0.0)
    for x, y in zip(np.ravel(features).astype(np.int32), np.ravel(outputs).astype(np.int32)):
        error = f32(f32(out_q[0]) * f32(y - out_q[1])) - f32(f32(in_q[0]) * f32(x - in_q[1]))
        total = f32(total + f32(error * error))
    return float(f32(total / f32(np.size(outputs))))


def _c_int16_array(name: str, values: np.ndarray, per_line: int = 16) -> str:
    flat = [str(int(v)) for v in np.ravel(values)]
    rows = [", ".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line)]
    return (f"static const int16_t {name}[{len(flat)}] REPLAY_FLASH = {{\n    "
            + ",\n    ".join(rows) + "\n};\n")


def replay_header(frames: np.ndarray, channels: int, what: str) -> str:
    """replay_data.h: the recording sensors/replay plays back, frames of `channels` int16."""
    return (
        f"/* Generated by `tinyml build`: {what}. Do not edit. */\n"
        "#ifndef REPLAY_DATA_H\n#define REPLAY_DATA_H\n\n#include <stdint.h>\n\n"
        "#if defined(__AVR__)\n#include <avr/pgmspace.h>\n#define REPLAY_FLASH PROGMEM\n"
        "#define REPLAY_READ(p) ((int16_t)pgm_read_word(p))\n#else\n#define REPLAY_FLASH\n"
        "#define REPLAY_READ(p) (*(p))\n#endif\n\n"
        f"#define REPLAY_CHANNELS {channels}u\n#define REPLAY_FRAMES {len(frames) // channels}u\n\n"
        + _c_int16_array("replay_data", frames) + "\n#endif\n")


def _pick_examples(run_dir: Path, app: str, metrics: dict, spec) -> tuple[np.ndarray, str]:
    """A short recording from the run's test split that shows live mode at work: two keywords
    the model gets right (kws), or normal windows then a severe fault (vibration)."""
    from tinyml.datasets.store import load

    try:
        if not metrics.get("dataset"):
            raise FileNotFoundError("no dataset")
        full = load(Path(metrics["dataset"]))
    except (OSError, ValueError, KeyError, TinymlError):
        silence = np.zeros(16 if app == "kws" else 48, dtype=np.int16)
        return silence, "no recording (no dataset): a moment of silence"
    data = full.subset("test")
    raw = raw_windows(app, data.x, spec)
    if app == "kws":
        keywords = [i for i, c in enumerate(data.classes) if c not in IGNORED_KWS_CLASSES]
        picked = []
        for label in keywords[:2]:
            rows = np.flatnonzero(data.labels == label)[:8]
            outputs = host_outputs(run_dir, app, raw[rows]) if len(rows) else np.zeros((0, 1))
            right = [r for r, o in zip(rows, outputs) if int(np.argmax(o)) == label]
            if right or len(rows):
                picked.append(right[0] if right else rows[0])
        words = " then ".join(data.classes[data.labels[i]] for i in picked)
        # Half a second of background after the last word, so the sliding window (and the
        # averaging over it) sees that word for as many hops as the first.
        quiet = np.flatnonzero(data.labels == data.classes.index("_silence_"))[:1] \
            if "_silence_" in data.classes else []
        tail = raw[quiet[0]][: len(raw[0]) // 2] if len(quiet) else np.zeros(len(raw[0]) // 2, np.int16)
        return np.concatenate([raw[i] for i in picked] + [tail]), f"test clips: {words}, background"
    windows, _ = _replayed_machine(data, full, raw)
    return np.transpose(windows, (0, 2, 1)).reshape(-1), "test windows of one machine: 4 normal, then 4 faulty"


def _replayed_machine(data, full, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(4 normal and 4 severely faulty raw windows of one test machine, that machine's other
    normal windows): the vibration replay, and what calibrates to its machine."""
    from tinyml.train.vibration import machines_of

    normal_class = data.classes.index("normal")
    machines = machines_of(full)[full.split == 2]
    severity = np.asarray(full.meta.get("severity", np.zeros(len(full.x))))[full.split == 2]
    severe = (data.labels != normal_class) & (severity == severity.max())
    # the machine with the most normal windows that has severe faults too
    candidates = [m for m in np.unique(machines) if np.any(severe & (machines == m))] or list(np.unique(machines))
    machine = max(candidates, key=lambda m: int(np.sum((data.labels == normal_class) & (machines == m))))
    normal = np.flatnonzero((data.labels == normal_class) & (machines == machine))
    faults = np.flatnonzero(severe & (machines == machine))[:4]
    return np.concatenate([raw[normal[:4]], raw[faults]]), raw[normal[4:]]


def replay_calibration(firmware: "AppFirmware") -> "Calibration | None":
    """The replayed machine's calibration, fitted on its other normal test windows as `tinyml
    calibrate` would (exported examples calibrate with it); None without enough of them."""
    from tinyml.calibrate import MIN_WINDOWS, calibrate_on_host
    from tinyml.datasets.store import load

    metrics = read_run(firmware.run_dir, "vibration")
    if "normal_level" not in metrics or not metrics.get("dataset"):
        return None
    try:
        full = load(Path(metrics["dataset"]))
    except (OSError, ValueError, KeyError, TinymlError):
        return None
    data = full.subset("test")
    _, others = _replayed_machine(data, full, raw_windows("vibration", data.x, firmware.spec))
    if len(others) < MIN_WINDOWS:
        return None
    return calibrate_on_host(firmware.run_dir, others, 0.01, f"{len(others)} other normal test windows of "
                                                             "the replayed machine")


def prepare_app(app: str, run_dir: Path, board: Board, work_dir: Path,
                live: LiveSettings = LiveSettings(), replay: bool | None = None,
                capture: bool = False) -> AppFirmware:
    """Compiles the run's model and front-end for `app` and collects the firmware's settings.
    run_dir may also be a bare int8 .tflite for kws (see run_or_model).

    replay: embed a recording for live mode; default: when the board has no sensor for it.
    capture: kws: keep a one-clip buffer for `tinyml capture` (its clips are whole only if the
    board holds one: the link is slower than the microphone). Without it the kws firmware keeps
    no audio beyond its streaming front-end's 30 ms, and test-mode clips stream through it.
    """
    if app not in APP_SENSOR:
        raise TinymlError(f"unknown app {app!r}: choose kws or vibration")
    run_dir, work_dir = Path(run_dir), Path(work_dir)
    metrics, model_file = run_or_model(app, run_dir)
    spec = frontend_spec(app, metrics)
    classifier_file = Path(run_dir) / CLASSIFIER_FILE
    classifier = None
    in_arena = {}
    if app == "vibration" and classifier_file.is_file():  # after an alarm, in the same arena
        compiled, classifier = compile_models({"model": model_file, "classifier": classifier_file},
                                              work_dir / "model")
    elif app == "kws":  # the front-end's FFT runs between inferences, in the model's arena
        in_arena = {"front-end work": 4 * spec.work_floats}
        (compiled,) = compile_models({"model": model_file}, work_dir / "model", share_with=in_arena)
    else:
        compiled = compile_model(model_file, work_dir / "model", name="model")
    frontend = write_c_frontend(work_dir / "frontend", spec if app == "kws" else None,
                                spec if app == "vibration" else None)
    files: dict[str, str | Path] = {p.name: p for p in compiled.files + (classifier.files if classifier else [])
                                    + frontend}
    info = {"model": compiled.model_hash[:16],
            "weights": str(compiled.weights_bytes)}
    if app == "kws":
        classes = list(metrics["classes"])
        hop_frames = max(1, round(live.hop_ms * spec.sample_rate / 1000 / spec.stride))
        ignore = sum(1 << i for i, c in enumerate(classes) if c in IGNORED_KWS_CLASSES)
        defines = {
            "KWS_CLIP_SAMPLES": f"{spec.clip_samples}u", "KWS_SAMPLE_RATE": f"{spec.sample_rate}u",
            "KWS_WORK_FLOATS": f"{spec.work_floats}u", "KWS_HOP_FRAMES": f"{hop_frames}u",
            "TINYML_APP_LOADS": "1",  # app_load(): a raw clip streams through the front-end
            "KWS_AVERAGE": f"{live.average}u",
            "KWS_IGNORE_MASK": f"{ignore}uL",
            "KWS_CLASS_NAMES": ", ".join(json.dumps(c) for c in classes),
            "KWS_EVERY": f"{live.every}u",
            "KWS_REFRACTORY_HOPS": f"{live.detect_config().refractory_hops(spec)}u",
            "KWS_THRESHOLDS": ", ".join("TM_DETECT_NEVER" if t is None else str(t)
                                        for t in kws_thresholds(run_dir, live)),
            "SENSOR_RATE_HZ": f"{spec.sample_rate}u", "SENSOR_CHANNELS": "1u",
            "EEMBC_MODEL": '"kws01"',
        }
        raw_shape = (spec.clip_samples,)
        buffers = {"features": compiled.input_bytes,
                   "stream": 2 * spec.window + spec.frames * spec.coefficients,
                   "detector": (2 * live.average + 4) * len(classes)}
        if capture:
            defines["KWS_CAPTURE"] = "1"
            buffers["capture clip"] = 2 * spec.clip_samples
        info["capture_frames"] = str(spec.clip_samples if capture else 0)
        threshold, channels = None, 1
    else:
        classes = []
        threshold = float(metrics["threshold"])
        levels = normal_levels(metrics)
        if levels is None:  # trained before normalisation: the features as they are
            levels = np.zeros(compiled.input_bytes, dtype=np.int16)
        defines = {
            "VIB_LEVELS": ", ".join(str(int(v)) for v in levels),
            "TINYML_APP_REQUESTS": "1",  # app_request(): calibration, the fault classifier
            "TINYML_APP_STORES": "1",  # its calibration, in the board's store (TINYML_STORE)
            "VIB_AXES": f"{spec.axes}u", "VIB_WINDOW": f"{spec.window}u",
            "VIB_WORK_FLOATS": f"{2 * spec.fft}u", "VIB_THRESHOLD": f"{threshold!r}f",
            "VIB_ALARM_WINDOWS": f"{live.alarm_windows}u",
            "SENSOR_RATE_HZ": f"{spec.sample_rate}u", "SENSOR_G_PER_COUNT": f"{spec.g_per_count!r}f",
            "SENSOR_CHANNELS": "3u",  # an accelerometer's x, y, z; the model takes the first `axes`
            "EEMBC_MODEL": '"ad01"', "EEMBC_RESULT_IS_SCORE": "1",
        }
        raw_shape = (spec.axes, spec.window)
        work = 4 * 2 * spec.fft
        buffers = {"sensor window": 2 * spec.axes * spec.window, "front-end work": work,
                   "features": compiled.input_bytes, "calibration": 2 * compiled.input_bytes + 5}
        if classifier is not None:
            from tinyml.datasets.vibration_synth import CLASSES

            fault_classes = list(metrics.get("classes") or CLASSES)
            defines.update({"VIB_HAS_CLASSIFIER": "1", "VIB_NORMAL_CLASS": f"{fault_classes.index('normal')}u",
                            "VIB_CLASS_NAMES": ", ".join(json.dumps(c) for c in fault_classes)})
            info["classifier"] = classifier.model_hash[:16]
        info["threshold"] = f"{threshold:.6g}"
        info["axes"], info["window"] = str(spec.axes), str(spec.window)
        info["calibration"] = (board.store if board is not None else None) or "ram"
        channels = spec.axes  # of a replayed recording
    info["raw_bytes"] = str(int(np.prod(raw_shape)) * 2)
    info["input_bytes"] = str(compiled.input_bytes)
    defines["TINYML_HAS_MODEL"] = "1"
    parts = AppParts(files=files, defines=defines, info=info, live_at_boot=True)
    firmware = AppFirmware(app=app, run_dir=run_dir, spec=spec, compiled=compiled, parts=parts,
                           raw_shape=raw_shape, threshold=threshold, classes=classes, buffers=buffers,
                           classifier=classifier, in_arena=in_arena)
    info["arena"] = str(firmware.arena_bytes)
    if replay is None:
        replay = board.sensor_port(APP_SENSOR[app]) == "replay"
    if replay:
        frames, what = _pick_examples(run_dir, app, metrics, spec)
        files["replay_data.h"] = replay_header(frames, channels, what)
        defines["SENSOR_WAITS"] = "1"  # a recording waits for its reader: a capture never overruns
        defines["SENSOR_CHANNELS"] = f"{channels}u"
        firmware.replay = frames
    return firmware
