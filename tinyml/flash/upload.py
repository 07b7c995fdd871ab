"""Real boards: PlatformIO uploads the rendered project through the board's USB serial port, or,
for boards uploaded with avrdude (the Arduino Mega), the project is built here and avrdude writes it."""

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
    """Runs `pio run -t upload` on a rendered project (needs the board's platform installed);
    an avrdude board's project is built offline and written by avrdude."""
    check_port(board, port)
    if board.upload_method == "avrdude":
        from tinyml.firmware.build import BUILD_TIMEOUT_S
        from tinyml.flash.avrdude import run_avrdude

        built = proc.run(pio_command("run", "-d", str(project_dir), "-e", board.env),
                         timeout=BUILD_TIMEOUT_S, what=f"building firmware for {board.id}")
        if built.returncode != 0:
            tail = "\n".join((built.stdout + built.stderr).strip().splitlines()[-15:])
            raise TinymlError(f"PlatformIO could not build the {board.id} firmware in {project_dir}:\n{tail}")
        run_avrdude(board, Path(project_dir) / ".pio" / "build" / board.env / "firmware.hex", port)
        return
    result = proc.run(pio_command("run", "-d", str(project_dir), "-e", board.env, "-t", "upload",
                                  "--upload-port", port),
                      timeout=UPLOAD_TIMEOUT_S, what=f"uploading to {board.id} on {port}")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TinymlError(f"PlatformIO could not upload to {board.id} on {port}:\n{tail}")
