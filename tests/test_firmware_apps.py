"""The kws and vibration firmware, built by PlatformIO for the emulated boards and run there:
raw sensor samples in, the host int8 pipeline's outputs out, byte for byte."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinyml.boards import load_board
from tinyml.datasets.store import load
from tinyml.errors import TinymlError
from tinyml.calibrate import host_scores
from tinyml.firmware import build_app
from tinyml.firmware.apps import (LiveSettings, anomaly_score, frontend_spec, host_features, host_outputs,
                                  kws_thresholds, normal_levels, raw_windows, read_run)
from tinyml.flash import start_board
from tinyml.link import frame as fr
from tinyml.link.client import live_lines, open_device

pytestmark = pytest.mark.slow

APP_BOARDS = [("kws", "native"), ("kws", "emu-cortex-m4"), ("kws", "emu-cortex-m55"),
              ("vibration", "native"), ("vibration", "emu-cortex-m4"),
              ("vibration", "emu-cortex-m55"), ("vibration", "emu-arduino-mega")]


def recorded_test_windows(run_dir: Path, app: str, count: int) -> np.ndarray:
    """`count` raw windows spread over the run's test split, as the sensor would give them."""
    metrics = read_run(run_dir, app)
    data = load(Path(metrics["dataset"])).subset("test")
    rows = np.linspace(0, len(data.x) - 1, count).astype(int)
    return raw_windows(app, data.x[rows], frontend_spec(app, metrics))


@pytest.mark.parametrize("app,board_id", APP_BOARDS)
def test_device_matches_the_host_int8_pipeline_from_raw_samples(app, board_id, runs, app_builds,
                                                                 no_orphans):
    result = app_builds(app, board_id)
    board = result.built.board
    assert result.budget is not None and result.budget.fits()
    raw = recorded_test_windows(runs[app], app, 3)
    expected = host_outputs(runs[app], app, raw)
    with start_board(board, result.built.firmware) as running:
        with open_device(running.url, baud=board.serial.baud, timeout=10) as device:
            info = device.info()
            got = []
            for window in raw:
                device.load(fr.INPUT_RAW, window.astype("<i2").tobytes(), int(info["rx_buffer"]))
                got.append(device.infer(fr.INPUT_RAW))
            device_stack_peak = device.info().get("stack_peak", "0")
    assert info["app"] == app and info["model"] == result.firmware.compiled.model_hash[:16]
    assert int(info["raw_bytes"]) == raw[0].nbytes
    if board.id.startswith("emu-cortex"):  # the start-up paints the stack: half of it is spare
        assert 0 < int(device_stack_peak) <= board.memory.stack_bytes // 2, device_stack_peak
    for inference, host in zip(got, expected):
        assert inference.outputs.tolist() == host.tolist()  # every output byte
        assert inference.feature_ticks > 0 and inference.model_ticks > 0
    if app == "vibration":
        spec = result.firmware.spec
        metrics = read_run(runs[app], app)
        out_q, in_q = tuple(metrics["output_quantization"]), tuple(metrics["input_quantization"])
        assert in_q == (spec.scale, 0)  # the model sees deviations from the machine's normal level
        features = host_features(app, raw, spec, normal_levels(metrics))
        for inference, f, host in zip(got, features, expected):
            assert inference.score == anomaly_score(f, host, in_q, out_q)


def test_features_in_skip_the_front_end(runs, app_builds, no_orphans):
    """Test mode also takes the model's int8 input directly (validation of the model alone)."""
    result = app_builds("kws", "emu-cortex-m4")
    raw = recorded_test_windows(runs["kws"], "kws", 2)
    features = host_features("kws", raw, result.firmware.spec)
    expected = host_outputs(runs["kws"], "kws", raw)
    with start_board(result.built.board, result.built.firmware) as running:
        with open_device(running.url, timeout=10) as device:
            for f, host in zip(features, expected):
                device.load(fr.INPUT_FEATURES, f.tobytes(), 1024)
                inference = device.infer(fr.INPUT_FEATURES)
                assert inference.outputs.tolist() == host.tolist()
                assert inference.feature_ticks == 0
                assert device.timing() == (0, inference.model_ticks)
            device.request(fr.MSG_INFO, b"")  # the link still counts a damaged frame ...
            device.port.write(b"\x05garbage\x00")
            time.sleep(0.2)
            assert int(device.info()["rx_errors"]) >= 1
            device.reset()  # ... until a reset
            assert device.info()["rx_errors"] == "0" and device.timing() == (0, 0)
            # an input kind the app does not have, and a load past the buffer, are refused
            with pytest.raises(TinymlError, match="bad argument"):
                device.request(fr.MSG_INFER, bytes([7]))
            with pytest.raises(TinymlError, match="bad argument"):
                device.request(fr.MSG_LOAD, bytes([fr.INPUT_FEATURES]) + (480).to_bytes(4, "little") + bytes(20))


