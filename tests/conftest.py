"""Shared fixtures: firmware built once per board per session, and a check for orphan emulators."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tinyml.boards import load_board
from tinyml.firmware import build_firmware

REPO = Path(__file__).resolve().parent.parent
EMULATED_BOARDS = ["emu-cortex-m4", "emu-cortex-m55", "emu-arduino-mega", "native"]

os.environ.setdefault("PLATFORMIO_SETTING_ENABLE_TELEMETRY", "No")


def emulator_pids() -> set[int]:
    """PIDs of QEMU processes and native firmware processes running now."""
    out = subprocess.run(["pgrep", "-f", r"qemu-system-|/\.pio/build/native/program"],
                         capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def serial_url_from(process: subprocess.Popen) -> str | None:
    """The URL a `tinyml flash` (or `pio run -t upload`) prints on its "Serial: URL" line."""
    for line in process.stdout:
        if line.startswith("Serial: "):
            return line.split()[1]
    return None


@pytest.fixture(scope="session")
def skeleton_builds(tmp_path_factory):
    """Builds the skeleton firmware for a board on first use; later uses reuse it."""
    cache = {}
    root = tmp_path_factory.mktemp("firmware")

    def get(board_id: str):
        if board_id not in cache:
            cache[board_id] = build_firmware(load_board(board_id), root / board_id)
        return cache[board_id]

    return get


@pytest.fixture
def no_orphans():
    """Fails the test if it leaves an emulator running."""
    before = emulator_pids()
    yield
    leftover = emulator_pids() - before
    assert not leftover, f"emulator processes left running: {sorted(leftover)}"
