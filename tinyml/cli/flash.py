"""`tinyml flash`: put a firmware on a board; emulated boards start and keep running."""

import signal
from pathlib import Path

import click

from tinyml.boards import Board, load_board
from tinyml.cli.build import (build_any, capture_option, default_build_dir, listen_options, live_settings,
                              run_option)
from tinyml.errors import TinymlError
from tinyml.firmware.build import pio_command
from tinyml.firmware.render import APPS
from tinyml.flash import check_port, start_board, upload
from tinyml.flash.emulator import is_tcp_port, wait_until_stopped


def _interrupt(signum, frame):
    """SIGTERM stops an emulator as cleanly as Ctrl-C: it is reaped either way."""
    raise KeyboardInterrupt


def _uploads(board: Board, port: str | None) -> bool:
    """Whether this flash writes a real board: always for PlatformIO boards; for avrdude boards
    when the port is a serial device (none, or a TCP port, starts the emulator)."""
    if board.flash_method == "platformio":
        return True
    return board.upload_method == "avrdude" and port is not None and not is_tcp_port(port)


def _note_plugged_in(board: Board) -> None:
    """An avrdude board started in QEMU while one is plugged in: say how to write that one."""
    from tinyml.link.ports import list_ports

    for found in list_ports():
        if board.id in found.boards:
            click.echo(f"note: {found.device} ({found.vid_pid}) looks like a {board.id}: add "
                       f"--port {found.device} to write it with avrdude instead.")


def _dry_run(board: Board, port: str | None, firmware: Path | None, app: str) -> None:
    click.echo("Dry run: nothing is built or written.")
    if board.upload_method == "avrdude":
        from tinyml.flash.avrdude import avrdude_command, hex_path, show

        if firmware is None:
            out = default_build_dir(board.id, app)
            click.echo(f"It would build the {app} firmware for {board.id} in {out}, then run:")
            firmware = out.resolve() / ".pio" / "build" / board.env / "firmware.hex"
        else:
            click.echo("It would run:")
        click.echo(show(avrdude_command(board, hex_path(firmware), port)))
        return
    out = default_build_dir(board.id, app)
    from shlex import join

    click.echo(f"It would render the {app} project for {board.id} in {out}, then run:")
    click.echo(join(pio_command("run", "-d", str(out), "-e", board.env, "-t", "upload",
                                "--upload-port", port)))


@click.command("flash")
@click.option("--board", "-b", "board_id", required=True, help="Board id, from `tinyml boards`.")
@click.option("--port", "-p", help="Real board: serial port (/dev/ttyACM0) [default: the one port "
              "whose USB id is the board's]. Emulated board: the loopback TCP port its UART "
              "listens on [default: a free one]. A board that also runs in QEMU (megaatmega2560): "
              "a serial port writes the board with avrdude, no port or a TCP port starts QEMU.")
@click.option("--firmware", "-f", type=click.Path(path_type=Path),
              help="A built firmware (ELF; or HEX for avrdude) to use instead of building one.")
@click.option("--app", type=click.Choice(APPS), default="skeleton", show_default=True,
              help="What to build when no --firmware is given (see `tinyml build --help`).")
@run_option
@click.option("--seconds", type=float, help="Emulated boards: stop after this long "
              "[default: run until Ctrl-C].")
@click.option("--dry-run", is_flag=True, help="Real boards: print the upload command (avrdude's, "
              "or PlatformIO's) without building or writing anything; the port need not exist.")
@listen_options
@capture_option
def command(board_id: str, port: str | None, firmware: Path | None, app: str,
            run_dir: Path | None, seconds: float | None, dry_run: bool, every: int,
            target_fa_per_hour: float | None, capture: bool) -> None:
    """Flash a board. Real boards go through PlatformIO's upload (the Arduino Mega through
    avrdude, printing its command); emulated boards start in QEMU (or as a host process) and
    print the pyserial URL of their UART.

    \b
    Examples:
      tinyml flash --board emu-cortex-m4          # prints socket://127.0.0.1:PORT
      tinyml info --port socket://127.0.0.1:PORT  # in another terminal
      tinyml flash --board emu-cortex-m4 --app kws --run runs/kws-20261122-101500
      tinyml flash --board esp32dev --port /dev/ttyUSB0
      tinyml flash --board megaatmega2560 --app vibration --run runs/vibration-... --port /dev/ttyACM0
      tinyml flash --board megaatmega2560 --port /dev/ttyACM0 --dry-run   # the avrdude command
      tinyml flash --board megaatmega2560         # no port: the same firmware in QEMU
    """
    board = load_board(board_id)
    live = live_settings(every, target_fa_per_hour)
    uploads = _uploads(board, port)
    if dry_run:
        if not uploads or port is None:
            raise TinymlError(f"--dry-run prints the command that writes a real board: add the "
                              f"serial port, e.g. `tinyml flash --board {board.id} --port "
                              "/dev/ttyACM0 --dry-run`.")
        _dry_run(board, port, firmware, app)
        return
    if uploads:
        port = check_port(board, port)  # before a long build, not after it
    if board.upload_method == "avrdude" and uploads:
        from tinyml.flash.avrdude import firmware_hex, run_avrdude

        if firmware is None:
            firmware = build_any(board, app, run_dir, default_build_dir(board.id, app), live=live,
                                 capture=capture)
        run_avrdude(board, firmware_hex(firmware), port, echo=click.echo)
        click.echo(f"Flashed {board.id} on {port}.")
        return
    if firmware is None:
        out = default_build_dir(board.id, app)
        firmware = build_any(board, app, run_dir, out, render_only=board.flash_method == "platformio", live=live,
                             capture=capture)
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

    if board.upload_method == "avrdude":
        _note_plugged_in(board)
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
