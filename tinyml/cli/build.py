"""`tinyml build`: render the firmware for a board and build it with PlatformIO."""

from pathlib import Path

import click

from tinyml.boards import load_board
from tinyml.errors import TinymlError
from tinyml.firmware import build_app, build_firmware
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


def run_option(function):
    return click.option("--run", "-r", "run_dir", type=click.Path(path_type=Path),
                        help="Training run folder (runs/APP-...) whose model the kws or "
                        "vibration app runs; for kws also a bare int8 .tflite, such as the MLPerf "
                        "Tiny reference model.")(function)


def listen_options(function):
    """kws live mode: how often the model runs and how its thresholds are chosen."""
    function = click.option("--every", type=click.IntRange(1, 50), default=2, show_default=True,
                            help="kws live mode: run the model every this many 20 ms hops (more: less "
                                 "CPU, later detections; `tinyml stream` shows the trade-off).")(function)
    return click.option("--target-fa-per-hour", type=click.FloatRange(min=0.0),
                        help="kws live mode: per-keyword thresholds chosen on the run's validation "
                             "split for at most this many false accepts an hour [default: one "
                             "probability, 0.7, for every keyword].")(function)


def capture_option(function):
    return click.option("--capture", is_flag=True,
                        help="kws: keep a one-second clip buffer (32 KB of RAM at 16 kHz) so that "
                             "`tinyml capture` can record clips from the board's microphone; without it "
                             "the firmware keeps only the 30 ms its streaming front-end needs.")(function)


def live_settings(every: int = 2, target_fa_per_hour: float | None = None):
    from tinyml.firmware.apps import LiveSettings

    return LiveSettings(every=every, target_fa_per_hour=target_fa_per_hour)


def build_any(board, app: str, run_dir: Path | None, out: Path, render_only: bool = False, live=None,
              capture: bool = False):
    """Builds (or renders) `app` for `board`, printing the memory budget; returns the firmware
    path, or None when only rendered."""
    if app == "skeleton":
        if render_only:
            build_id = render_project(board, out, app)
            click.echo(f"Rendered {board.id} project (build {build_id}) in {out}")
            return None
        click.echo(f"Building skeleton firmware for {board.id} ({board.name}) in {out} ...")
        built = build_firmware(board, out, app)
        click.echo(f"Firmware: {built.firmware} (build {built.build_id})")
        print_budget(built)
        return built.firmware
    if run_dir is None:
        raise TinymlError(f"the {app} app runs a trained model: pass its run folder with --run "
                          f"(`tinyml train {app}` makes one in runs/).")
    click.echo(f"Compiling {run_dir} and {'rendering' if render_only else 'building'} the {app} "
               f"firmware for {board.id} ({board.name}) in {out} ...")
    if app == "kws" and live is not None and live.target_fa_per_hour is not None:
        click.echo(f"Choosing thresholds on the run's validation split for {live.target_fa_per_hour:g} "
                   "false accepts an hour ...")
    result = build_app(app, run_dir, board, out, render_only=render_only, live=live, capture=capture)
    if result.built is None:
        click.echo(result.estimate.table())
        click.echo(f"Rendered {board.id} project (build {result.build_id}) in {out}")
        return None
    click.echo((result.budget or result.estimate).table())
    click.echo(f"Firmware: {result.built.firmware} (build {result.build_id})")
    return result.built.firmware


@click.command("build")
@click.option("--board", "-b", "board_id", required=True, help="Board id, from `tinyml boards`.")
@click.option("--app", type=click.Choice(APPS), default="skeleton", show_default=True,
              help="What the firmware runs: kws or vibration (a trained model, with --run), or "
              "skeleton (the serial link only).")
@run_option
@click.option("--out", "-o", type=click.Path(path_type=Path),
              help="Project folder to render into [default: build/APP-BOARD].")
@click.option("--render-only", is_flag=True,
              help="Write the PlatformIO project but do not build it (for real boards offline).")
@listen_options
@capture_option
def command(board_id: str, app: str, run_dir: Path | None, out: Path | None, render_only: bool,
            every: int, target_fa_per_hour: float | None, capture: bool) -> None:
    """Render firmware_templates/ for a board into a PlatformIO project and build it.

    The kws and vibration apps compile the run's int8 model to C, add the C front-end, and
    print the memory budget (model weights, arena, buffers, code, stack) against the board;
    a firmware that cannot fit is refused before building.

    \b
    Examples:
      tinyml build --board emu-cortex-m4 --app kws --run runs/kws-20261122-101500
      tinyml build --board emu-arduino-mega --app vibration --run runs/vibration-...
      tinyml build --board esp32dev --app kws --run runs/kws-... --render-only -o esp32-kws
      tinyml build --board native                      # the skeleton: link check only
      tinyml build -b nano33ble --app kws --run runs/kws-... --every 4 --target-fa-per-hour 1
      tinyml build -b nano33ble --app kws --run runs/kws-... --capture   # for `tinyml capture`
    """
    board = load_board(board_id)
    build_any(board, app, run_dir, out or default_build_dir(board.id, app), render_only,
              live_settings(every, target_fa_per_hour), capture)
