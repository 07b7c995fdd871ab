"""Real AVR boards (the Arduino Mega 2560): the firmware's Intel HEX written by avrdude through
the board's bootloader, as the Arduino IDE does. The board file's [flash.avrdude] says how."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from tinyml.boards import Board
from tinyml.errors import TinymlError
from tinyml.tools import proc

# A Mega's 250 KB at 115200 baud takes about 40 s; a board that never answers its bootloader
# is given up on by avrdude itself after about 30 s.
AVRDUDE_TIMEOUT_S = 120
OBJCOPY = "avr-objcopy"


def avrdude_command(board: Board, hex_file: Path, port: str) -> list[str]:
    """avrdude's command line: part, programmer (the bootloader's protocol) and baud from the
    board file; -D because the bootloader erases each page it writes."""
    settings = board.flash.get("avrdude")
    if not settings:
        raise TinymlError(f"{board.id} is not uploaded with avrdude (its board file has no "
                          "[flash.avrdude]); see boards/README.md.")
    return ["avrdude", "-p", settings["part"], "-c", settings["programmer"],
            "-b", str(settings["baud"]), "-D", "-P", port, "-U", f"flash:w:{hex_file}:i"]


def show(command: list[str]) -> str:
    """The command as a shell line a user can paste."""
    return shlex.join(command)


def hex_path(firmware: Path) -> Path:
    """Where the Intel HEX of a firmware is: itself, or beside the ELF (the build makes both)."""
    firmware = Path(firmware)
    return firmware if firmware.suffix == ".hex" else firmware.with_suffix(".hex")


def firmware_hex(firmware: Path) -> Path:
    """The Intel HEX avrdude writes, made from the ELF with avr-objcopy when it is missing or
    older than the ELF."""
    firmware = Path(firmware)
    if not firmware.is_file():
        raise TinymlError(f"no firmware at {firmware}: build it first with `tinyml build`.")
    target = hex_path(firmware)
    if target == firmware or (target.is_file() and target.stat().st_mtime >= firmware.stat().st_mtime):
        return target
    from tinyml.tools.fs import atomic_file

    with atomic_file(target) as staging:
        done = proc.run([OBJCOPY, "-O", "ihex", "-R", ".eeprom", str(firmware), str(staging)],
                        timeout=60, what=f"converting {firmware.name} to Intel HEX")
        if done.returncode != 0:
            raise TinymlError(f"{OBJCOPY} could not convert {firmware} to Intel HEX "
                              f"({_last_error(done.stderr)}): is it an AVR firmware?")
    return target


def _last_error(output: str) -> str:
    """avrdude's most telling line: its last error, or its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1]


def run_avrdude(board: Board, hex_file: Path, port: str, timeout: float = AVRDUDE_TIMEOUT_S,
                echo=print) -> str:
    """Writes hex_file to the board on `port`; returns avrdude's output. The command is shown
    first (echo). A missing avrdude, a failed upload or one past `timeout` is one line naming
    the fix."""
    command = avrdude_command(board, hex_file, port)
    echo(show(command))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=proc.die_with_parent, env={**os.environ, "LC_ALL": "C"})
    except FileNotFoundError:
        raise TinymlError("avrdude is not installed: run `sudo apt-get install avrdude` "
                          "(or `make setup`), then flash again.") from None
    except subprocess.TimeoutExpired:  # subprocess.run has killed and reaped it
        raise TinymlError(f"avrdude did not finish within {timeout:g} s on {port} and was stopped: "
                          f"check that {port} is the {board.name} (`tinyml ports`), then unplug "
                          "it, plug it back in and flash again.") from None
    if done.returncode != 0:
        raise TinymlError(f"avrdude could not write the {board.name} on {port} (exit "
                          f"{done.returncode}: {_last_error(done.stderr + done.stdout)}): check "
                          f"that {port} is the board (`tinyml ports`) and that no serial monitor "
                          "has it open; press its reset button just before flashing if it keeps "
                          "failing.")
    return done.stderr + done.stdout
