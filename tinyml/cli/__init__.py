"""The `tinyml` command: a thin layer over the Python API, one module per command."""

from __future__ import annotations

import sys

import click

from tinyml import __version__
from tinyml.cli import (boards, build, calibrate, capture, compile, datasets, doctor, export, features, flash, info, init,
                        monitor, ports, run, stream, train, tune, validate)
from tinyml.tflite.flatbuffer import ModelError
from tinyml.errors import TinymlError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinyml")
def cli() -> None:
    """tinyml: from data to a validated microcontroller firmware.

    \b
    The whole pipeline in one command, resumable:
      tinyml run kws                     data -> model -> int8 -> C -> firmware -> board -> report
      tinyml init my-words --app kws     a project for your own data, with a training script

    \b
    The pipeline, one command per stage:
      tinyml datasets make kws           synthetic keyword audio (or import a real set)
      tinyml datasets download speech-commands   the real Speech Commands v0.02 (needs internet)
      tinyml features kws -o f.npz       the front-end's int8 features
      tinyml train kws                   Keras model -> int8 TFLite, checked in TFLite Micro
      tinyml evaluate runs/kws-...       float / TFLite int8 / TFLM int8 side by side
      tinyml evaluate RUN --dataset DIR  score a run on any data (real recordings too)
      tinyml tune kws -b B               search the model and front-end that fit a board best
      tinyml compile model.tflite -o DIR  an int8 model becomes plain C (our engine)
      tinyml boards                      what you can build for
      tinyml build -b B --app A --run R  the firmware for a board, with its memory budget
      tinyml flash -b B --app A --run R  put it on a board (emulated boards start in QEMU)
      tinyml export R --arduino-library L.zip  the run as a library for your own sketch
      tinyml info --port URL             ask the firmware who it is
      tinyml validate --run R --board B  the test split on the board, checked against TFLM
      tinyml monitor --port URL          watch the firmware's live detections
      tinyml stream RUN WAV              the device's listening loop on a recording, on the host
      tinyml capture -p URL -l yes -n 20   the board's own sensor into a dataset folder
      tinyml calibrate -p URL --seconds 60   fit the vibration model to the machine it watches
      tinyml ports                       serial ports and the boards they look like
      tinyml doctor                      check the whole loop on an emulated board

    Run `tinyml COMMAND --help` for each command's options and examples.
    """


for command in (run.command, init.command, datasets.command, features.command,
                train.train_command, train.convert_command,
                train.evaluate_command, compile.command, boards.command, build.command,
                flash.command, info.command, validate.command, monitor.command, ports.command,
                doctor.command, export.command, tune.command, stream.command, capture.command,
                calibrate.command):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except (TinymlError, ModelError) as exc:  # DeviceError is a TinymlError
        click.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
