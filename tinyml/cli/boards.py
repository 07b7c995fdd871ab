"""`tinyml boards`: the boards tinyml builds for."""

import click

from tinyml.boards import list_boards


def _size(n: int) -> str:
    return f"{n // 1024} KiB" if n < 1 << 20 else f"{n / (1 << 20):g} MiB"


@click.command("boards")
@click.option("--json", "as_json", is_flag=True, help="Print the definitions as JSON.")
def command(as_json: bool) -> None:
    """List the boards in boards/: core, clock, memory, how each is flashed.

    Emulated boards run here in QEMU (or as a host process); real boards need PlatformIO's
    platform for them, which is downloaded once (internet), except the Arduino Mega 2560
    (megaatmega2560): built offline with Debian's Arduino core, written with avrdude, and run
    in QEMU when no port is given.
    """
    boards = list_boards()
    if as_json:
        import dataclasses
        import json

        click.echo(json.dumps([dataclasses.asdict(b) for b in boards], indent=2))
        return
    width = max(len(flash_with(b)) for b in boards)
    header = (f"{'board':<18} {'core':<12} {'clock':>8} {'flash':>9} {'RAM':>9}  "
              f"{'flash with':<{width}} sensors")
    click.echo(header)
    click.echo("-" * len(header))
    for b in boards:
        clock = f"{b.clock_hz // 1_000_000} MHz" if b.clock_hz else "host"
        sensors = ", ".join(b.sensors) or "-"
        click.echo(f"{b.id:<18} {b.core:<12} {clock:>8} {_size(b.flash_bytes):>9} "
                   f"{_size(b.ram_bytes):>9}  {flash_with(b):<{width}} {sensors}")


def flash_with(board) -> str:
    """How `tinyml flash` puts a firmware on the board."""
    if board.upload_method == "avrdude":
        return "USB (avrdude), QEMU if no --port"
    return {"qemu": "QEMU", "native": "host pty", "platformio": "USB (pio)"}[board.flash_method]
