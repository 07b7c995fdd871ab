"""`tinyml flash`: put a firmware on a board; emulated boards start and keep running."""

import signal
from pathlib import Path

import click

from tinyml.boards import load_board
from tinyml.cli.build import build_any, default_build_dir, run_option
from tinyml.errors import TinymlError
from tinyml.firmware.render import APPS
from tinyml.flash import check_port, start_board, upload
from tinyml.flash.emulator import wait_until_stopped


def _interrupt(signum, frame):
    """SIGTERM stops an emulator as cleanly as Ctrl-C: it is reaped either way."""
    raise KeyboardInterrupt


@click.command("flash")
@click.option("--board", "-b", "board_id", required=True, help="Board id, from `tinyml boards`.")
@click.option("--port", "-p", help="Real board: serial port (/dev/ttyACM0) [default: the one port "
              "whose USB id is the board's]. Emulated board: the loopback TCP port its UART "
              "listens on [default: a free one].")
@click.option("--firmware", "-f", type=click.Path(path_type=Path),
              help="A built firmware (ELF) to run instead of building one.")
@click.option("--app", type=click.Choice(APPS), default="skeleton", show_default=True,
              help="What to build when no --firmware is given (see `tinyml build --help`).")
@run_option
@click.option("--seconds", type=float, help="Emulated boards: stop after this long "
              "[default: run until Ctrl-C].")
def command(board_id: str, port: str | None, firmware: Path | None, app: str,
            run_dir: Path | None, seconds: float | None) -> None:
    """Flash a board. Real boards go through PlatformIO's upload; emulated boards start in
    QEMU (or as a host process) and print the pyserial URL of their UART.

    \b
    Examples:
      tinyml flash --board emu-cortex-m4          # prints socket://127.0.0.1:PORT
      tinyml info --port socket://127.0.0.1:PORT  # in another terminal
      tinyml flash --board emu-cortex-m4 --app kws --run runs/kws-20261122-101500
      tinyml flash --board esp32dev --port /dev/ttyUSB0
    """
    board = load_board(board_id)
    if board.flash_method == "platformio":
        port = check_port(board, port)  # before a long build, not after it
    if firmware is None:
        out = default_build_dir(board.id, app)
        firmware = build_any(board, app, run_dir, out, render_only=board.flash_method == "platformio")
        project = out
    else:
        project = None
    if board.flash_method == "platformio":
        if project is None:
            raise TinymlError("real boards are flashed from their PlatformIO project: "
                              "drop --firmware and let `tinyml flash` build it.")
        upload(board, project, port)
        click.echo(f"Flashed {board.id} on {port}.")
        return

    signal.signal(signal.SIGTERM, _interrupt)
    with start_board(board, firmware, port) as running:
        click.echo(f"{board.id} is running {firmware}")
        click.echo(f"Serial: {running.url}")
        click.echo("Press Ctrl-C to stop." if seconds is None else f"Stopping in {seconds:g} s.")
        try:
            code = wait_until_stopped(running, seconds)
        except KeyboardInterrupt:
            code = None
        if code is not None:
            tail = " | ".join(running.log[-5:])
            raise TinymlError(f"the emulator for {board.id} exited with code {code}: {tail}")
    click.echo(f"Stopped {board.id}.")
