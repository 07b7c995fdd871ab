"""`tinyml tune`: search the model and front-end that fit a board best (tinyml.tune)."""

from __future__ import annotations

from pathlib import Path

import click

from tinyml.errors import TinymlError

APPS = ("kws", "vibration")


def _latest_tune(root: Path = Path("runs")) -> Path:
    folders = sorted((p for p in root.glob("tune-*") if (p / "report.json").is_file()),
                     key=lambda p: (p / "report.json").stat().st_mtime)
    if not folders:
        raise TinymlError(f"no tune folder in {root}/: run `tinyml tune kws|vibration --board B` first, "
                          "or name the folder: `tinyml tune DIR --apply N`")
    return folders[-1]


@click.command("tune")
@click.argument("target", required=False)
@click.option("--board", "-b", "board_id", help="Board id, from `tinyml boards`: its RAM, flash and clock.")
@click.option("--max-latency-ms", type=float, help="Refuse candidates whose model takes longer at the "
              "board's clock (estimated instructions, one a cycle).")
@click.option("--trials", "-n", type=int, default=40, show_default=True,
              help="Finished trials the study should have (a resumed or shared study counts all of them).")
@click.option("--storage", help="A shared study database, e.g. postgresql://USER:PASSWORD@HOST:5432/DB: "
              "the same command on every machine joins one study [default: SQLite in the tune folder].")
@click.option("--run-dir", type=click.Path(path_type=Path), help="The tune folder "
              "[default: runs/tune-APP-BOARD[-Xms]; the same command resumes it].")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Training settings the "
              "candidates start from (dataset, epochs for --apply, ...), as `tinyml train --config` takes.")
@click.option("--epochs", type=int, help="Most epochs per trial [default: kws 12, vibration 40, at most "
              "the config's]; each trial also stops early.")
@click.option("--sampler", type=click.Choice(["tpe", "nsga2"]), default="tpe", show_default=True,
              help="Optuna's multi-objective sampler.")
@click.option("--no-qemu", is_flag=True, help="Do not measure the Pareto front on the emulator.")
@click.option("--apply", "apply_number", type=int, help="Write trial N as a config for "
              "`tinyml train --config` (from TARGET's folder, or the latest tune).")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="With --apply: where to write it "
              "[default: DIR/candidate-N.toml].")
def command(target, board_id, max_latency_ms, trials, storage, run_dir, config_path, epochs, sampler, no_qemu,
            apply_number, output) -> None:
    """Search the network's shape and the front-end for the best models that fit a board.

    Every candidate is compiled by our engine before training: one whose firmware does not
    fit the board's RAM and flash, or whose model is slower than --max-latency-ms, is
    recorded as infeasible and never trained. The others train briefly (early stopping,
    hopeless ones pruned), are converted to int8 and scored on the validation split.
    Objectives: accuracy (kws) or AUC (vibration), and latency. At the end: the Pareto
    front as a table, DIR/report.json and DIR/pareto.png, and the front's instruction
    estimate checked on the emulated Cortex-M4 or M55.

    Interrupted? Run the same command again: finished trials are kept. Many machines?
    Give each the same command with one --storage postgresql://... .

    \b
    Examples:
      tinyml tune kws --board nano33ble --max-latency-ms 50 --trials 40
      tinyml tune vibration --board emu-arduino-mega --trials 20
      tinyml tune kws -b nano33ble --storage postgresql://tune:secret@db.lan/tinyml   # on each machine
      tinyml tune runs/tune-kws-nano33ble-50ms                # the Pareto front again
      tinyml tune runs/tune-kws-nano33ble-50ms --apply 17     # trial 17 as a training config
      tinyml train kws --config runs/tune-kws-nano33ble-50ms/candidate-17.toml
    """
    from tinyml.tune import report

    if apply_number is not None:
        if target in APPS:
            if board_id is None and run_dir is None:
                raise TinymlError("--apply needs the tune folder: `tinyml tune DIR --apply N` (or the app "
                                  "with the --board of its tune)")
            folder = run_dir or _default_folder(target, board_id, max_latency_ms)
        else:
            folder = Path(target) if target else (run_dir or _latest_tune())
        path, _ = report.apply(folder, apply_number, output)
        click.echo(f"Wrote {path}: trial {apply_number} as a training config. Train it with:")
        click.echo(f"  tinyml train {report.read_report(folder)['settings']['app']} --config {path}")
        return
    if target is None:
        raise TinymlError("name what to tune: `tinyml tune kws --board B` or `tinyml tune vibration --board B` "
                          "(or a tune folder to show)")
    if target not in APPS:
        folder = Path(target)
        if not folder.is_dir():
            raise TinymlError(f"{target} is neither an app (kws, vibration) nor a tune folder")
        _show(folder)
        return
    if board_id is None:
        raise TinymlError(f"--board is required: the board to tune {target} for (`tinyml boards` lists them)")
    result = _run(target, board_id, max_latency_ms, trials, storage, run_dir, config_path, epochs, sampler,
                  not no_qemu)
    _print_result(result)


