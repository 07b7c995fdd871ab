"""`tinyml ports`: the serial ports of this machine and the boards they look like."""

import click

from tinyml.link.ports import list_ports


@click.command("ports")
def command() -> None:
    """List serial ports with their USB VID:PID and the board each one looks like.

    Commands that take --port can leave it out when exactly one port matches their --board.
    Emulated boards have no port here: `tinyml flash --board emu-cortex-m4` prints theirs.
    """
    ports = list_ports()
    if not ports:
        click.echo("No serial ports found. Plug a board in (with a data cable), or start an "
                   "emulated one with `tinyml flash --board emu-cortex-m4`.")
        return
    guesses = [", ".join(p.boards) or p.vendor or "-" for p in ports]
    width = max(24, *(len(g) + 2 for g in guesses))
    click.echo(f"{'port':<16}{'USB id':<11}{'looks like':<{width}}description")
    for p, guess in zip(ports, guesses):
        click.echo(f"{p.device:<16}{p.vid_pid or '-':<11}{guess:<{width}}{p.description}")
