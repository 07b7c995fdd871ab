"""The `tinyml` command as a user meets it: exit codes, one-line errors, no hangs, no orphans."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import emulator_pids, serial_url_from

TINYML = [sys.executable, "-m", "tinyml"]


def run(*args, timeout=60):
    start = time.monotonic()
    result = subprocess.run([*TINYML, *args], capture_output=True, text=True, timeout=timeout)
    return result, time.monotonic() - start


def assert_one_line_error(result, *fragments):
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_teaches_the_pipeline():
    result, _ = run("--help")
    assert result.returncode == 0
    for command in ("boards", "build", "flash", "info", "doctor"):
        assert f"tinyml {command}" in result.stdout


def test_boards_lists_every_board():
    result, _ = run("boards")
    assert result.returncode == 0
    for board in ("emu-cortex-m4", "emu-cortex-m55", "emu-arduino-mega", "native",
                  "esp32dev", "nano33ble", "rpipico"):
        assert board in result.stdout


def test_info_with_nothing_listening_fails_fast(no_orphans):
    result, elapsed = run("info", "--port", "socket://127.0.0.1:1")
    assert elapsed < 5
    assert_one_line_error(result, "cannot open serial port socket://127.0.0.1:1",
                          "Connection refused", "tinyml flash --board")


def test_info_on_a_missing_device_path_fails_fast():
    result, elapsed = run("info", "--port", "/dev/ttyNOSUCH0")
    assert elapsed < 5
    assert_one_line_error(result, "cannot open serial port /dev/ttyNOSUCH0", "tinyml ports")


def test_info_on_a_silent_device_gives_up_after_bounded_retries():
    """A port that accepts the connection but never answers: 4 tries of 0.5 s, then a clear error."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    try:
        port = server.getsockname()[1]
        result, elapsed = run("info", "--port", f"socket://127.0.0.1:{port}", "--timeout", "0.5")
    finally:
        server.close()
    assert 2.0 <= elapsed < 8
    assert_one_line_error(result, f"no answer from socket://127.0.0.1:{port} after 4 tries of 0.5 s")


def test_flash_unknown_board_fails_fast_without_orphans(no_orphans):
    result, elapsed = run("flash", "--board", "nosuchboard")
    assert elapsed < 5
    assert_one_line_error(result, "unknown board 'nosuchboard'", "tinyml boards")


def test_flash_real_board_without_its_port_fails_before_building(no_orphans):
    result, elapsed = run("flash", "--board", "esp32dev", "--port", "/dev/ttyUSB0")
    assert elapsed < 5
    assert_one_line_error(result, "no serial port /dev/ttyUSB0 on this machine", "tinyml ports")


def test_build_real_board_offline_explains_what_is_needed(tmp_path):
    result, elapsed = run("build", "--board", "esp32dev", "-o", str(tmp_path / "esp32"))
    assert elapsed < 30
    assert_one_line_error(result, "needs PlatformIO's 'espressif32' platform",
                          f"pio run -d {tmp_path / 'esp32'} -t upload")
    assert (tmp_path / "esp32" / "platformio.ini").is_file()  # rendered all the same


@pytest.mark.slow
@pytest.mark.parametrize("board_id,tool_header,flash_limit", [
    ("emu-cortex-m4", "text\t   data\t    bss", "1,048,576"),
    ("emu-arduino-mega", "text\t   data\t    bss", "262,144"),
])
def test_build_prints_size_tool_figures_and_budget(tmp_path, board_id, tool_header, flash_limit):
    result, _ = run("build", "--board", board_id, "-o", str(tmp_path / "fw"), timeout=600)
    assert result.returncode == 0, result.stderr
    assert tool_header in result.stdout  # the Berkeley table of arm-none-eabi-size / avr-size
    assert "firmware.elf" in result.stdout
    assert f"/ {flash_limit} bytes" in result.stdout


@pytest.mark.slow
def test_flash_emulator_serves_until_stopped_then_reaps_qemu(skeleton_builds, no_orphans):
    built = skeleton_builds("emu-cortex-m55")
    before = emulator_pids()
    process = subprocess.Popen([*TINYML, "flash", "--board", "emu-cortex-m55", "--firmware",
                                str(built.firmware)], stdout=subprocess.PIPE, text=True)
    try:
        url = serial_url_from(process)
        assert url and url.startswith("socket://127.0.0.1:")
        from tinyml.link import open_device

        with open_device(url) as device:
            assert device.info()["build"] == built.build_id
        assert len(emulator_pids() - before) == 1
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0
        assert "Stopped emu-cortex-m55." in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_killed_flash_takes_its_emulator_with_it(skeleton_builds):
    """Even SIGKILL, which tinyml cannot catch, leaves no QEMU behind (parent-death signal)."""
    built = skeleton_builds("emu-cortex-m4")
    before = emulator_pids()
    process = subprocess.Popen([*TINYML, "flash", "--board", "emu-cortex-m4", "--firmware",
                                str(built.firmware)], stdout=subprocess.PIPE, text=True)
    try:
        serial_url_from(process)
        started = emulator_pids() - before
        assert len(started) == 1  # another suite's emulators running beside this one count too
    finally:
        process.kill()  # whatever failed above: never leave the flash (and its QEMU) running
        process.wait()
    deadline = time.monotonic() + 5
    while emulator_pids() & started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not emulator_pids() & started
