"""Real boards: PlatformIO uploads the rendered project through the board's USB serial port."""

from __future__ import annotations

import os
from pathlib import Path

from tinyml.boards import Board
from tinyml.errors import TinymlError
from tinyml.firmware.build import pio_command
from tinyml.tools import proc

UPLOAD_TIMEOUT_S = 300


def check_port(board: Board, port: str | None) -> str:
    """The board's port, checked before any build: the one named, or the one port whose USB id
    is the board's (`tinyml ports`); fails fast when there is none or several."""
    if not port:
        from tinyml.link.ports import find_port

        return find_port(board)
    if "://" not in port and not os.path.exists(port):
        raise TinymlError(f"no serial port {port} on this machine. Is the {board.name} plugged in "
                          "(and is its USB cable a data cable)? `tinyml ports` lists the ports found.")
    return port


def upload(board: Board, project_dir: Path, port: str) -> None:
    """Runs `pio run -t upload` on a rendered project (needs the board's platform installed)."""
    check_port(board, port)
    result = proc.run(pio_command("run", "-d", str(project_dir), "-e", board.env, "-t", "upload",
                                  "--upload-port", port),
                      timeout=UPLOAD_TIMEOUT_S, what=f"uploading to {board.id} on {port}")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TinymlError(f"PlatformIO could not upload to {board.id} on {port}:\n{tail}")