def _default_folder(app: str, board_id: str, max_latency_ms) -> Path:
    latency = f"-{max_latency_ms:g}ms" if max_latency_ms is not None else ""
    return Path("runs") / f"tune-{app}-{board_id}{latency}"


def _run(app, board_id, max_latency_ms, trials, storage, run_dir, config_path, epochs, sampler, check_qemu):
    from tinyml.boards import load_board
    from tinyml.train.config import load_config
    from tinyml.tune import TuneSettings, run_tune
    from tinyml.tune.space import config_class

    load_board(board_id)  # an unknown board is refused before anything is loaded
    if epochs is not None and epochs < 1:
        raise TinymlError(f"--epochs must be at least 1, not {epochs}")
    base = load_config(config_class(app), config_path)
    settings = TuneSettings(app, board_id, base, trials=trials, max_latency_ms=max_latency_ms, storage=storage,
                            run_dir=run_dir, trial_epochs=epochs, sampler=sampler, check_qemu=check_qemu)
    return run_tune(settings)


def _print_result(result) -> None:
    from tinyml.boards import load_board
    from tinyml.tune import report

    data = report.read_report(result.folder)
    statuses = ", ".join(f"{v} {k}" for k, v in sorted(data["statuses"].items()))
    click.secho(f"Study {result.study_name}: {statuses}; this run finished {result.ran} in {result.seconds:.0f} s",
                bold=True)
    _front(data, result.pareto, load_board(data["board"]))
    click.echo(f"Report: {result.report}" + (f" and {result.plot}" if result.plot else ""))
    if result.pareto:
        click.echo(f"Apply one: tinyml tune {result.folder} --apply {result.pareto[-1]['number']}")


def _front(data: dict, front: list[dict], board) -> None:
    from tinyml.tune import report

    app = data["settings"]["app"]
    if not front:
        click.echo("No candidate has completed: no Pareto front yet.")
        return
    from tinyml.tune.cost import calibrated_cores

    metric = "accuracy" if app == "kws" else "AUC"
    timing = (f"latency of the model at {board.clock_hz / 1e6:g} MHz, one instruction a cycle"
              if board.core in calibrated_cores() else
              f"instructions: the Cortex-M4 estimate, {board.core} has no calibrated figures")
    click.echo(f"Pareto front on {board.id} (validation {metric} of the int8 model; {timing}):")
    for line in report.table(front, app, board):
        click.echo(line)


def _show(folder: Path) -> None:
    from tinyml.boards import load_board
    from tinyml.tune import report

    data = report.read_report(folder)
    by_number = {r["number"]: r for r in data["trials"]}
    front = [by_number[n] for n in data["pareto"] if n in by_number]
    statuses = ", ".join(f"{v} {k}" for k, v in sorted(data["statuses"].items()))
    click.secho(f"{folder}: study {data['study']}: {statuses}", bold=True)
    _front(data, front, load_board(data["board"]))
