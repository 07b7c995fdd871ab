"""`tinyml doctor`: prove the whole loop works here, from templates to a board answering on serial."""

import shutil
import time

import click

from tinyml.boards import load_board
from tinyml.cli.build import default_build_dir, print_budget
from tinyml.errors import TinymlError
from tinyml.firmware import build_firmware
from tinyml.flash import start_board
from tinyml.link import open_device
from tinyml.pio import offline

TOOLS = {
    "arm": ["arm-none-eabi-gcc", "qemu-system-arm"],
    "avr": ["avr-gcc", "qemu-system-avr"],
    "host": ["gcc"],
}


@click.command("doctor")
@click.option("--board", "-b", "board_ids", multiple=True, default=["emu-cortex-m4"],
              show_default=True, help="Emulated board(s) to check; repeat the option for more.")
def command(board_ids: tuple[str, ...]) -> None:
    """Check the toolchain and the serial loop: for each board, build the skeleton firmware with
    PlatformIO, start the board, ask it `info` over pyserial, and stop it.

    \b
    Example:
      tinyml doctor -b emu-cortex-m4 -b emu-arduino-mega -b native
    """
    if not offline.is_installed():
        raise TinymlError("PlatformIO's tool-scons is missing: run `make setup` (or "
                          "`python -m tinyml.pio.offline`).")
    for board_id in board_ids:
        board = load_board(board_id)
        missing = [t for t in TOOLS.get(board.arch, []) if shutil.which(t) is None]
        if missing:
            raise TinymlError(f"{board.id} needs {', '.join(missing)}: run `make setup`.")
        click.secho(f"== {board.id}: {board.name}", bold=True)
        built = build_firmware(board, default_build_dir(board.id, "skeleton"))
        click.echo(f"built {built.firmware} (build {built.build_id})")
        print_budget(built)
        with start_board(board, built.firmware) as running:
            click.echo(f"started; UART at {running.url}")
            start = time.monotonic()
            with open_device(running.url, baud=board.serial.baud) as device:
                info = device.info()
            elapsed = (time.monotonic() - start) * 1000
        if info.get("build") != built.build_id:
            raise TinymlError(f"{board.id} answered with build {info.get('build')}, expected "
                              f"{built.build_id}: the emulator ran a different firmware.")
        click.echo("info: " + ", ".join(f"{k}={v}" for k, v in info.items()))
        click.secho(f"OK: {board.id} answered over serial in {elapsed:.0f} ms, then stopped.",
                    fg="green")
