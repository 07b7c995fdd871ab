"""`tinyml features`: the front-end's int8 features of a dataset, to .npz."""

from pathlib import Path

import click
import numpy as np

from tinyml.cli.datasets import resolve
from tinyml.datasets import load
from tinyml.features import kws_features, vibration_features
from tinyml.train.config import KwsTrainConfig


@click.command("features")
@click.argument("dataset")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True,
              help="The .npz to write: features (int8), labels, split.")
def command(dataset: str, out: Path) -> None:
    """Compute a dataset's int8 features with the reference front-end of `tinyml train`'s
    defaults (the C front-end on the device computes the same bytes).

    \b
    Example:
      tinyml features kws -o kws_features.npz
    """
    data = load(resolve(dataset))
    with click.progressbar(length=1, label="computing features") as bar:
        if data.kind == "kws":
            x = kws_features(data.x, KwsTrainConfig().frontend())
        else:
            x = vibration_features(data.x)
        bar.update(1)
    np.savez(out, features=x, labels=data.labels, split=data.split, classes=np.array(data.classes))
    click.echo(f"Wrote {x.shape} int8 features to {out}")
