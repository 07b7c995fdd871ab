"""A dataset on disk: arrays in data.npz, everything else in meta.json, written atomically.

A dataset folder appears complete or not at all: it is written under a temporary name in the
same parent and renamed into place, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.paths import HOME
from tinyml.tools.fs import atomic_folder

SPLITS = ("train", "val", "test")


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
    groups: np.ndarray | None = None  # who made the example (voice, source file): splits never share one
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


def save(dataset: Dataset, folder: Path) -> Path:
    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        arrays = {"x": dataset.x, "labels": dataset.labels, "split": dataset.split}
        if dataset.groups is not None:
            arrays["groups"] = dataset.groups
        np.savez(tmp / "data.npz", **arrays)
        (tmp / "meta.json").write_text(json.dumps({
            "kind": dataset.kind, "classes": dataset.classes, "sample_rate": dataset.sample_rate,
            **dataset.meta}, indent=2))
    return folder


def load(folder: Path) -> Dataset:
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "data.npz") as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError) as exc:
        raise TinymlError(f"{folder} is not a tinyml dataset ({exc}); make one with "
                          "`tinyml datasets make` or `tinyml datasets import`.") from None
    kind, classes, rate = meta.pop("kind"), meta.pop("classes"), meta.pop("sample_rate")
    return Dataset(kind, arrays["x"], arrays["labels"], arrays["split"], classes, rate,
                   arrays.get("groups"), meta)
