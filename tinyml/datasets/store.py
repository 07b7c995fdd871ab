"""A dataset on disk: arrays in data.npz, everything else in meta.json, written atomically.

A dataset folder appears complete or not at all: it is written under a temporary name in the
same parent and renamed into place, so an interrupted run leaves nothing half-written. meta.json
keeps the sha256 of data.npz and of the arrays cached beside it (features-*.npy), so a file
damaged later (a full disk, a copy cut short, an edit) is told apart even when it still loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tinyml.errors import TinymlError, warn
from tinyml.paths import HOME
from tinyml.tools.fs import atomic_file, atomic_folder

SPLITS = ("train", "val", "test")
CHECKSUMS = "checksums"  # the meta.json key: {file name: sha256} of the folder's array files
READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)  # what numpy raises on a torn file


class DamagedCache(TinymlError):
    """A file of a dataset folder is not the one written. `damage` says which and how; the
    message adds how to make that folder again."""

    def __init__(self, damage: str, remedy: str):
        super().__init__(f"{damage}: {remedy}")
        self.damage = damage


def cache_dir() -> Path:
    """datasets/cache in the repository, or TINYML_DATA when set."""
    return Path(os.environ.get("TINYML_DATA", HOME / "datasets" / "cache"))


@dataclass
class Dataset:
    """Examples (first axis of `x`), integer labels, a split per example, and metadata."""
    kind: str                      # "kws" (int16 audio [N, 16000]) or "vibration" (float32 [N, 3, L])
    x: np.ndarray
    labels: np.ndarray
    split: np.ndarray              # 0 train, 1 val, 2 test
    classes: list[str]
    sample_rate: int
    groups: np.ndarray | None = None  # who made the example (voice, machine, recording); splits share
                                      # none, but for recordings cut in time (CWRU: meta "split")
    meta: dict = field(default_factory=dict)

    def subset(self, split: str) -> "Dataset":
        keep = self.split == SPLITS.index(split)
        return Dataset(self.kind, self.x[keep], self.labels[keep], self.split[keep], self.classes,
                       self.sample_rate, None if self.groups is None else self.groups[keep],
                       dict(self.meta))

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {class: examples}}."""
        out = {}
        for s, name in enumerate(SPLITS):
            labels = self.labels[self.split == s]
            out[name] = {c: int(np.sum(labels == i)) for i, c in enumerate(self.classes)}
        return out


def split_problem(dataset: Dataset, every_class_in_test: bool = True) -> str | None:
    """What a vibration set lacks for training and scoring its anomaly model, or None: normal
    windows in every split (train to learn from, val for the threshold, test to be scored) and, in
    test, every class the set has. Callers add what to do: it depends on where the set came from."""
    if "normal" not in dataset.classes:
        return "no 'normal' class"
    normal = dataset.labels == dataset.classes.index("normal")
    counts = [int(np.sum(normal & (dataset.split == s))) for s in range(len(SPLITS))]
    empty = [SPLITS[s] for s, n in enumerate(counts) if n == 0]
    if empty:
        having = [f"{SPLITS[s]} has {n}" for s, n in enumerate(counts) if n]
        return (f"no normal windows in {_listed(empty)}" + (f" ({', '.join(having)})" if having else ""))
    absent = sorted(set(dataset.labels.tolist()) - set(dataset.labels[dataset.split == 2].tolist()))
    if absent and every_class_in_test:
        return f"no {_listed([dataset.classes[c] for c in absent])} windows in test"
    return None


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def save(dataset: Dataset, folder: Path) -> Path:
    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        arrays = {"x": dataset.x, "labels": dataset.labels, "split": dataset.split}
        if dataset.groups is not None:
            arrays["groups"] = dataset.groups
        np.savez(tmp / "data.npz", **arrays)
        (tmp / "meta.json").write_text(json.dumps({
            "kind": dataset.kind, "classes": dataset.classes, "sample_rate": dataset.sample_rate,
            **dataset.meta, CHECKSUMS: {"data.npz": digest(tmp / "data.npz")}}, indent=2))
    return folder


def read_meta(folder: Path) -> dict:
    """meta.json of a dataset folder, as written (checksums included)."""
    path = Path(folder) / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except OSError as exc:
        raise TinymlError(f"{folder} is not a tinyml dataset ({exc}); make one with "
                          "`tinyml datasets make` or `tinyml datasets import`.") from None
    except ValueError as exc:
        raise DamagedCache(f"{path} is damaged ({exc})", f"delete {folder} and make it again with "
                           "`tinyml datasets make` or `tinyml datasets import`") from None
    if not isinstance(meta, dict) or not {"kind", "classes", "sample_rate"} <= set(meta):
        raise TinymlError(f"{folder} is not a tinyml dataset (its meta.json has no kind, classes and "
                          "sample_rate); make one with `tinyml datasets make` or `tinyml datasets import`.")
    return meta


