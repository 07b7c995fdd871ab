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
      tinyml datasets download speech-commands       # v0.02, 2.4 GB: `tinyml run kws --dataset
                                                     #   speech-commands` trains on it
      tinyml datasets download speech-commands-test  # its test set, for `tinyml evaluate`
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
@click.argument("layout", type=click.Choice(["speech-commands", "cwru", "capture"]))
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Dataset folder to write "
              "[default: datasets/cache/<layout>].")
@click.option("--rate", type=click.IntRange(1), help="CWRU: the sampling rate (Hz) of files whose "
              "record number or name does not tell it (CWRU's own numbers and names do).")
@click.option("--labels", type=click.Path(path_type=Path, dir_okay=False), help="CWRU: a CSV with the "
              "columns file,label,machine[,load][,rate] for files named otherwise (label: normal, "
              "inner_race, ... or a CWRU code such as IR007, B014, OR021@6).")
@click.option("--split", type=click.Choice(SPLITS), help="Speech Commands without validation_list.txt "
              "and testing_list.txt (the official test set): the split its clips go into [default: test].")
def import_(layout: str, source: Path, out: Path | None, rate: int | None, labels: Path | None,
            split: str | None) -> None:
    """Import a real dataset from its published layout.

    Speech Commands: v0.02 or v0.01 (a folder per word, _background_noise_ and the two lists), or
    the official test set (a folder per class, _silence_ and _unknown_ included, no lists).

    CWRU: the Bearing Data Center's .mat files by record number (97.mat, 105.mat, ...), as
    copies name them (12k_Drive_End_B007_0_118.mat, normal_0_97.mat) or as Normal_0.mat,
    IR007_1.mat; anything else through --labels. Each recording is resampled from its own
    rate, keeps only the channels every file has, and is split in time into train, val and test.

    capture: the vibration recordings `tinyml capture` wrote (its capture.json and CSV files),
    split in time within each recording as CWRU's; kws captures are Speech Commands folders."""
    if layout == "speech-commands":
        if rate or labels:
            raise TinymlError("--rate and --labels are for cwru; Speech Commands is 16 kHz and labelled by folder")
        dataset = import_speech_commands(source, split=split)
    elif layout == "cwru":
        if split:
            raise TinymlError("--split is for speech-commands; CWRU is split in time within each recording")
        dataset = import_cwru(source, source_rate=rate, labels=labels)
    else:
        if rate or labels or split:
            raise TinymlError("--rate, --labels and --split are not for capture: its capture.json says them")
        from tinyml.datasets.capture import import_capture

        dataset = import_capture(source)
    out = out or cache_dir() / layout
    save(dataset, out)
    if layout == "speech-commands":
        click.echo(f"Imported {len(dataset.x):,} examples into {out}")
        return
    if layout == "capture":
        click.echo(f"Imported {len(dataset.x):,} windows of {len(dataset.meta['recordings'])} recordings "
                   f"into {out}")
        return
    from tinyml.datasets.cwru import describe

    click.echo(f"Imported {len(dataset.x):,} windows of {len(dataset.meta['files'])} recordings into {out}")
    for line in describe(dataset):
        click.echo("  " + line)


def resolve(name: str) -> Path:
    """A dataset folder, `kws` / `vibration` for the default synthetic ones, or a downloaded one."""
    from tinyml.datasets.download import PUBLISHED, named

    if name in ("kws", "vibration"):
        return dataset_folder(name, KwsConfig() if name == "kws" else VibrationConfig())
    return named(name) if name in PUBLISHED else Path(name)


@command.command("download")
@click.argument("name", type=click.Choice(["speech-commands", "speech-commands-test"]))
@click.option("--url", help="Where to fetch the archive from instead (a mirror) [default: its "
              "official location].")
@click.option("--sha256", help="The archive's sha256, when it is not the published file (a "
              "mirror's own); the published archives' checksums are built in.")
@click.option("--max-bytes", type=click.IntRange(1), default=3_000_000_000, show_default=True,
              help="The largest archive taken; it may unpack to 3 times that.")
@click.option("--retries", type=click.IntRange(0), default=3, show_default=True,
              help="Times a cut transfer is resumed before giving up (the next run resumes too).")
@click.option("--force", is_flag=True, help="Download, unpack and import again.")
def download(name: str, url: str | None, sha256: str | None, max_bytes: int, retries: int,
             force: bool) -> None:
    """Download a published dataset, check it, unpack it and import it, in one command.

    \b
    speech-commands       Speech Commands v0.02 (2.4 GB): 35 words, with its validation and
                          test lists; train on it with `tinyml run kws --dataset speech-commands`
    speech-commands-test  its official test set (113 MB): the 12 classes, for
                          `tinyml evaluate RUN --dataset speech-commands-test`

    From http://download.tensorflow.org/data/ (or --url), with a progress bar, into the dataset
    cache (TINYML_DATA, else datasets/cache/): the archive and its unpacked folder in
    downloads/, the imported set in speech-commands[-test]/. A cut transfer is resumed from its
    .part file (HTTP Range). The archives are checked against the size and sha256 published by
    TensorFlow Datasets; an archive of another name (a --url) without --sha256 is checked against
    the length the server announces and its sha256 is recorded in the cache on first download,
    so a later use of that copy is checked against it. Unpacking refuses members that would
    land outside its folder (tarfile's "data" filter).
    """
    from tinyml.datasets.download import download_dataset

    download_dataset(name, url=url, sha256=sha256, max_bytes=max_bytes, retries=retries, force=force,
                     echo=click.echo)


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
