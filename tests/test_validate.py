"""Hardware-in-the-loop validation on the emulated boards: `tinyml validate`, its behaviour on a
damaged link and a dying emulator, the firmware's parser under ASan, the pytest plugin, and the
MLPerf Tiny DUT protocol."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from link_proxy import LinkProxy
from shared import shared_path
from tinyml.boards import load_board
from tinyml.convert.tflm import TflmModel
from tinyml.errors import DeviceError, TinymlError
from tinyml.flash import start_board
from tinyml.link import frame as fr
from tinyml.link.client import open_device
from tinyml.link.eembc import EembcDut, dequantized
from tinyml.link.ports import PortInfo, find_port
from tinyml.validate.hil import load_samples, run_on_devices

pytestmark = pytest.mark.slow

M4 = "emu-cortex-m4"


def tinyml(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyml", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_validate_kws_agrees_with_tflm_and_reports(runs, app_builds, tmp_path, no_orphans):
    firmware = app_builds("kws", M4)
    out = tmp_path / "report"
    done = tinyml("validate", "--run", str(runs["kws"]), "--board", M4, "--limit", "90",
                  "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "validation.json").read_text())
    assert summary["samples"] == 90 and summary["agreement"] == 1.0
    assert summary["mismatched_samples"] == 0 and not (out / "first_mismatch.npz").exists()
    assert summary["device_accuracy"] == summary["host_accuracy"]
    model = summary["latency"]["model"]
    assert summary["latency_unit"] == "instructions" and 0 < model["min"] <= model["max"]
    assert summary["memory"]["arena"] == firmware.firmware.compiled.arena_bytes
    assert "100.00% identical to TFLM" in done.stdout
    assert "identical to TFLite Micro" in (out / "validation.html").read_text()


def test_validate_vibration_from_raw_windows(runs, app_builds, tmp_path, no_orphans):
    from tinyml.validate import validate

    result = validate(runs["vibration"], load_board(M4), limit=60, raw=True, jobs=2,
                      out_dir=tmp_path, build_dir=tmp_path / "fw", progress=False)
    s = result.summary
    assert s["input"] == "raw" and s["agreement"] == 1.0
    assert 0.5 <= s["device_auc"] <= 1.0
    assert set(s["latency"]) == {"features", "model", "total"}
    assert s["latency"]["features"]["min"] > 0


def test_validate_refuses_a_device_running_another_model(runs, app_builds, foreign_kws_model,
                                                         no_orphans):
    other = app_builds("kws", "native", foreign_kws_model)  # the kws app, but another model
    samples = load_samples(runs["kws"], limit=2)
    with pytest.raises(TinymlError, match=r"runs model [0-9a-f]{16}, but the run's model is"):
        run_on_devices(samples, load_board("native"), runs["kws"], firmware=other.built.firmware)


class FaultyLink(LinkProxy):
    """Corrupts or drops one byte in `every`, both ways (seeded), and counts what it broke."""

    def __init__(self, target_port: int, every: int = 1000, seed: int = 0):
        self.every = every
        self.rng = random.Random(seed)
        self.faults = 0
        super().__init__(target_port, self._damage, self._damage)

    def _damage(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            if self.rng.randrange(self.every) == 0:
                self.faults += 1
                if self.rng.random() < 0.5:
                    continue  # dropped
                byte ^= self.rng.randrange(1, 256)  # corrupted
            out.append(byte)
        return bytes(out)


def device_info_when_free(url: str, seconds: float = 30) -> dict:
    """info() from an emulator whose previous client (the proxy) is still hanging up: QEMU
    takes the next connection only once the last one has closed."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with open_device(url, timeout=2, retries=0) as device:
                return {k: int(v) if v.isdigit() else v for k, v in device.info().items()}
        except DeviceError:
            if time.monotonic() > deadline:
                raise


def test_a_noisy_link_costs_retries_never_a_wrong_result(runs, app_builds, no_orphans):
    built = app_builds("kws", M4)
    samples = load_samples(runs["kws"], limit=150)
    board = built.built.board
    with start_board(board, built.built.firmware) as running:
        link = FaultyLink(int(running.url.rsplit(":", 1)[1]), every=1000, seed=7)
        results = run_on_devices(samples, board, runs["kws"], urls=[link.url])
        rx_errors = device_info_when_free(running.url)["rx_errors"]
    assert link.faults >= 20  # ~80 KB crossed the link
    assert results.resends > 0 and rx_errors > 0
    assert np.array_equal(results.outputs, samples.host_outputs)  # every sample, every byte


