"""`tinyml monitor`: watch a running firmware's live mode."""

import time

import click
import serial

from tinyml.boards import load_board
from tinyml.errors import TinymlError
from tinyml.link import open_device
from tinyml.link.client import LINK_ERRORS, link_error_text


@click.command("monitor")
@click.option("--port", "-p", required=True, help="pyserial URL: /dev/ttyACM0, socket://127.0.0.1:PORT.")
@click.option("--board", "-b", "board_id", help="Board id: takes the baud rate from its board file.")
@click.option("--baud", type=int, help="Baud rate [default: the board's, else 115200].")
@click.option("--live/--no-live", default=True, show_default=True,
              help="Switch the firmware to live mode first (it leaves it when a host sends data).")
@click.option("--seconds", type=float, help="Stop after this long [default: until Ctrl-C].")
def command(port: str, board_id: str | None, baud: int | None, live: bool, seconds: float | None) -> None:
    """Print what a firmware in live mode reports: detections (kws), window scores and
    alarms (vibration).

    \b
    Example:
      tinyml monitor --port /dev/ttyACM0 --board nano33ble
    """
    baud = baud or (load_board(board_id).serial.baud if board_id else 115200)
    device = open_device(port, baud=baud)
    if live:
        device.set_live(True)
    link: serial.SerialBase = device.port
    deadline = None if seconds is None else time.monotonic() + seconds
    pending = b""
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                pending += link.read(4096)
            except LINK_ERRORS as exc:
                raise TinymlError(f"lost {port} ({link_error_text(exc)}).") from None
            *lines, pending = pending.replace(b"\x00", b"\n").split(b"\n")
            for line in lines:
                text = line.strip(b"\r").decode("ascii", "replace")
                if text and text.isprintable():
                    click.echo(text)
    except KeyboardInterrupt:
        pass
    finally:
        device.close()
