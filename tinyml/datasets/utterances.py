"""The speech engines' words, spoken once and kept: a cache of utterances, one file per job.

Speaking is most of the time it takes to make the keyword set (about 3.5 of its 4 minutes on 2
cores), and the same job always gives the same samples, so every utterance is stored under a
hash of its job. A set that changes only its augmentation (noise, rooms, levels) speaks nothing
again; a larger set speaks only its new words. Utterances are kept as 16-bit samples of the
engine's peak-1 output, and the fresh ones go through the same rounding, so a dataset is the
same whether its words came from the engines or from the cache.

Files are written atomically; one that cannot be read whole is spoken again (a damaged cache
repairs itself). `TINYML_DATA` moves the cache with the datasets.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinyml.datasets import tts
from tinyml.datasets.store import cache_dir
from tinyml.errors import TinymlError
from tinyml.tools import proc
from tinyml.tools.fs import atomic_file

def folder() -> Path:
    return cache_dir() / "speech"


def _path(root: Path, job: tuple) -> Path:
    engine = tts.ENGINES.get(job[0])
    version = engine.version if engine else 0  # an engine not listed: speak() refuses it
    key = hashlib.sha256(repr((version, job)).encode()).hexdigest()
    return root / job[0] / key[:2] / f"{key}.i16"


def _as_stored(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, -1.0, 1.0) * 32767).astype("<i2")


def _read(path: Path) -> np.ndarray | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data or len(data) % 2:
        return None
    return np.frombuffer(data, "<i2")


def _unwritable(root: Path, exc: OSError) -> TinymlError:
    return TinymlError(f"cannot write the speech cache in {root} ({exc.strerror}): "
                       "set TINYML_DATA to a writable folder")


def _writable(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(root, exc) from None


def speak_all(jobs: list[tuple], workers: int = 2, progress: bool = True,
              root: Path | None = None) -> list[np.ndarray]:
    """Every job's utterance (float64, peak about 1), from the cache or spoken by a pool of
    `workers` processes and then cached."""
    root = folder() if root is None else Path(root)
    stored = [_read(_path(root, job)) for job in jobs]
    missing = [i for i, x in enumerate(stored) if x is None]
    engines = ", ".join(dict.fromkeys(job[0] for job in jobs))
    if missing:
        _writable(root)  # before the pool: a pool stopped by an error finishes its queue first
        with proc.process_pool(workers) as pool:
            spoken = pool.map(tts.speak, [jobs[i] for i in missing], chunksize=32)
            for i, x in tqdm(zip(missing, spoken), total=len(missing), unit="utt",
                             desc=f"speaking ({engines}; {len(jobs) - len(missing)} cached)",
                             disable=not progress):
                stored[i] = _as_stored(x)
                try:
                    with atomic_file(_path(root, jobs[i])) as tmp:
                        tmp.write_bytes(stored[i].tobytes())
                except OSError as exc:
                    raise _unwritable(root, exc) from None
    return [x.astype(np.float64) / 32767 for x in stored]
