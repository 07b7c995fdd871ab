"""Stage 1: datasets. Keyword audio and tri-axial vibration windows, synthetic by default
(offline, seeded, cached) or imported from Speech Commands and CWRU layouts.

    from tinyml import datasets
    kws = datasets.make_kws()                   # cached under datasets/cache/
    vib = datasets.make_vibration()
    sc = datasets.import_speech_commands("speech_commands_v0.02/")
"""

from __future__ import annotations

from pathlib import Path

from tinyml.datasets.cwru import import_cwru
from tinyml.datasets.kws_synth import KwsConfig
from tinyml.datasets.speech_commands import import_speech_commands
from tinyml.datasets.store import DamagedCache, Dataset, cache_dir, load, save
from tinyml.datasets.vibration_synth import VibrationConfig
from tinyml.errors import TinymlError, warn

__all__ = ["Dataset", "KwsConfig", "VibrationConfig", "import_cwru", "import_speech_commands",
           "load", "make_kws", "make_vibration", "save"]


def cached(folder: Path, build) -> tuple[Dataset, bool]:
    """The dataset in the cache entry `folder`, or build() saved there when there is none or
    it is damaged (with a warning: the entry repairs itself); and whether it was built."""
    if (folder / "meta.json").is_file():
        try:
            return load(folder), False
        except DamagedCache as exc:
            warn(f"{exc.damage}: generating it again")
    dataset = build()
    try:
        save(dataset, folder)
    except OSError as exc:
        raise TinymlError(f"cannot write the dataset cache {folder} ({exc.strerror}): set "
                          "TINYML_DATA to a writable folder") from None
    return dataset, True


def make_kws(config: KwsConfig = KwsConfig(), progress: bool = True) -> Dataset:
    """The synthetic keyword set for `config`, generated once and then read from the cache."""
    from tinyml.datasets import kws_synth

    return cached(dataset_folder("kws", config), lambda: kws_synth.generate(config, progress=progress))[0]


def make_vibration(config: VibrationConfig = VibrationConfig(), progress: bool = True) -> Dataset:
    from tinyml.datasets import vibration_synth

    return cached(dataset_folder("vibration", config),
                  lambda: vibration_synth.generate(config, progress=progress))[0]


def dataset_folder(kind: str, config) -> Path:
    return cache_dir() / f"{kind}-{config.key()}"
