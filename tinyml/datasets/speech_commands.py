"""Google Speech Commands, from its published folder layouts, as the standard 12 classes.

v0.02 (35 words) and v0.01 (30 words): DIR holds one folder per word (the 10 keywords, and
others that become _unknown_), the folder _background_noise_ (long recordings, cut into
one-second _silence_ clips), and the lists validation_list.txt and testing_list.txt (paths
relative to DIR); everything not listed is training data.

The official test set (speech_commands_test_set_v0.0x): a folder per class, _silence_ (one-second
noise clips) and _unknown_ included, and no lists: every clip is test data, or in the split asked for.

Speakers (the file name before _nohash_, after the word that _unknown_ files start with) are
the groups. Clips shorter than one second are padded with zeros; longer ones are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinyml.datasets import audio
from tinyml.datasets.kws_synth import CLASSES, KEYWORDS
from tinyml.datasets.store import SPLITS, Dataset
from tinyml.errors import TinymlError

BACKGROUND = "_background_noise_"
SILENCE, UNKNOWN = "_silence_", "_unknown_"
LISTS = ("validation_list.txt", "testing_list.txt")
V02_ONLY = {"backward", "follow", "forward", "learn", "visual"}  # the words v0.02 added


def _listed(root: Path, name: str) -> set[str]:
    path = root / name
    if not path.is_file():
        raise TinymlError(f"{root} is not a Speech Commands folder: {name} is missing (the "
                          "layout has one folder per word, _background_noise_, "
                          "validation_list.txt and testing_list.txt; the test set has neither list)")
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def _layout(words: list[str], listed: bool) -> str:
    if not listed:
        return "test set"
    spoken = [w for w in words if not w.startswith("_")]
    return f"{'v0.02' if V02_ONLY & set(spoken) else 'v0.01'} ({len(spoken)} words)"


def _speaker(path: Path) -> str:
    """aaaa1111 for yes/aaaa1111_nohash_0.wav and for _unknown_/bed_aaaa1111_nohash_0.wav."""
    return path.name.split("_nohash_")[0].rsplit("_", 1)[-1]


def _clip(path: Path) -> np.ndarray:
    x = audio.read_wav(path)
    if x.size > audio.CLIP:
        raise TinymlError(f"{path}: {x.size} samples, longer than one second ({audio.CLIP} at "
                          f"{audio.RATE} Hz): cut it to one second (`sox IN OUT trim 0 1`) or leave it out")
    clip = np.zeros(audio.CLIP, dtype=np.int16)
    clip[:x.size] = x
    return clip


def import_speech_commands(root: Path, silence_fraction: float = 0.1, seed: int = 0,
                           progress: bool = True, split: str | None = None,
                           only: str | None = None) -> Dataset:
    """The folder as a kws Dataset. `split` (train, val or test) is where the clips of a folder
    without lists go [default: test]; `only` reads just the clips of one split (an evaluation
    of the test split need not read the training set)."""
    root = Path(root)
    if not root.is_dir():
        raise TinymlError(f"no folder {root}")
    present = [(root / name).is_file() for name in LISTS]
    if any(present):
        if split is not None:
            raise TinymlError(f"split is for a folder without {LISTS[0]} and {LISTS[1]}: the lists of "
                              f"{root} decide its splits")
        val, test = (_listed(root, name) for name in LISTS)
    else:
        val, test = set(), None  # the test-set layout
    fixed = SPLITS.index(split or "test")
    words = sorted(p.name for p in root.iterdir()
                   if p.is_dir() and p.name != BACKGROUND and not p.name.startswith("."))
    missing = [k for k in KEYWORDS if k not in words]
    if missing:
        raise TinymlError(f"{root} has no folder for keyword(s) {', '.join(missing)}: "
                          "not the Speech Commands layout")

    def split_of(path: Path) -> int:
        rel = path.relative_to(root).as_posix()
        return fixed if test is None else 2 if rel in test else 1 if rel in val else 0

    files = [(f, split_of(f)) for f in sorted(f for w in words for f in (root / w).glob("*.wav"))]
    if only is not None:
        files = [(f, s) for f, s in files if s == SPLITS.index(only)]
    clips, labels, splits, groups, speakers = [], [], [], [], {}
    for path, where in tqdm(files, desc="reading Speech Commands", unit="clip", disable=not progress):
        word = path.parent.name
        clips.append(_clip(path))
        labels.append(CLASSES.index(word if word in KEYWORDS or word == SILENCE else UNKNOWN))
        splits.append(where)
        groups.append(-1 if word == SILENCE else speakers.setdefault(_speaker(path), len(speakers)))
    noise_files = sorted((root / BACKGROUND).glob("*.wav")) if (root / BACKGROUND).is_dir() else []
    if noise_files:
        noises = [audio.read_wav(p) for p in noise_files]
        per_split = np.bincount(splits, minlength=3)
        for where, n in enumerate(per_split):
            rng = np.random.default_rng([seed, where])  # per split: `only` cuts the same silence
            for _ in range(int(np.ceil(n * silence_fraction))):
                noise = noises[int(rng.integers(0, len(noises)))]
                if noise.size < audio.CLIP:
                    continue
                start = int(rng.integers(0, noise.size - audio.CLIP + 1))
                clips.append(noise[start:start + audio.CLIP])
                labels.append(CLASSES.index(SILENCE))
                splits.append(where)
                groups.append(-1)
    if not clips:
        raise TinymlError(f"{root} holds no .wav clips" + (f" in its {only} split" if only else ""))
    return Dataset("kws", np.stack(clips), np.array(labels, dtype=np.int16),
                   np.array(splits, dtype=np.int8), CLASSES, audio.RATE,
                   np.array(groups, dtype=np.int32),
                   {"source": f"Speech Commands at {root}", "speakers": len(speakers),
                    "layout": _layout(words, test is not None)})
