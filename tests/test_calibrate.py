"""Calibration to a machine (tinyml.calibrate, `tinyml calibrate`, MSG_CALIBRATE): the board's
own front-end and model fit the same levels and threshold as the host, store them, and score
with them; bad input is refused in one line."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import numpy as np
import pytest

from tinyml.boards import load_board
from tinyml.calibrate import (Calibration, calibrate_on_host, device_default, device_state, fit, host_scores,
                              windows_of)
from tinyml.datasets.capture import _Source, _write_csv
from tinyml.datasets.vibration_synth import UNSEEN_BEARINGS, machine, window
from tinyml.errors import TinymlError
from tinyml.features.normalize import normal_level, normalize
from tinyml.firmware.apps import frontend_spec, host_features, normal_levels, raw_windows, read_run
from tinyml.flash import start_board
from tinyml.link import frame as fr
from tinyml.link import open_device

from conftest import one_line_error

TINYML = [sys.executable, "-m", "tinyml"]


def test_normalize_saturates_and_levels_round():
    q = np.array([[-128, 0, 127], [-126, 1, 127]], dtype=np.int8)
    assert normal_level(q).tolist() == [-127, 0, 127]  # -127, 0.5 -> 0 (half to even), 127
    assert normalize(q, np.array([5, -200, -1])).tolist() == [[-128, 127, 127], [-128, 127, 127]]
    assert normalize(q, np.array([-128, 0, 127])).tolist() == [[0, 0, 0], [2, 1, 0]]


def test_fit_sets_the_threshold_at_the_false_alarm_rate(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.integers(-5, 5, size=(200, 4)).astype(np.int8) + np.array([10, 20, 30, 40], dtype=np.int8)
    cal = fit(features, lambda q: np.arange(len(q), dtype=float), 0.05)
    assert cal.levels == normal_level(features).tolist() and cal.windows == 200
    assert cal.threshold == 190.0  # 190 of 200 scores (0..199) at or below it: 5 % above
    path = cal.save(tmp_path / "cal.json")
    assert Calibration.read(path) == cal
    path.write_text("{not json")
    with pytest.raises(TinymlError, match=r"cal.json: not a tinyml calibration .*calibrate again"):
        Calibration.read(path)
    with pytest.raises(TinymlError, match="5 window\\(s\\) of normal running are too few"):
        fit(features[:5], len, 0.05)
    with pytest.raises(TinymlError, match="false-alarm rate 1.5 is not in \\(0, 1\\)"):
        fit(features, len, 1.5)


def machine_recording(spec, seconds: float, label: str = "normal", seed: int = 7) -> np.ndarray:
    """int16 sensor frames [frames, 3] of a machine no training machine resembles."""
    rng = np.random.default_rng(seed)
    m = machine(rng, UNSEEN_BEARINGS)
    windows = np.stack([window(rng, m, label, 3) for _ in range(int(seconds * spec.sample_rate / spec.window))])
    return raw_windows("vibration", windows, spec).transpose(0, 2, 1).reshape(-1, 3)


def write_recording(path, frames, spec):
    _write_csv(path, frames, _Source("vibration", spec.sample_rate, 3, spec.g_per_count, spec.window, "test", "t"),
               [len(frames)])
    return path


@pytest.fixture(scope="module")
def vibration_board(app_builds):
    built = app_builds("vibration", "emu-cortex-m4")
    with start_board(load_board("emu-cortex-m4"), built.built.firmware) as running:
        yield running.url, built


def test_the_board_calibrates_as_the_host_does_and_scores_with_it(vibration_board, runs, tmp_path, no_orphans):
    url, built = vibration_board
    run = runs["vibration"]
    metrics = read_run(run, "vibration")
    spec = frontend_spec("vibration", metrics)
    frames = machine_recording(spec, 4.0)
    recording = write_recording(tmp_path / "normal.csv", frames, spec)
    host = calibrate_on_host(run, windows_of(frames, spec.axes, spec.window), 0.05)
    assert host.levels != metrics["normal_level"]  # another machine, another normal

    done = subprocess.run([*TINYML, "calibrate", "--port", url, "--recording", str(recording), "--run", str(run),
                           "--false-alarm-rate", "0.05", "--no-progress", "-o", str(tmp_path / "board.json")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"calibrated on the board at {url}" in done.stdout and f"{host.windows} windows" in done.stdout
    board = Calibration.read(tmp_path / "board.json")
    assert board.levels == host.levels  # the board's front-end: bit-identical features
    assert np.float32(board.threshold) == np.float32(host.threshold)  # its model and score: the same
    info = subprocess.run([*TINYML, "info", "--port", url], capture_output=True, text=True, timeout=60)
    assert f"calibrated yes, threshold {board.threshold:.6g}" in info.stdout, info.stdout

    faults = machine_recording(spec, 1.0, "outer_race")
    raw = windows_of(faults, spec.axes, spec.window)
    with open_device(url) as device:
        state = device_state(device)
        assert state.calibrated and state.levels == host.levels
        rx = int(device.info()["rx_buffer"])
        for w in raw[:3]:  # scored with the machine's levels: as the host, with them
            device.load(fr.INPUT_RAW, w.astype("<i2").tobytes(), rx)
            got = device.infer(fr.INPUT_RAW)
            q = normalize(host_features("vibration", w[None], spec).reshape(1, -1), host.levels)
            assert got.score == pytest.approx(host_scores(run, q)[0], rel=1e-6)
            assert got.score > board.threshold  # a severe outer-race fault on this machine
            reply = device.request(fr.MSG_CALIBRATE, bytes([fr.CALIBRATE_FEATURES])).payload
            assert np.frombuffer(reply, np.int8).tolist() == q[0].tolist()  # the model's input
        built_in = device_default(device)
        assert not built_in.calibrated and built_in.levels == normal_levels(metrics).tolist()
        assert np.float32(built_in.threshold) == np.float32(metrics["threshold"])
        # Levels that push every feature off the scale: saturated, as normalize() does.
        device.request(fr.MSG_CALIBRATE, struct.pack("<Bf", fr.CALIBRATE_SET, 1.0) + np.full(48, 300, "<i2").tobytes())
        device.load(fr.INPUT_RAW, raw[0].astype("<i2").tobytes(), rx)
        device.infer(fr.INPUT_RAW)
        reply = device.request(fr.MSG_CALIBRATE, bytes([fr.CALIBRATE_FEATURES])).payload
        assert set(np.frombuffer(reply, np.int8).tolist()) == {-128}
        for bad in (bytes([fr.CALIBRATE_SET]) + b"\0" * 10,                       # too short
                    struct.pack("<Bf", fr.CALIBRATE_SET, float("nan")) + b"\0" * 96,  # NaN threshold
                    struct.pack("<Bf", fr.CALIBRATE_SET, -1.0) + b"\0" * 96,          # negative
                    bytes([9])):                                                  # unknown op
            with pytest.raises(TinymlError, match="bad argument"):
                device.request(fr.MSG_CALIBRATE, bad)
        device.reset()  # RAM only: power-up state is the built-in calibration
        assert device_state(device) == built_in


def test_calibrate_refuses_bad_input_in_one_line(vibration_board, runs, app_builds, tmp_path, no_orphans):
    url, _ = vibration_board
    run = runs["vibration"]
    spec = frontend_spec("vibration", read_run(run, "vibration"))
    good = write_recording(tmp_path / "good.csv", machine_recording(spec, 2.0), spec)
    slow = tmp_path / "slow.csv"
    slow.write_text(good.read_text().replace("rate_hz=3200", "rate_hz=1600"))
    short = write_recording(tmp_path / "short.csv", machine_recording(spec, 0.5), spec)
    cases = [
        (["--recording", str(good)], "without --port, calibration runs on the host: give --run RUN and --recording"),
        (["--run", str(run), "--recording", str(slow)],
         "slow.csv was recorded at 1600 Hz, 0.0039 g per count; the model takes 3200 Hz"),
        (["--run", str(run), "--recording", str(short)], "6 window(s) of normal running are too few to calibrate"),
        (["--run", str(run), "--recording", str(good), "--false-alarm-rate", "0"], "--false-alarm-rate 0 is not in"),
        (["--run", str(run), "--recording", str(tmp_path / "none.csv")], "none.csv: not a tinyml capture recording"),
        (["--run", str(runs["kws"]), "--recording", str(good)], "is a kws run; build it with --app kws"),
        (["--port", url, "--run", str(runs["kws"]), "--recording", str(good)], "is a kws run"),
    ]
    for args, message in cases:
        result = subprocess.run([*TINYML, "calibrate", *args], capture_output=True, text=True, timeout=120)
        assert message in one_line_error(result), (args, result.stderr)

    host = subprocess.run([*TINYML, "calibrate", "--run", str(run), "--recording", str(good)],
                          capture_output=True, text=True, timeout=120)
    assert host.returncode == 0, host.stderr
    saved = json.loads((run / "calibration.json").read_text())
    assert f"static const int16_t levels[48] = {{{', '.join(map(str, saved['levels']))}}};" in host.stdout
    assert "detector.calibrate(levels, " in host.stdout

    kws = app_builds("kws", "emu-cortex-m4")
    with start_board(load_board("emu-cortex-m4"), kws.built.firmware) as running:
        result = subprocess.run([*TINYML, "calibrate", "--port", running.url, "--recording", str(good)],
                                capture_output=True, text=True, timeout=120)
        assert "is the kws app: calibration is for vibration firmware" in one_line_error(result)
        with open_device(running.url) as device, pytest.raises(TinymlError, match="cannot be calibrated"):
            device_state(device)


def test_the_fault_classifier_on_the_board_is_the_host_int8_pipeline(vibration_board, runs, no_orphans):
    from tinyml.convert.tflm import TflmModel
    from tinyml.datasets.store import load
    from tinyml.features import dataset_features
    from tinyml.train.vibration import most_likely_fault

    url, built = vibration_board
    run = runs["vibration"]
    metrics = read_run(run, "vibration")
    assert built.firmware.classifier is not None  # both models, one arena
    assert built.firmware.arena_bytes == max(built.firmware.compiled.arena_bytes,
                                             built.firmware.classifier.arena_bytes)
    data = load(metrics["dataset"])
    test = np.flatnonzero(data.split == 2)[::25]
    q = normalize(dataset_features(data, metrics["dataset"], frontend_spec("vibration", metrics))[test]
                  .reshape(len(test), -1), normal_levels(metrics))
    classifier = TflmModel(run / "classifier_int8.tflite")
    host = classifier.run(q)
    scale = float(classifier.output["quantization_parameters"]["scales"][0])
    zero_point = int(classifier.output["quantization_parameters"]["zero_points"][0])
    normal = metrics["classes"].index("normal")
    with open_device(url) as device:
        rx = int(device.info()["rx_buffer"])
        for features, expected, fault in zip(q, host, most_likely_fault(host, normal)):
            device.load(fr.INPUT_FEATURES, features.tobytes(), rx)
            anomaly = device.infer(fr.INPUT_FEATURES)  # the autoencoder first, in the same arena
            got_fault, probability, outputs = device.fault()
            assert outputs.tolist() == expected.tolist()  # every output byte
            assert got_fault == fault != normal
            assert probability == np.float32(np.float32(scale) * np.float32(int(expected[fault]) - zero_point))
            again = device.infer(fr.INPUT_FEATURES)  # the classifier left the autoencoder's input alone
            assert again.outputs.tolist() == anomaly.outputs.tolist()


def test_calibrating_from_the_boards_own_sensor_records_it_first(vibration_board, runs, tmp_path, no_orphans):
    """An emulated board's sensor is its replayed recording: 4 normal and 4 faulty windows, too
    few to calibrate on, which is said in one line once the recording has come through."""
    from tinyml.datasets.capture import record

    url, built = vibration_board
    with open_device(url) as device:
        frames, pieces, rate, g = record(device, 10.0)
    assert rate == 3200 and np.float32(g) == np.float32(0.0039)
    assert np.array_equal(frames.reshape(-1), built.firmware.replay)  # the sensor's frames, in order
    result = subprocess.run([*TINYML, "calibrate", "--port", url, "--seconds", "10", "--no-progress"],
                            capture_output=True, text=True, timeout=120)
    assert "8 window(s) of normal running are too few to calibrate on" in one_line_error(result)