def test_emulator_killed_midway_is_restarted_and_validation_resumes(runs, app_builds, no_orphans):
    built = app_builds("vibration", M4)
    samples = load_samples(runs["vibration"], limit=120)
    board = built.built.board
    done = []

    def kill_once(n: int) -> None:
        done.append(n)
        if len(done) == 40:
            pids = subprocess.run(["pgrep", "-f", str(built.built.firmware)], capture_output=True,
                                  text=True).stdout.split()
            assert pids, "no emulator to kill"
            subprocess.run(["kill", "-9", *pids], check=True)

    results = run_on_devices(samples, board, runs["vibration"], firmware=built.built.firmware,
                             jobs=1, progress=kill_once)
    assert results.restarts == 1
    assert "restarted it and resumed" in results.events[0]
    assert np.array_equal(results.outputs, samples.host_outputs)


def test_a_device_on_a_port_that_dies_is_reported_not_waited_for(runs, app_builds, no_orphans):
    built = app_builds("vibration", M4)
    samples = load_samples(runs["vibration"], limit=200)
    board = built.built.board
    running = start_board(board, built.built.firmware)
    done = []

    def stop_after_some(n: int) -> None:
        done.append(n)
        if len(done) == 30:
            running.stop()

    start = time.monotonic()
    with pytest.raises(DeviceError, match=r"lost the device at socket://127\.0\.0\.1:\d+ at sample \d+"):
        run_on_devices(samples, board, runs["vibration"], urls=[running.url], progress=stop_after_some)
    assert time.monotonic() - start < 60  # reported, not hung (the client's timeouts are 10 s)
    running.stop()


def hostile_stream(rng: random.Random, count: int, input_bytes: int, raw_bytes: int) -> bytes:
    """Requests a fuzzer would send: valid frames of every type with random, boundary and
    oversized arguments, damaged frames, garbage, and MLPerf text commands good and bad."""
    out = bytearray()
    texts = ["name", "profile", "timestamp", "results", "help", "db", "db load", "db load 0",
             f"db load {input_bytes}", f"db load {input_bytes + 1}", "db load 99999999999", "db zz",
             "db 0", "db " + "ab" * 40, "db print", "infer", "infer 0", "infer 1 0", "infer 2 -1",
             "infer 3 1", "infer x y", "%%", "db load -5"]
    for _ in range(count):
        roll = rng.random()
        if roll < 0.55:
            msg = rng.choice([fr.MSG_INFO, fr.MSG_LOAD, fr.MSG_INFER, fr.MSG_MODE, 0, 5, 0x7F, 0x81, 255])
            kind = rng.choice([0, 1, 2, 255])
            offset = rng.choice([0, 1, input_bytes - 1, input_bytes, raw_bytes - 3, raw_bytes,
                                 2**31, 2**32 - 1, rng.randrange(2**32)])
            body = rng.randbytes(rng.choice([0, 1, 4, 40, 200, 600]))
            payload = {fr.MSG_LOAD: bytes([kind]) + offset.to_bytes(4, "little") + body,
                       fr.MSG_INFER: bytes([kind]) + body[:rng.choice([0, 0, 3])],
                       fr.MSG_MODE: bytes([rng.choice([0, 1, 2, 255])]) + body[:rng.choice([0, 0, 2])],
                       }.get(msg, body)
            wire = bytearray(fr.encode_frame(fr.Frame(msg, rng.randrange(256), payload,
                                                       version=rng.choice([1, 1, 1, 2]))))
            if rng.random() < 0.2:
                wire[rng.randrange(len(wire))] ^= rng.randrange(1, 256)
            if rng.random() < 0.1:
                wire = wire[:rng.randrange(len(wire))]
            out += wire
        elif roll < 0.8:
            out += (rng.choice(texts) + "%").encode()
        else:
            out += rng.randbytes(rng.randrange(1, 400))
    return bytes(out)


