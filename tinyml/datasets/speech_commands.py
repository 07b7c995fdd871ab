"""Google Speech Commands v2, from its folder layout, as the standard 12 classes.

DIR holds one folder per word (the 10 keywords, and others that become _unknown_), the
folder _background_noise_ (long recordings, cut into one-second _silence_ clips), and the
lists validation_list.txt and testing_list.txt (paths relative to DIR); everything not
listed is training data. Speakers (the file name before _nohash_) are the groups.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinyml.datasets import audio
from tinyml.datasets.kws_synth import CLASSES, KEYWORDS
from tinyml.datasets.store import Dataset
from tinyml.errors import TinymlError

BACKGROUND = "_background_noise_"


def _listed(root: Path, name: str) -> set[str]:
    path = root / name
    if not path.is_file():
        raise TinymlError(f"{root} is not a Speech Commands folder: {name} is missing (the "
                          "layout has one folder per word, _background_noise_, "
                          "validation_list.txt and testing_list.txt)")
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def import_speech_commands(root: Path, silence_fraction: float = 0.1, seed: int = 0,
                           progress: bool = True) -> Dataset:
    root = Path(root)
    if not root.is_dir():
        raise TinymlError(f"no folder {root}")
    val, test = _listed(root, "validation_list.txt"), _listed(root, "testing_list.txt")
    words = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND)
    missing = [k for k in KEYWORDS if k not in words]
    if missing:
        raise TinymlError(f"{root} has no folder for keyword(s) {', '.join(missing)}: "
                          "not the Speech Commands layout")
    files = sorted(f for w in words for f in (root / w).glob("*.wav"))
    clips, labels, splits, groups, speakers = [], [], [], [], {}
    for path in tqdm(files, desc="reading Speech Commands", unit="clip", disable=not progress):
        rel = path.relative_to(root).as_posix()
        x = audio.read_wav(path)
        if x.size > audio.CLIP:
            raise TinymlError(f"{path}: {x.size} samples, longer than one second")
        clip = np.zeros(audio.CLIP, dtype=np.int16)
        clip[:x.size] = x
        word = path.parent.name
        clips.append(clip)
        labels.append(CLASSES.index(word if word in KEYWORDS else "_unknown_"))
        splits.append(2 if rel in test else 1 if rel in val else 0)
        speaker = path.name.split("_nohash_")[0]
        groups.append(speakers.setdefault(speaker, len(speakers)))
    noise_files = sorted((root / BACKGROUND).glob("*.wav")) if (root / BACKGROUND).is_dir() else []
    if noise_files:
        rng = np.random.default_rng(seed)
        noises = [audio.read_wav(p) for p in noise_files]
        per_split = np.bincount(splits, minlength=3)
        for split, n in enumerate(per_split):
            for _ in range(int(np.ceil(n * silence_fraction))):
                noise = noises[int(rng.integers(0, len(noises)))]
                if noise.size < audio.CLIP:
                    continue
                start = int(rng.integers(0, noise.size - audio.CLIP + 1))
                clips.append(noise[start:start + audio.CLIP])
                labels.append(CLASSES.index("_silence_"))
                splits.append(split)
                groups.append(-1)
    if not clips:
        raise TinymlError(f"{root} holds no .wav clips")
    return Dataset("kws", np.stack(clips), np.array(labels, dtype=np.int16),
                   np.array(splits, dtype=np.int8), CLASSES, audio.RATE,
                   np.array(groups, dtype=np.int32),
                   {"source": f"Speech Commands at {root}", "speakers": len(speakers)})
