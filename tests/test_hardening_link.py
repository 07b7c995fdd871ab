"""Faults in the serial link, `tinyml validate`, `tinyml monitor` and the MLPerf Tiny text
protocol (issue 13): a board that dies mid-write, exit codes, the hints in error messages,
malformed port URLs, a validation that gives up, and stray text on the link."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import shlex
import signal
import struct
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest

from link_proxy import LinkProxy
from tinyml.boards import load_board
from tinyml.cli.flash import command as flash_command
from tinyml.convert.tflm import TflmModel
from tinyml.errors import DeviceError, TinymlError
from tinyml.firmware.apps import MODEL_FILE
from tinyml.flash import start_board
from tinyml.link import frame as fr
from tinyml.link.client import open_device
from tinyml.link.eembc import EembcDut
from tinyml.validate import validate
from tinyml.validate.hil import check_device, load_samples, model_hash, run_on_devices

M4 = "emu-cortex-m4"
ACCEPTED_FORMS = ("Accepted forms: /dev/ttyACM0 or COM3 (a serial device), socket://HOST:PORT "
                  "(an emulator's UART over TCP), rfc2217://HOST:PORT (a serial port shared over "
                  "the network).")


def tinyml(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyml", *args], capture_output=True, text=True,
                          timeout=timeout)


def firmware_pid(firmware: Path) -> int:
    pids = subprocess.run(["pgrep", "-f", str(firmware)], capture_output=True, text=True).stdout.split()
    assert len(pids) == 1, f"expected one board running {firmware}, found {pids}"
    return int(pids[0])


# --- 1. a board that dies while the host is writing -------------------------------------------

def _fill(pty_path: str, limit: int | None = None) -> int:
    """Writes into the pty towards the board, a byte at a time, until `limit` bytes or until
    the kernel takes no more; returns how many it took."""
    fd = os.open(pty_path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    n = 0
    try:
        while limit is None or n < limit:
            n += os.write(fd, b"z")
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    return n


def _pty_capacity() -> int:
    """Bytes a raw pty holds towards a reader that reads nothing (this kernel's buffers)."""
    master, slave = pty.openpty()
    try:
        tty.setraw(slave)
        return _fill(os.ttyname(slave))
    finally:
        os.close(slave)
        os.close(master)


@pytest.mark.slow
def test_native_board_killed_mid_write_is_restarted_and_validation_finishes(runs, app_builds,
                                                                            no_orphans):
    """The board stops reading, the pty fills until the host's next frame exactly fits, and the
    board dies while pyserial waits for room: its write returns, and tcdrain (port.flush())
    raises termios.error, as for a USB board unplugged mid-write."""
    built = app_builds("vibration", "native")
    samples = load_samples(runs["vibration"], limit=40)
    capacity = _pty_capacity()
    at = 15
    done = []

    def kill_mid_write(n: int) -> None:
        done.append(n)
        if len(done) != at:
            return
        pid = firmware_pid(built.built.firmware)
        links = (os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
        pty_path = next(link for link in links if link.startswith("/dev/pts/"))
        os.kill(pid, signal.SIGSTOP)  # reads nothing more: what the host writes stays queued
        while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
            time.sleep(0.01)
        # The next request is sample `at`'s load; info was request 1, then two per sample.
        payload = struct.pack("<BI", samples.kind, 0) + samples.inputs[at].astype(np.int8).tobytes()
        frame = fr.encode_frame(fr.Frame(fr.MSG_LOAD, 2 + 2 * at, payload))
        _fill(pty_path, capacity - len(frame))
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()

    results = run_on_devices(samples, built.built.board, runs["vibration"],
                             firmware=built.built.firmware, jobs=1, progress=kill_mid_write)
    assert results.restarts == 1
    assert re.search(rf"stopped at sample {at} \(cannot write to /dev/pts/\d+ \(Input/output error\)",
                     results.events[0]), results.events
    assert np.array_equal(results.outputs, samples.host_outputs)


# --- 2. exit codes of `tinyml validate` -------------------------------------------------------

class DisagreeingLink(LinkProxy):
    """Changes the first output byte of every inference reply (and its CRC, so the host takes
    it): a board that computes wrongly."""

    def __init__(self, target_port: int):
        decoder = fr.FrameDecoder()
        super().__init__(target_port,
                         to_host=lambda data: b"".join(map(self._lie, decoder.feed(data))))

    @staticmethod
    def _lie(frame: fr.Frame) -> bytes:
        if frame.type == fr.MSG_INFER | fr.REPLY:
            payload = bytearray(frame.payload)
            payload[12] ^= 0x01  # after feature ticks, model ticks and score
            frame = fr.Frame(frame.type, frame.seq, bytes(payload))
        return fr.encode_frame(frame)


@pytest.mark.slow
def test_validate_exit_codes_tell_a_usage_error_from_a_disagreeing_board(runs, app_builds, tmp_path,
                                                                         no_orphans):
    usage = tinyml("validate", "--run", str(runs["vibration"]), "--board", M4,
                   "--min-agreement", "1.5", timeout=60)
    assert usage.returncode == 2, usage.stderr
    assert "Invalid value for '--min-agreement': 1.5 is not in the range 0<=x<=1." in usage.stderr

    built = app_builds("vibration", M4)
    with start_board(built.built.board, built.built.firmware) as running:
        link = DisagreeingLink(int(running.url.rsplit(":", 1)[1]))
        done = tinyml("validate", "--run", str(runs["vibration"]), "--board", M4, "--port", link.url,
                      "--limit", "12", "--out", str(tmp_path))
    summary = json.loads((tmp_path / "validation.json").read_text())
    assert (summary["samples"], summary["agreement"], summary["mismatched_samples"]) == (12, 0.0, 12)
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == "Agreement 0.00% is below --min-agreement 100.00%."

    helped = tinyml("validate", "--help", timeout=60)
    block = helped.stdout.split("Exit codes:", 1)[1].split("Options:", 1)[0]
    codes = dict(re.findall(r"^ +([0-9]) +(.*)$", block, re.M))
    assert sorted(codes) == ["0", "1", "2", "3"], helped.stdout
    assert "usage error" in codes["2"] and "below --min-agreement" in codes["3"]


# --- 3. the flash command in "runs another model" must work as written ------------------------

def _flash_params(message: str) -> dict:
    """The options of the `tinyml flash ...` command quoted in a message, as click parses them
    (raises click.UsageError if the command would not run as written)."""
    quoted = re.search(r"`(tinyml flash [^`]*)`", message)
    assert quoted, message
    words = shlex.split(quoted.group(1))
    return flash_command.make_context("flash", words[2:]).params


@pytest.mark.slow
def test_model_mismatch_suggests_a_flash_command_that_runs_as_written(runs, app_builds,
                                                                     foreign_kws_model, no_orphans):
    other = app_builds("kws", "native", foreign_kws_model)  # the kws app, but another model
    with start_board(other.built.board, other.built.firmware) as running:
        done = tinyml("validate", "--run", str(runs["kws"]), "--board", "native", "--port",
                      running.url, "--limit", "2")
    assert done.returncode == 1
    foreign = hashlib.sha256(foreign_kws_model.read_bytes()).hexdigest()[:16]
    assert f"runs model {foreign}, but the run's model is {model_hash(runs['kws'])}: " in done.stderr
    params = _flash_params(done.stderr)
    assert (params["board_id"], params["app"], params["run_dir"]) == ("native", "kws", runs["kws"])
    assert params["port"] is None  # an emulated board gets a new one

    # A real board: the same port again, or PlatformIO may pick another board's.
    nano = load_board("nano33ble")
    for info, what in (({"app": "kws", "model": "0" * 16}, "runs model 0000000000000000"),
                       ({"app": "vibration", "model": "0" * 16}, "runs the 'vibration' app")):
        with pytest.raises(TinymlError, match=what) as refused:
            check_device(info, runs["kws"], "kws", "/dev/ttyACM0", board=nano)
        params = _flash_params(str(refused.value))
        assert (params["board_id"], params["port"], params["app"], params["run_dir"]) == \
            ("nano33ble", "/dev/ttyACM0", "kws", runs["kws"])


# --- 4. malformed port URLs -------------------------------------------------------------------

MALFORMED = {
    "socket://notahost:abc": "the port after the host must be a number from 1 to 65535, not 'abc'",
    "socket://127.0.0.1": "it has no port: add :PORT after the host",
    "socket://:4321": "it has no host before :4321",
    "socket://127.0.0.1:99999": "the port after the host must be a number from 1 to 65535, not '99999'",
    "rfc2217://127.0.0.1:x": "the port after the host must be a number from 1 to 65535, not 'x'",
    "socket://127.0.0.1:4321/path": "a socket:// URL has no path ('/path')",
    "socket://127.0.0.1:4321?logging=loud": "'logging' must be one of debug, info, warning, error",
    "sockets://127.0.0.1:4321": "pyserial knows no 'sockets://' URLs",
}


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_port_url_is_named_with_the_accepted_forms(url):
    done = tinyml("monitor", "--port", url, "--seconds", "1", timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: the serial port URL {url} is malformed: {MALFORMED[url]}. " \
                                  + ACCEPTED_FORMS


@pytest.mark.slow
def test_every_command_that_opens_a_port_checks_its_url(runs):
    url = "socket://notahost:abc"
    expected = f"Error: the serial port URL {url} is malformed: {MALFORMED[url]}. {ACCEPTED_FORMS}"
    for args in (["info", "--port", url], ["monitor", "--port", url],
                 ["validate", "--run", str(runs["kws"]), "--board", M4, "--port", url]):
        done = tinyml(*args, timeout=120)
        assert (done.returncode, done.stderr.strip()) == (1, expected), args
    # a well-formed URL nobody listens on is still "is the emulator running?"
    refused = tinyml("info", "--port", "socket://127.0.0.1:1", timeout=60)
    assert refused.returncode == 1 and "Connection refused" in refused.stderr
    assert "malformed" not in refused.stderr


# --- 5. a validation that gives up keeps what it did, and resumes from it ---------------------

@pytest.mark.slow
def test_validation_that_gives_up_keeps_its_samples_and_the_next_run_resumes(runs, app_builds,
                                                                             tmp_path, no_orphans):
    built = app_builds("vibration", M4)
    board = built.built.board
    firmware = built.built.firmware
    done = []

    def kill_every_20(n: int) -> None:
        done.append(n)
        if len(done) % 20 == 0:
            os.kill(firmware_pid(firmware), signal.SIGKILL)

    with pytest.raises(DeviceError) as gave_up:
        validate(runs["vibration"], board, limit=100, jobs=1, out_dir=tmp_path, firmware=firmware,
                 progress=kill_every_20)
    assert len(done) == 60  # killed at 20 and 40 (restarted), at 60 given up
    message = str(gave_up.value)
    assert "stopped 3 times" in message
    assert (f"Validated 60 of 100 samples: partial report {tmp_path / 'validation.html'}; run the "
            "same command again to resume from them.") in message
    partial = json.loads((tmp_path / "validation.json").read_text())
    assert (partial["samples"], partial["samples_planned"], partial["complete"]) == (60, 100, False)
    assert partial["agreement"] == 1.0
    assert (tmp_path / "progress.npz").is_file()

    sent = []
    result = validate(runs["vibration"], board, limit=100, jobs=1, out_dir=tmp_path,
                      firmware=firmware, progress=sent.append)
    assert len(sent) == 40  # only the samples the first run did not finish
    s = result.summary
    assert (s["samples"], s["samples_planned"], s["complete"], s["agreement"]) == (100, 100, True, 1.0)
    assert s["link"]["resumed_samples"] == 60
    assert "resumed 60 samples from an earlier run" in s["link"]["events"][0]
    outputs = np.load(tmp_path / "device_outputs.npz")["outputs"]
    assert np.array_equal(outputs, load_samples(runs["vibration"], limit=100).host_outputs)
    assert not (tmp_path / "progress.npz").exists()


# --- 6. the MLPerf Tiny text protocol: unknown commands are answered --------------------------

@pytest.mark.slow
def test_mlperf_dut_answers_unknown_text_and_stray_bytes_like_the_reference(runs, app_builds,
                                                                             no_orphans):
    """The MLPerf reference firmware answers text it does not know with `e-[Unknown command:
    WORD]` and m-ready; the runner waits for that m-ready (5 s, then `No response to command`).
    Binary frames may hold '%' bytes and must still not be taken for text."""
    built = app_builds("kws", M4)
    samples = load_samples(runs["kws"], limit=1)
    with start_board(built.built.board, built.built.firmware) as running:
        with EembcDut(running.url, timeout=3) as dut:
            dut.port.write(b"xyzzy")  # left on the link by an earlier program
            assert dut.command("name") == ["e-[Unknown command: xyzzyname]"]
            assert dut.command("name") == [f"m-name-dut-[tinyml {M4}]"]
            assert dut.command("start") == ["e-[Unknown command: start]"]
            assert dut.command("print_detections 3") == ["e-[Unknown command: print_detections]"]
            dut.port.write(b"\x07\x01\x02\xfe\x80")  # the start of a binary frame, never ended
            assert dut.command("name") == [f"m-name-dut-[tinyml {M4}]"]
        with open_device(running.url) as device:
            # features full of '%' after printable bytes: still one frame each, no text reply
            x = np.frombuffer((b"ab%cd%%" * 100)[:samples.features.shape[1]], dtype=np.int8)
            device.load(fr.INPUT_FEATURES, x.tobytes())
            outputs = device.infer(fr.INPUT_FEATURES).outputs
            assert device.resends == 0 and device.decoder.errors == 0
    assert np.array_equal(outputs, TflmModel(runs["kws"] / MODEL_FILE).run(x[None])[0])
