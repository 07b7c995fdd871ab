"""`tinyml run`: the whole pipeline in one command, resumable."""

from pathlib import Path

import click

from tinyml.pipeline import run_pipeline


@click.command("run")
@click.argument("app", type=click.Choice(["kws", "vibration"]))
@click.option("--board", "-b", "board_id", default="emu-cortex-m4", show_default=True,
              help="Board to build for and validate on.")
@click.option("--config", "-c", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Training config (TOML); `tinyml init` writes one with every setting.")
@click.option("--quick", is_flag=True, help="A small model on a small set, 100-150 samples "
              "validated: the whole story in a few minutes.")
@click.option("--limit", "-n", type=int, help="Validate this many test samples [default: all].")
@click.option("--runs", "runs_root", type=click.Path(path_type=Path), default=Path("runs"),
              show_default=True, help="Where runs and the pipeline's state live.")
@click.option("--dataset", help="Train on this dataset folder, or on `speech-commands` (what "
              "`tinyml datasets download speech-commands` imported) [default: the config's, else synthetic].")
def command(app: str, board_id: str, config: Path | None, quick: bool, limit: int | None,
            runs_root: Path, dataset: str | None) -> None:
    """Run every stage: data, training and int8 conversion (checked in TFLite Micro), the
    compiled C model in a firmware for the board, validation on the board, and a report.

    Each stage is skipped when its inputs have not changed since the last run, so a second
    `tinyml run` only rewrites the report.

    \b
    Examples:
      tinyml run kws                              # the embedded default: emulated Cortex-M4
      tinyml run vibration --board emu-arduino-mega
      tinyml run kws --quick                      # a first look in a few minutes
      tinyml run kws --config my-words/config.toml
      tinyml run kws --dataset speech-commands    # after `tinyml datasets download speech-commands`
    """
    result = run_pipeline(app, board_id, config=config, quick=quick, limit=limit,
                          runs_root=runs_root, echo=click.echo, dataset=dataset)
    click.echo("")
    click.echo(result.summary())
