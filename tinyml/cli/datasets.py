"""`tinyml datasets`: make, import and look at datasets."""

from __future__ import annotations

import time
from pathlib import Path

import click

from tinyml.datasets import (KwsConfig, VibrationConfig, cache_dir, cached, dataset_folder, import_cwru,
                             import_speech_commands, load, save)
from tinyml.datasets.store import SPLITS
from tinyml.errors import TinymlError


@click.group("datasets")
def command() -> None:
    """Make the synthetic datasets, import real ones, and look at what you have.

    \b
    Examples:
      tinyml datasets make kws                       # espeak-ng keywords, cached
      tinyml datasets make vibration --seed 1
      tinyml datasets import speech-commands ~/speech_commands_v0.02 -o datasets/cache/sc
      tinyml datasets import cwru ~/cwru -o datasets/cache/cwru
      tinyml datasets show kws --png kws.png
    """


@command.command("make")
@click.argument("kind", type=click.Choice(["kws", "vibration"]))
@click.option("--seed", default=0, show_default=True, help="Everything follows from it.")
@click.option("--clips-per-class", type=int, help="KWS: clips per keyword [default: 2000].")
@click.option("--silence-clips", type=int, help="KWS: silence clips [default: 1000; `tinyml train` "
              "uses half of --clips-per-class].")
@click.option("--windows", type=int, help="Vibration: normal windows [default: 4000].")
@click.option("--force", is_flag=True, help="Generate again even if cached.")
def make(kind: str, seed: int, clips_per_class: int | None, silence_clips: int | None, windows: int | None,
         force: bool) -> None:
    """Generate a synthetic dataset offline (cached under datasets/cache/; a damaged cached
    one is generated again)."""
    from tinyml.datasets import kws_synth, vibration_synth

    if kind == "kws":
        given = {"clips_per_class": clips_per_class, "silence_clips": silence_clips}
        config = KwsConfig(seed=seed, **{k: v for k, v in given.items() if v is not None})
        build = kws_synth.generate
    else:
        config = VibrationConfig(seed=seed, **({"normal_windows": windows} if windows else {}))
        build = vibration_synth.generate
    folder = dataset_folder(kind, config)
    start = time.monotonic()
    if force:
        dataset = build(config)
        save(dataset, folder)
    else:
        dataset, built = cached(folder, lambda: build(config))
        if not built:
            click.echo(f"Cached: {folder}")
            return
    click.echo(f"Made {len(dataset.x):,} {kind} examples in {time.monotonic() - start:.0f} s: {folder}")


@command.command("import")
@click.argument("layout", type=click.Choice(["speech-commands", "cwru"]))
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Dataset folder to write "
              "[default: datasets/cache/<layout>].")
@click.option("--rate", default=12000, show_default=True, help="CWRU: the files' sample rate.")
def import_(layout: str, source: Path, out: Path | None, rate: int) -> None:
    """Import a real dataset from its published layout."""
    if layout == "speech-commands":
        dataset = import_speech_commands(source)
    else:
        dataset = import_cwru(source, source_rate=rate)
    out = out or cache_dir() / layout
    save(dataset, out)
    click.echo(f"Imported {len(dataset.x):,} examples into {out}")


def resolve(name: str) -> Path:
    """A dataset folder, or `kws` / `vibration` for the default synthetic ones."""
    if name in ("kws", "vibration"):
        return dataset_folder(name, KwsConfig() if name == "kws" else VibrationConfig())
    return Path(name)


@command.command("show")
@click.argument("dataset")
@click.option("--png", type=click.Path(path_type=Path), help="Also draw example spectrograms here.")
def show(dataset: str, png: Path | None) -> None:
    """Counts per class and split; with --png, a picture of examples per class."""
    folder = resolve(dataset)
    if not (folder / "meta.json").is_file():
        raise TinymlError(f"no dataset at {folder}: make it with `tinyml datasets make {dataset}`"
                          if dataset in ("kws", "vibration") else f"no dataset at {folder}")
    data = load(folder)
    counts = data.counts()
    click.echo(f"{folder}  ({data.kind}, {len(data.x):,} examples, {data.meta.get('source', '')})")
    click.echo(f"{'class':<14}" + "".join(f"{s:>8}" for s in SPLITS))
    for c in data.classes:
        click.echo(f"{c:<14}" + "".join(f"{counts[s][c]:>8}" for s in SPLITS))
    if png:
        from tinyml.datasets.plots import examples_png

        examples_png(data, png)
        click.echo(f"Wrote {png}")
