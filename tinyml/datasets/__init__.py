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
from tinyml.datasets.store import Dataset, cache_dir, load, save
from tinyml.datasets.vibration_synth import VibrationConfig

__all__ = ["Dataset", "KwsConfig", "VibrationConfig", "import_cwru", "import_speech_commands",
           "load", "make_kws", "make_vibration", "save"]


def _cached(name: str, build):
    folder = cache_dir() / name
    if (folder / "meta.json").is_file():
        return load(folder), folder
    dataset = build()
    save(dataset, folder)
    return dataset, folder


def make_kws(config: KwsConfig = KwsConfig(), progress: bool = True) -> Dataset:
    """The synthetic keyword set for `config`, generated once and then read from the cache."""
    from tinyml.datasets import kws_synth

    return _cached(f"kws-{config.key()}", lambda: kws_synth.generate(config, progress=progress))[0]


def make_vibration(config: VibrationConfig = VibrationConfig(), progress: bool = True) -> Dataset:
    from tinyml.datasets import vibration_synth

    return _cached(f"vibration-{config.key()}",
                   lambda: vibration_synth.generate(config, progress=progress))[0]


def dataset_folder(kind: str, config) -> Path:
    return cache_dir() / f"{kind}-{config.key()}"