def test_kws_clips_stream_through_the_front_end_as_they_load(runs, app_builds, no_orphans):
    """kws keeps no clip (issue #17): each load goes through the streaming front-end as it
    arrives. A resent load is taken once, a load that leaves a gap or runs past the clip is
    refused, and a clip not yet whole cannot be inferred; loads of any size, a sample split
    between two, give the host pipeline's outputs."""
    result = app_builds("kws", "emu-cortex-m4")
    assert "audio window" not in result.firmware.buffers and "capture clip" not in result.firmware.buffers
    ram = {part: r for part, _, r in result.budget.rows}  # from the linker's map, stack included
    assert result.budget.ram - ram["model arena"] <= 6 * 1024, result.budget.table()
    assert ram["model arena"] >= result.firmware.in_arena["front-end work"]  # the FFT's, between inferences
    raw = recorded_test_windows(runs["kws"], "kws", 2)
    expected = host_outputs(runs["kws"], "kws", raw)
    refused = "bad argument"

    def load(device, offset: int, data: bytes) -> int:
        reply = device.request(fr.MSG_LOAD, bytes([fr.INPUT_RAW]) + offset.to_bytes(4, "little") + data)
        return int.from_bytes(reply.payload[:4], "little")

    with start_board(result.built.board, result.built.firmware) as running:
        with open_device(running.url, timeout=10) as device:
            clip = raw[0].astype("<i2").tobytes()
            assert load(device, 0, clip[:333]) == 333  # odd: the last sample split in two
            assert load(device, 0, clip[:333]) == 333  # resent: the clip starts again, same state
            assert load(device, 333, clip[333:700]) == 700
            assert load(device, 333, clip[333:700]) == 700  # resent: taken once
            with pytest.raises(TinymlError, match=refused):
                device.infer(fr.INPUT_RAW)  # 700 of 32,000 bytes
            with pytest.raises(TinymlError, match=refused):
                load(device, 800, clip[800:900])  # a gap
            at = 700
            while at < len(clip):
                at = load(device, at, clip[at:at + 901])
            with pytest.raises(TinymlError, match=refused):
                load(device, len(clip), b"\0\0")  # past the clip's end
            assert device.infer(fr.INPUT_RAW).outputs.tolist() == expected[0].tolist()
            assert device.infer(fr.INPUT_RAW).outputs.tolist() == expected[0].tolist()  # a resend
            device.load(fr.INPUT_RAW, raw[1].astype("<i2").tobytes(), 1024)
            assert device.infer(fr.INPUT_RAW).outputs.tolist() == expected[1].tolist()


def test_vibration_live_mode_scores_the_replayed_windows_and_raises_the_alarm(runs, app_builds,
                                                                             no_orphans):
    result = app_builds("vibration", "emu-arduino-mega")
    firmware = result.firmware
    spec = firmware.spec
    windows = firmware.replay.reshape(-1, spec.window, spec.axes).transpose(0, 2, 1)
    levels = normal_levels(read_run(runs["vibration"], "vibration"))
    scores = host_scores(runs["vibration"], host_features("vibration", windows, spec, levels))
    with start_board(result.built.board, result.built.firmware, handshake=False) as running:
        lines = live_lines(running.url)
    window_lines = [line for line in lines if line.startswith("WINDOW")]
    assert len(window_lines) == len(windows) == 8
    run_length, alarms = 0, 0
    for k, (line, score) in enumerate(zip(window_lines, scores)):
        anomalous = score > firmware.threshold
        assert re.fullmatch(rf"WINDOW {k + 1} score=\d+\.\d{{3}} (ok|ANOMALY)", line), line
        assert float(line.split("=")[1].split()[0]) == pytest.approx(score, abs=0.0011)
        assert line.endswith("ANOMALY" if anomalous else "ok")
        run_length = run_length + 1 if anomalous else 0
        alarms += run_length == 3
    assert sum(line.startswith("ALARM") for line in lines) == alarms
    assert lines[-1] == "LIVE END windows=8"
    # After each alarm, the fault classifier (sharing the autoencoder's arena) names the fault its
    # outputs summed over the alarm's windows rank first, as the host's int8 classifier does.
    from tinyml.convert.tflm import TflmModel
    from tinyml.train.vibration import ALARM_WINDOWS, most_likely_fault

    metrics = read_run(runs["vibration"], "vibration")
    classifier = TflmModel(runs["vibration"] / "classifier_int8.tflite")
    outputs = classifier.run(host_features("vibration", windows, spec, levels).reshape(len(windows), -1))
    scale = classifier.output["quantization_parameters"]["scales"][0]
    zero_point = classifier.output["quantization_parameters"]["zero_points"][0]
    at = [i for i, line in enumerate(lines) if line.startswith("ALARM")]
    assert at and LiveSettings().alarm_windows == ALARM_WINDOWS, lines  # the replay's severe faults raise one
    for i in at:
        last = int(lines[i - 1].split()[1])  # the WINDOW line before the ALARM: 1-based
        votes = outputs[last - ALARM_WINDOWS:last].astype(np.int32).sum(axis=0)
        fault = most_likely_fault(votes[None], metrics["classes"].index("normal"))[0]
        mean = scale * (votes[fault] / ALARM_WINDOWS - zero_point)
        name, p = lines[i + 1].split()[1:]
        assert lines[i + 1].startswith("FAULT ") and name == metrics["classes"][fault], lines[i + 1]
        assert float(p.removeprefix("p=")) == pytest.approx(mean, abs=0.0011)


