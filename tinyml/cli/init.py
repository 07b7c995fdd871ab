"""`tinyml init`: a project folder for your own words or your own machine's data."""

from pathlib import Path

import click

from tinyml.errors import TinymlError
from tinyml.train.config import KwsTrainConfig, VibrationTrainConfig, to_toml

SCRIPT = '''"""Train, convert, build and validate {app} with the tinyml Python API.

    python train.py            # the whole pipeline, as `tinyml run {app} --config config.toml`
    python train.py --quick    # a small model first, in a few minutes
"""

import sys
from pathlib import Path

from tinyml.pipeline import run_pipeline

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    quick = "--quick" in sys.argv
    result = run_pipeline("{app}", board="{board}", config=None if quick else HERE / "config.toml",
                          quick=quick, runs_root=HERE / "runs")
    print(result.summary())
'''

README = '''# {name}

A tinyml project: {what}.

    tinyml run {app} --config config.toml --runs runs    # or: python train.py

`config.toml` holds every training setting with its default; `dataset` points at your data:
{data}

Each stage (data, training, int8 conversion, firmware, validation on `{board}`) is skipped
when nothing it depends on changed, so re-running after an edit redoes only what the edit
touched. The report of each run is `runs/{app}-.../report.html`.
'''

DATA = {
    "kws": "a folder made by `tinyml datasets import speech-commands DIR` (your own words in the\n"
           "Google Speech Commands layout: one folder of 1 s, 16 kHz WAV clips per word), or empty\n"
           "for the synthetic set.",
    "vibration": "a folder made by `tinyml datasets import cwru DIR` (CWRU-format .mat files of your\n"
                 "machine), or empty for the synthetic bearing set.",
}


@click.command("init")
@click.argument("name", type=click.Path(path_type=Path))
@click.option("--app", type=click.Choice(["kws", "vibration"]), required=True)
@click.option("--board", "-b", default="emu-cortex-m4", show_default=True)
def command(name: Path, app: str, board: str) -> None:
    """Create a project folder NAME: a config with every setting, a training script that uses
    the Python API, and a README.

    \b
    Example:
      tinyml init my-words --app kws && cd my-words && python train.py --quick
    """
    if name.exists() and any(name.iterdir()):
        raise TinymlError(f"{name} exists and is not empty: choose a new project name.")
    name.mkdir(parents=True, exist_ok=True)
    config = KwsTrainConfig() if app == "kws" else VibrationTrainConfig()
    what = "keyword spotting on your words" if app == "kws" else "anomaly detection on your machine's vibration"
    (name / "config.toml").write_text(f"# {app} training settings (tinyml {app} defaults)\n" + to_toml(config))
    (name / "train.py").write_text(SCRIPT.format(app=app, board=board))
    (name / "README.md").write_text(README.format(name=name.name, app=app, what=what, board=board,
                                                  data=DATA[app]))
    click.echo(f"Created {name}/ (config.toml, train.py, README.md). Next: cd {name} && python train.py --quick")