def test_device_parser_survives_a_fuzzed_stream_under_asan(runs, app_builds, tmp_path):
    """The whole device side (tests/c/device_harness.c) with AddressSanitizer and UBSan: a
    bounded random test of 3,000 hostile requests; any out-of-bounds access aborts it."""
    src = app_builds("vibration", "native").project_dir / "src"
    sources = [p for p in src.glob("*.c") if p.name not in ("tinyml_main.c", "port_posix_pty.c",
                                                             "timer_posix_clock.c")]
    exe = tmp_path / "device_harness"
    build = subprocess.run(["gcc", "-std=c99", "-g", "-O1", "-fsanitize=address,undefined",
                            "-fno-sanitize-recover=all", "-I", str(src), *map(str, sources),
                            str(Path(__file__).parent / "c" / "device_harness.c"), "-lm", "-o", str(exe)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    info = app_builds("vibration", "native").firmware
    stream = hostile_stream(random.Random(1), 3000, info.compiled.input_bytes, info.raw_bytes)
    done = subprocess.run([str(exe)], input=stream, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    assert done.stdout.startswith(b"OK written=")
    assert int(done.stdout.split(b"=")[1]) > 10_000  # it answered, not just survived


@pytest.mark.parametrize("model_name", ["ds_cnn_kws", "kws_ref_model"])
def test_mlperf_tiny_dut_protocol_on_the_reference_kws_model(model_name, app_builds, foreign_kws_model,
                                                             no_orphans):
    """The kws firmware built for MLPerf Tiny's reference KWS model (from ../shared/; the
    same-shaped DS-CNN converted in the tests otherwise) answers the runner's commands as the
    runner parses them, with TFLM's results."""
    model = (foreign_kws_model if model_name == "ds_cnn_kws"
             else shared_path("mlperf-tiny", "kws_ref_model.tflite"))
    built = app_builds("kws", M4, model)
    tflm = TflmModel(model)
    q = tflm.output["quantization_parameters"]
    x = np.random.default_rng(3).integers(-128, 128, size=(2, 490), dtype=np.int8)
    with start_board(built.built.board, built.built.firmware) as running:
        with EembcDut(running.url) as dut:
            assert dut.command("name") == [f"m-name-dut-[tinyml {M4}]"]
            profile = dut.command("profile")
            assert profile[0].startswith("m-profile-[tinyml ") and profile[1] == "m-model-[kws01]"
            assert dut.command("db load 490") == ["m-[Expecting 490 bytes]"]
            assert dut.command("db load 491") == ["e-[Supplied buffer size 491 exceeds maximum of 490]"]
            assert dut.load(x[0].tobytes())[-1] == "m-load-done"
            printed = dut.command("db print")
            assert len(printed) == 62 and printed[0] == "m-buffer-" + "-".join(f"{b:02x}" for b in x[0][:8].view(np.uint8))
            results, micros, lines = dut.infer(1, 0)
            assert lines[:3] == ["m-warmup-start-0", "m-warmup-done", "m-infer-start-1"]
            assert results == dequantized(tflm.run(x[:1])[0], q["scales"][0], q["zero_points"][0])
            assert 1_000 < micros < 100_000  # ~7.2 M instructions: 7 ms of virtual time
            dut.load(x[1].tobytes())
            results, micros5, lines = dut.infer(5, 2)
            assert lines[0] == "m-warmup-start-2" and 4 * micros < micros5 < 6 * micros
            assert results == dequantized(tflm.run(x[1:])[0], q["scales"][0], q["zero_points"][0])
            assert dut.command("results") == [lines[-1]]
            assert dut.command("infer 0") == ["e-[Inference iterations must be >0]"]
        # the binary protocol still works on the same link afterwards
        with open_device(running.url) as device:
            assert device.info()["app"] == "kws"


def test_pytest_plugin_runs_the_hil_tests_on_an_emulated_board(runs, app_builds, pytester):
    firmware = app_builds("kws", M4).built.firmware
    hil = Path(__file__).parent / "hil" / "test_board.py"
    pytester.copy_example(str(hil))
    result = pytester.runpytest_subprocess("--tinyml-board", M4,
                                           "--tinyml-run", str(runs["kws"]),
                                           "--tinyml-firmware", str(firmware), "test_board.py",
                                           timeout=300)
    result.assert_outcomes(passed=2)
    without_board = pytester.runpytest_subprocess("test_board.py",
                                                  timeout=300)
    without_board.assert_outcomes(skipped=2)


def test_port_discovery_picks_one_board_or_asks():
    """Real USB boards cannot exist here: the port list is data (what pyserial would list)."""
    nano = load_board("nano33ble")
    one = [PortInfo("/dev/ttyACM0", "2341:805a", "Nano 33 BLE", ["nano33ble"]),
           PortInfo("/dev/ttyUSB0", "10c4:ea60", "CP2102", ["esp32dev"])]
    assert find_port(nano, one) == "/dev/ttyACM0"
    with pytest.raises(TinymlError, match=r"2 ports look like nano33ble \(Arduino Nano 33 BLE Sense\): /dev/ttyACM0"):
        find_port(nano, one + [PortInfo("/dev/ttyACM1", "2341:805a", "Nano 33 BLE", ["nano33ble"])])
    with pytest.raises(TinymlError, match=r"no serial port looks like .*ports found: /dev/ttyUSB0 \(10c4:ea60\)"):
        find_port(nano, one[1:])
    listed = tinyml("ports", timeout=60)
    assert listed.returncode == 0 and ("port" in listed.stdout or "No serial ports" in listed.stdout)


def test_monitor_shows_live_mode(runs, app_builds, no_orphans):
    built = app_builds("vibration", M4)
    with start_board(built.built.board, built.built.firmware) as running:
        done = tinyml("monitor", "--port", running.url, "--board", M4, "--seconds", "8", timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" score=")[0] for line in lines if line.startswith("WINDOW")][:8] == \
        [f"WINDOW {k}" for k in range(1, 9)]
    assert "LIVE END windows=8" in lines