def test_kws_live_mode_is_the_host_simulator(runs, app_builds, tmp_path, no_orphans):
    """Live mode listens with the streaming front-end and the detector: on the replayed
    recording its DETECT lines, its hop and inference counts and the CRC of every int8 output
    are what tinyml.stream computes on the host for the same audio. The threshold is set just
    under the best keyword score the host sees (a quick model is not sure of much), so some fire."""
    from tinyml.stream import StreamModel, model_outputs, simulate
    from tinyml.stream.detect import IGNORED_CLASSES

    replay = app_builds("kws", "emu-cortex-m4").firmware.replay
    model = StreamModel.load(runs["kws"])
    hops, outputs = model_outputs(model, replay, LiveSettings().every)
    levels = outputs.astype(np.int64) - model.zero_point
    mean = np.stack([levels[max(0, k - 2):k + 1].sum(0) for k in range(len(levels))]) / 3 * model.scale
    keywords = [i for i, c in enumerate(model.classes) if c not in IGNORED_CLASSES]
    live = LiveSettings(threshold=round(0.95 * float(mean[:, keywords].max()), 3))
    result = build_app("kws", runs["kws"], load_board("emu-cortex-m4"), tmp_path / "fw", live=live)
    expected = simulate(model, replay, live.detect_config(),
                        kws_thresholds(runs["kws"], live))
    with start_board(result.built.board, result.built.firmware, handshake=False) as running:
        lines = live_lines(running.url)
    spec = result.firmware.spec
    frames = (len(replay) - spec.window) // spec.stride + 1
    assert len(expected.hops) == (frames - spec.frames) // live.every + 1 == 38  # 2.5 s: 124 hops
    assert expected.detections, live
    assert [line for line in lines if line.startswith("DETECT")] == [d.line() for d in expected.detections]
    crc = fr.crc16(expected.outputs.astype(np.int8).tobytes())
    end = re.fullmatch(rf"LIVE END hops={frames} inferences={len(expected.hops)} crc={crc} "
                       r"frontend_ticks=(\d+) model_ticks=(\d+)", lines[-1])
    assert end, lines[-1]
    # Instructions on the emulated M4 (-icount shift=0: one a nanosecond of its timer's time):
    # a frame per hop, far less than the model.
    ns = result.built.board.timer_ps_per_tick / 1000
    per_hop, per_inference = int(end[1]) * ns / frames, int(end[2]) * ns / len(expected.hops)
    assert 20_000 < per_hop < 150_000 and per_hop < per_inference, (per_hop, per_inference)


