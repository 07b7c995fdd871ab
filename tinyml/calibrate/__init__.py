"""Stage 9: calibration. Fits a vibration model to the machine a board is bolted to, without
retraining: N seconds of that machine running normally, through the board's front-end, give
each feature's normal level (tinyml.features.normalize) and the alarm threshold at a chosen
false-alarm rate. The model stays the one trained on simulation.

    from tinyml.calibrate import calibrate_on_host, windows_of
    cal = calibrate_on_host(run_dir, windows_of(frames, spec), false_alarm_rate=0.01)
    cal.save(run_dir / "calibration.json")

`calibrate_on_device` does the same through a board (its front-end, its model, its scores)
and stores the result there (tinyml.link: MSG_CALIBRATE).
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinyml.errors import DeviceError, DeviceRefused, TinymlError
from tinyml.features.normalize import ZERO_POINT, normal_level, normalize
from tinyml.link import frame as fr
from tinyml.tools.fs import atomic_file

__all__ = ["Calibration", "DeviceCalibration", "calibrate_on_device", "calibrate_on_host", "device_state",
           "fit", "host_scores", "windows_of"]

MIN_WINDOWS = 20  # fewer normal windows than this say little about a machine's normal


@dataclass
class Calibration:
    """What calibration fits: a level per feature and the alarm threshold."""
    levels: list[int]
    threshold: float
    windows: int
    false_alarm_rate: float
    source: str = ""

    def save(self, path: Path) -> Path:
        try:
            with atomic_file(Path(path)) as tmp:
                tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        except OSError as exc:
            raise TinymlError(f"cannot write the calibration to {path}: {exc.strerror or exc}") from None
        return Path(path)

    @classmethod
    def read(cls, path: Path) -> "Calibration":
        try:
            values = json.loads(Path(path).read_text())
            cal = cls(levels=[int(v) for v in values["levels"]], threshold=float(values["threshold"]),
                      windows=int(values["windows"]), false_alarm_rate=float(values["false_alarm_rate"]),
                      source=str(values.get("source", "")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TinymlError(f"{path}: not a tinyml calibration ({exc}); calibrate again with "
                              "`tinyml calibrate`") from None
        return cal


def windows_of(frames: np.ndarray, axes: int, window: int) -> np.ndarray:
    """Consecutive, non-overlapping raw windows [N, axes, window] of int16 sensor frames
    [frames, channels] (the model's axes are the first of each frame)."""
    frames = np.asarray(frames, dtype=np.int16)
    if frames.ndim != 2 or frames.shape[1] < axes:
        raise TinymlError(f"the recording has {frames.shape[1] if frames.ndim == 2 else 0} channel(s); "
                          f"the model needs {axes}")
    n = len(frames) // window
    return np.ascontiguousarray(frames[:n * window, :axes].reshape(n, window, axes).transpose(0, 2, 1))


def fit(features_q: np.ndarray, scores_of, false_alarm_rate: float, source: str = "") -> Calibration:
    """Levels from int8 front-end features [windows, n] of normal running (all of them); the
    threshold is the score that (1 - false_alarm_rate) of those windows stay at or below, each
    half of the recording normalised by the other half's levels: scored on windows its levels
    were not fitted on, as every later window will be (on the same windows the threshold comes
    out low, and the false alarms high). scores_of(normalised int8 features) -> scores."""
    if not 0.0 < false_alarm_rate < 1.0:
        raise TinymlError(f"false-alarm rate {false_alarm_rate} is not in (0, 1): give e.g. 0.01")
    if len(features_q) < MIN_WINDOWS:
        raise TinymlError(f"{len(features_q)} window(s) of normal running are too few to calibrate on: "
                          f"give at least {MIN_WINDOWS} (more seconds)")
    half = len(features_q) // 2
    first, second = features_q[:half], features_q[half:]
    crossed = np.concatenate([normalize(first, normal_level(second)), normalize(second, normal_level(first))])
    scores = np.asarray(scores_of(crossed), dtype=np.float64)
    threshold = float(np.quantile(scores, 1.0 - false_alarm_rate, method="higher"))
    levels = normal_level(features_q)
    return Calibration([int(v) for v in levels], threshold, len(features_q), false_alarm_rate, source)


def _run_model(run_dir: Path):
    from tinyml.convert.tflm import TflmModel
    from tinyml.firmware.apps import MODEL_FILE, read_run

    metrics = read_run(run_dir, "vibration")
    if "normal_level" not in metrics:
        raise TinymlError(f"{run_dir} was trained before calibration existed (no normal_level in its "
                          "metrics.json): train it again with `tinyml train vibration`")
    return metrics, TflmModel(Path(run_dir) / MODEL_FILE)


def host_scores(run_dir: Path, features_q: np.ndarray) -> np.ndarray:
    """The device's anomaly scores (float32, its order of operations) of normalised int8
    features, from the run's int8 model in TFLM."""
    from tinyml.firmware.apps import anomaly_score

    metrics, model = _run_model(run_dir)
    out_q = model.output["quantization_parameters"]
    out = (float(out_q["scales"][0]), int(out_q["zero_points"][0]))
    in_q = (float(metrics["frontend"]["scale"]), ZERO_POINT)
    outputs = model.run(features_q)
    return np.array([anomaly_score(f, o, in_q, out) for f, o in zip(features_q, outputs)])


def calibrate_on_host(run_dir: Path, raw: np.ndarray, false_alarm_rate: float, source: str = "") -> Calibration:
    """Calibration from raw int16 windows [N, axes, window] with the Python front-end (bit-identical
    to the device's) and the run's model in TFLM."""
    from tinyml.firmware.apps import frontend_spec, host_features

    metrics, _ = _run_model(run_dir)
    features = host_features("vibration", raw, frontend_spec("vibration", metrics)).reshape(len(raw), -1)
    return fit(features, lambda q: host_scores(run_dir, q), false_alarm_rate, source)


# ---------------------------------------------------------------- on the device (MSG_CALIBRATE)


@dataclass
class DeviceCalibration:
    """What a device holds: its levels and threshold, calibrated (1), on trial (2) or built in (0)."""
    state: int
    threshold: float
    levels: list[int]

    @property
    def calibrated(self) -> bool:
        return self.state == 1


def _parse_state(device, payload: bytes) -> DeviceCalibration:
    if len(payload) < 6 or len(payload) != 6 + 2 * payload[1]:
        raise DeviceError(f"a calibration reply of {len(payload)} bytes from {device.url} is malformed: "
                          "rebuild and flash the firmware")
    state, n, threshold = struct.unpack_from("<BBf", payload)
    levels = list(struct.unpack_from(f"<{n}h", payload, 6))
    return DeviceCalibration(state, threshold, levels)


def _request(device, payload: bytes) -> bytes:
    try:
        return device.request(fr.MSG_CALIBRATE, payload).payload
    except DeviceRefused as exc:
        if exc.code == fr.ERR_UNKNOWN_TYPE:
            raise TinymlError(f"the firmware at {device.url} cannot be calibrated (only the vibration app "
                              "of this tinyml can): build and flash it with `tinyml flash --app vibration`") from None
        raise


def device_state(device) -> DeviceCalibration:
    """The device's current levels and threshold (`tinyml info` shows them)."""
    return _parse_state(device, _request(device, bytes([fr.CALIBRATE_GET])))


def _set(device, levels, threshold: float, op: int = fr.CALIBRATE_SET) -> DeviceCalibration:
    levels = np.asarray(levels, dtype=np.int16)
    return _parse_state(device, _request(device, struct.pack("<Bf", op, threshold) + levels.astype("<i2").tobytes()))


def device_default(device) -> DeviceCalibration:
    """Back to the firmware's built-in levels and threshold (the training machines' average)."""
    return _parse_state(device, _request(device, bytes([fr.CALIBRATE_DEFAULT])))


def calibrate_on_device(device, raw: np.ndarray, false_alarm_rate: float, source: str = "",
                        progress: bool = True) -> Calibration:
    """Calibrates the device on raw int16 windows [N, axes, window] of normal running, with its own
    front-end, model and scores, and stores the result there (in its store where it has one,
    `info()["calibration"]`, else in RAM until reset or power-off). Whatever goes wrong on the
    way, the device is left with the calibration it had."""
    before = device_state(device)
    try:
        return _calibrate_on_device(device, raw, false_alarm_rate, source, progress, len(before.levels))
    except BaseException:
        try:
            if before.calibrated:
                _set(device, before.levels, before.threshold)
            else:
                device_default(device)
        except (TinymlError, OSError):
            pass  # the link is gone: the device still holds its stored calibration after a reset
        raise


def _calibrate_on_device(device, raw, false_alarm_rate, source, progress, n) -> Calibration:
    rx = int(device.info()["rx_buffer"])
    _set(device, np.zeros(n), 0.0, fr.CALIBRATE_TRY)  # level 0, never stored: its raw features
    features = np.zeros((len(raw), n), dtype=np.int8)
    for i in tqdm(range(len(raw)), desc="front-end on the device", unit="win", disable=not progress):
        device.load(fr.INPUT_RAW, np.ascontiguousarray(raw[i], dtype="<i2").tobytes(), rx)
        device.infer(fr.INPUT_RAW)
        reply = _request(device, bytes([fr.CALIBRATE_FEATURES]))
        if len(reply) != n:
            raise DeviceError(f"the device at {device.url} sent {len(reply)} features, not {n}")
        features[i] = np.frombuffer(reply, dtype=np.int8)

    def device_scores(q: np.ndarray) -> np.ndarray:
        scores = np.zeros(len(q))
        for i in tqdm(range(len(q)), desc="scores on the device", unit="win", disable=not progress):
            device.load(fr.INPUT_FEATURES, q[i].tobytes(), rx)
            scores[i] = device.infer(fr.INPUT_FEATURES).score
        return scores

    cal = fit(features, device_scores, false_alarm_rate, source)
    held = _set(device, cal.levels, cal.threshold)
    if held.levels != cal.levels or np.float32(held.threshold) != np.float32(cal.threshold):
        raise DeviceError(f"the device at {device.url} holds another calibration than the one sent")
    return cal