def _read_checked(folder: Path, name: str, meta: dict, read: Callable[[Path], object],
                  remedy: Callable[[], str]):
    """read(folder/name), once its sha256 is the one meta.json has (files from before checksums
    are taken as they load); else a DamagedCache that says remedy()."""
    path = Path(folder) / name
    try:
        if not _matches(folder, name, meta):
            raise DamagedCache(f"{path} is damaged (its checksum does not match meta.json)", remedy())
        return read(path)
    except FileNotFoundError:
        raise DamagedCache(f"{path} is missing", remedy()) from None
    except READ_ERRORS as exc:
        raise DamagedCache(f"{path} is damaged ({' '.join(str(exc).split())})", remedy()) from None


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    for name in ("x", "labels", "split"):
        if name not in arrays:
            raise KeyError(f"no {name!r} array")
    return arrays


def load(folder: Path) -> Dataset:
    """The dataset in `folder`. A damaged data.npz is a DamagedCache naming the command that makes
    that folder again."""
    folder = Path(folder)
    meta = read_meta(folder)
    arrays = _read_checked(folder, "data.npz", meta, _read_arrays, lambda: remake_command(folder, meta))
    meta.pop(CHECKSUMS, None)
    kind, classes, rate = meta.pop("kind"), meta.pop("classes"), meta.pop("sample_rate")
    return Dataset(kind, arrays["x"], arrays["labels"], arrays["split"], classes, rate,
                   arrays.get("groups"), meta)


def intact(folder: Path) -> bool:
    """Whether data.npz has the checksum meta.json recorded for it, without loading it."""
    try:
        return _matches(folder, "data.npz", read_meta(folder))
    except (TinymlError, OSError):
        return False


def _matches(folder: Path, name: str, meta: dict) -> bool:
    """Whether folder/name has the sha256 meta.json recorded (true for files from before checksums)."""
    expected = meta.get(CHECKSUMS, {}).get(name)
    return expected is None or digest(Path(folder) / name) == expected


def cached_array(folder: Path, name: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """An array derived from the dataset in `folder` (its features), computed once and kept
    beside it as `name` (.npy) with its checksum in meta.json. A damaged copy is computed again,
    with a warning; one without a checksum (older, or its meta.json update lost) silently."""
    folder = Path(folder)
    meta = read_meta(folder)
    if name in meta.get(CHECKSUMS, {}):
        try:
            return _read_checked(folder, name, meta, np.load, lambda: "computed again when used")
        except DamagedCache as exc:
            warn(f"{exc.damage}: computing it again")
    array = compute()
    with atomic_file(folder / name) as tmp:
        np.save(tmp, array)
        checksum = digest(tmp)
    meta = read_meta(folder)  # read again: another process may have recorded its own array since
    meta.setdefault(CHECKSUMS, {})[name] = checksum
    with atomic_file(folder / "meta.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    return array


MAKE_FLAGS = {  # `tinyml datasets make` options, by the generator setting they set
    "kws": {"seed": "--seed", "clips_per_class": "--clips-per-class", "silence_clips": "--silence-clips"},
    "vibration": {"seed": "--seed", "normal_windows": "--windows"},
}
IMPORTS = {"Speech Commands at ": ("speech-commands", ""),
           "CWRU at ": ("cwru", " (and the --rate it was imported with, if not 12000)"),
           "capture at ": ("capture", "")}


def remake_command(folder: Path, meta: dict) -> str:
    """How to make THIS dataset folder again: the `tinyml datasets make` with its settings (and
    TINYML_DATA when it is not in the current cache), or the import it came from."""
    folder = Path(folder)
    source = str(meta.get("source", ""))
    for prefix, (layout, note) in IMPORTS.items():
        if source.startswith(prefix):
            return (f"import it again with `tinyml datasets import {layout} {shlex.quote(source[len(prefix):])} "
                    f"-o {shlex.quote(str(folder))}`{note}")
    kind, config = meta.get("kind"), meta.get("config")
    if not source.startswith("synthetic") or kind not in MAKE_FLAGS or not isinstance(config, dict):
        return "make it again with `tinyml datasets make` or `tinyml datasets import`"
    from tinyml.datasets.kws_synth import KwsConfig  # here: the generators import this module
    from tinyml.datasets.vibration_synth import VibrationConfig

    cls, flags = (KwsConfig if kind == "kws" else VibrationConfig), MAKE_FLAGS[kind]
    try:
        settings = cls(**{k: config[k] for k in flags if k in config})
    except TypeError:
        settings = None
    if settings is None or folder.name != f"{kind}-{settings.key()}":  # a setting `make` has no option for
        return f"delete {folder}: the `tinyml train` or `tinyml run` that uses it makes it again"
    options = "".join(f" {flag} {getattr(settings, k)}" for k, flag in flags.items()
                      if getattr(settings, k) != getattr(cls(), k))
    here = folder.parent.resolve() == cache_dir().resolve()
    env = "" if here else f"TINYML_DATA={shlex.quote(str(folder.parent))} "
    return f"make it again with `{env}tinyml datasets make {kind}{options} --force`"
