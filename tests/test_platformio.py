"""PlatformIO offline, from the repository root, exactly as a user types it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tinyml.link import open_device
from tinyml.paths import HOME
from tinyml.pio import offline

from conftest import EMULATED_BOARDS, serial_url_from

pytestmark = pytest.mark.slow
PIO = [sys.executable, "-m", "platformio"]


def test_tool_scons_is_installed_as_platformio_expects():
    meta = json.loads((offline.tool_scons_dir() / ".piopm").read_text())
    assert meta["spec"]["owner"] == "platformio"
    assert meta["name"] == "tool-scons"
    assert meta["version"] == offline.required_scons_version()
    assert (offline.tool_scons_dir() / "scons.py").is_file()


def test_pio_run_builds_every_emulated_board_from_the_root():
    result = subprocess.run([*PIO, "run", *sum((["-e", b] for b in EMULATED_BOARDS), [])],
                            cwd=HOME, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    for board in EMULATED_BOARDS:
        assert f"tinyml: rendered skeleton for {board}" in result.stdout
    assert result.stdout.count("SUCCESS") >= len(EMULATED_BOARDS)
    for board in EMULATED_BOARDS:
        program = "program" if board == "native" else "firmware.elf"
        assert (HOME / ".pio" / "build" / board / program).is_file()


def test_pio_upload_starts_the_emulator_and_it_answers(no_orphans):
    # Its own session, so the cleanup below reaches pio, scons and tinyml as Ctrl-C would.
    process = subprocess.Popen([*PIO, "run", "-e", "emu-cortex-m4", "-t", "upload"], cwd=HOME,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        url = serial_url_from(process)
        assert url, "pio upload did not print the emulator's serial URL"
        with open_device(url) as device:
            info = device.info()
        assert info["board"] == "emu-cortex-m4" and info["app"] == "skeleton"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_wrong_capture_setting_in_the_root_project_is_one_line(tmp_path):
    """custom_tinyml_capture takes yes or no; anything else stops the build before rendering."""
    conf = tmp_path / "platformio.ini"
    conf.write_text((HOME / "platformio.ini").read_text()
                    + "\n[env:cap-m4]\nextends = env:emu-cortex-m4\ncustom_tinyml_capture = maybe\n")
    result = subprocess.run([*PIO, "run", "-d", str(HOME), "-c", str(conf), "-e", "cap-m4"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert ("tinyml: custom_tinyml_capture = maybe: give yes (keep a clip for `tinyml capture`) or no"
            in result.stdout + result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
