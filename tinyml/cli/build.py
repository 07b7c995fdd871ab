"""`tinyml build`: render the firmware for a board and build it with PlatformIO."""

from pathlib import Path

import click

from tinyml.boards import load_board
from tinyml.firmware import build_firmware
from tinyml.firmware.render import APPS, render_project


def default_build_dir(board_id: str, app: str) -> Path:
    return Path("build") / f"{app}-{board_id}"


def print_budget(built) -> None:
    """The size tool's own figures, then flash and RAM against the board's limits."""
    board = built.board
    click.echo(built.size_output)
    if board.arch == "host":
        return
    for what, used, limit in (("flash", built.flash_used, board.flash_bytes),
                              ("RAM", built.ram_used, board.ram_bytes)):
        click.echo(f"{what:<6}{used:>9,} / {limit:,} bytes ({100 * used / limit:.1f}%)")


@click.command("build")
@click.option("--board", "-b", "board_id", required=True, help="Board id, from `tinyml boards`.")
@click.option("--app", type=click.Choice(APPS), default="skeleton", show_default=True,
              help="What the firmware runs.")
@click.option("--out", "-o", type=click.Path(path_type=Path),
              help="Project folder to render into [default: build/APP-BOARD].")
@click.option("--render-only", is_flag=True,
              help="Write the PlatformIO project but do not build it (for real boards offline).")
def command(board_id: str, app: str, out: Path | None, render_only: bool) -> None:
    """Render firmware_templates/ for a board into a PlatformIO project and build it.

    \b
    Examples:
      tinyml build --board emu-cortex-m4
      tinyml build --board esp32dev --render-only -o esp32-project
    """
    board = load_board(board_id)
    out = out or default_build_dir(board.id, app)
    if render_only:
        build_id = render_project(board, out, app)
        click.echo(f"Rendered {board.id} project (build {build_id}) in {out}")
        return
    click.echo(f"Building {app} firmware for {board.id} ({board.name}) in {out} ...")
    built = build_firmware(board, out, app)
    click.echo(f"Firmware: {built.firmware} (build {built.build_id})")
    print_budget(built)