def test_kws_on_an_arduino_mega_is_refused_before_building(runs, tmp_path):
    out = tmp_path / "kws-mega"
    done = subprocess.run([sys.executable, "-m", "tinyml", "build", "--board", "emu-arduino-mega",
                           "--app", "kws", "--run", str(runs["kws"]), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "the kws firmware does not fit emu-arduino-mega: it needs" in done.stderr
    assert "It fits emu-cortex-m4, emu-cortex-m55" in done.stderr
    assert "the vibration app" in done.stderr
    assert not (out / ".pio").exists()  # refused before PlatformIO ran


def test_build_prints_the_memory_budget_by_part(runs, tmp_path):
    done = subprocess.run([sys.executable, "-m", "tinyml", "build", "--board", "emu-arduino-mega",
                           "--app", "vibration", "--run", str(runs["vibration"]), "-o", str(tmp_path / "v")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    table = done.stdout
    for part in ("model weights", "model arena", "front-end", "app", "stack", "total", "board"):
        assert re.search(rf"^  {part}\s+[\d,]+\s+[\d,]+", table, re.M), part
    ram = int(re.search(r"^  total\s+[\d,]+\s+([\d,]+)", table, re.M).group(1).replace(",", ""))
    assert 2_000 < ram <= 8_192  # an ATmega2560 has 8 KiB


REAL_BOARDS = {
    # board: (app, sensor file expected, lib_deps expected)
    "esp32dev": ("kws", "sensor_i2s_microphone.cpp", []),
    "nano33ble": ("vibration", "sensor_nano33_imu.cpp", ["arduino-libraries/Arduino_LSM9DS1@^1.1.1"]),
    "rpipico": ("kws", "sensor_replay.c", []),
}


@pytest.mark.parametrize("board_id", sorted(REAL_BOARDS))
def test_real_board_projects_render_the_same_shared_code(board_id, runs, app_builds, tmp_path):
    app, sensor_file, lib_deps = REAL_BOARDS[board_id]
    board = load_board(board_id)
    rendered = build_app(app, runs[app], board, tmp_path / board_id, render_only=True)
    assert rendered.built is None and rendered.estimate.fits()
    src = tmp_path / board_id / "src"
    names = {p.name for p in src.iterdir()}
    assert {f"app_{app}.c", "model.c", "model.h", "tm_frontend.c", "tm_frontend_tables.h",
            "tinyml_device.c", "tinyml_link.c", "port_arduino.cpp", sensor_file} <= names
    assert "tinyml_main.c" not in names  # the Arduino core has main(); setup()/loop() are ours
    assert ("replay_data.h" in names) == (sensor_file == "sensor_replay.c")
    # the shared code is byte for byte what was compiled and run on the emulated Cortex-M4
    emulated = app_builds(app, "emu-cortex-m4").project_dir / "src"
    for name in names & {p.name for p in emulated.iterdir()}:
        if name not in ("tinyml_config.h", "replay_data.h"):
            assert (src / name).read_bytes() == (emulated / name).read_bytes(), name

    ini = configparser.ConfigParser()
    ini.read(tmp_path / board_id / "platformio.ini")
    env = ini[f"env:{board_id}"]
    assert ini["platformio"]["default_envs"] == board_id
    assert env["framework"] == "arduino" and env["platform"] == board.platformio["platform"]
    assert env["board"] == board.platformio["board"] and env["monitor_speed"] == "115200"
    assert env["build_flags"] == "-O2"
    assert env.get("lib_deps", "").split()[:len(lib_deps)] == lib_deps
    config = (src / "tinyml_config.h").read_text()
    assert f'#define TINYML_BOARD_ID "{board_id}"' in config
    assert f'#define TINYML_TIMER_UNIT "{board.timer.unit}"' in config


def test_flash_real_board_with_an_app_fails_fast_on_a_missing_port(runs, no_orphans):
    done = subprocess.run([sys.executable, "-m", "tinyml", "flash", "--board", "esp32dev", "--port",
                           "/dev/ttyUSB0", "--app", "kws", "--run", str(runs["kws"])],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no serial port /dev/ttyUSB0 on this machine" in done.stderr
    assert "Compiling" not in done.stdout  # it failed before compiling anything


def test_thresholds_for_a_false_accept_target_go_into_the_firmware(runs, tmp_path):
    """`tinyml build --target-fa-per-hour` writes the thresholds tinyml.stream picks on the run's
    validation split (not the one-probability default) into the firmware's config."""
    from tinyml.stream import StreamModel, choose_thresholds
    from tinyml.stream.detect import keyword_thresholds

    out = tmp_path / "kws-fa"
    done = subprocess.run([sys.executable, "-m", "tinyml", "build", "--board", "emu-cortex-m4", "--app", "kws",
                           "--run", str(runs["kws"]), "--render-only", "-o", str(out), "--every", "4",
                           "--target-fa-per-hour", "2"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "Choosing thresholds on the run's validation split for 2 false accepts an hour" in done.stdout
    config = (out / "src" / "tinyml_config.h").read_text()
    model = StreamModel.load(runs["kws"])
    picked = choose_thresholds(model, LiveSettings(every=4).detect_config(), 2.0).thresholds
    default = keyword_thresholds(model.classes, 0.7, 3, model.scale)
    expected = ", ".join("TM_DETECT_NEVER" if t is None else str(t) for t in picked)
    assert f"#define KWS_THRESHOLDS {expected}" in config and "#define KWS_EVERY 4u" in config
    assert picked != default
    bad = subprocess.run([sys.executable, "-m", "tinyml", "build", "--board", "emu-cortex-m4", "--app", "kws",
                          "--run", str(runs["kws"]), "--render-only", "-o", str(out), "--every", "0"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--every" in bad.stderr
