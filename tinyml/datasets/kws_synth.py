"""Keyword-spotting data made offline: espeak-ng speaks the words, numpy makes the room.

Each base utterance is one word spoken by one voice (an English accent and an espeak-ng voice
variant, at a random rate and pitch). Voices are split 70/15/15 into train/val/test, so the
test set holds voices training never heard. Every clip then gets its own time shift, gain,
background (coloured noise, mains hum, or babble made from other words) at a random SNR, and
sometimes reverberation. Everything follows from the seed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinyml.datasets import audio
from tinyml.datasets.store import SPLITS, Dataset
from tinyml.errors import TinymlError
from tinyml.tools import proc

KEYWORDS = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes"]
CLASSES = KEYWORDS + ["_silence_", "_unknown_"]  # the MLPerf Tiny KWS order
UNKNOWN_WORDS = ["bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin",
                 "nine", "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero",
                 "learn", "follow", "forward", "visual", "backward"]
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc"]
ESPEAK_RATE = 22050


@dataclass(frozen=True)
class KwsConfig:
    clips_per_class: int = 2000
    silence_clips: int = 1000
    augmentations_per_utterance: int = 2
    seed: int = 0
    snr_db: tuple[float, float] = (5.0, 30.0)
    reverb_probability: float = 0.3

    def key(self) -> str:
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[:10]


def voice_variants() -> list[str]:
    """espeak-ng's voice variants (m1..m7, f1..f5, croak, klatt, ...), as installed."""
    try:
        out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except FileNotFoundError:
        raise TinymlError("espeak-ng is not installed: `make setup` installs it "
                          "(Debian package espeak-ng).") from None
    names = [line.split()[-1].removeprefix("!v/") for line in out.splitlines()[1:] if line.strip()]
    return sorted(n for n in names if n)


def voices_by_split(seed: int) -> dict[str, list[str]]:
    """Every accent+variant voice, assigned to one split by a hash (70/15/15)."""
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    for accent in ACCENTS:
        for variant in voice_variants():
            voice = f"{accent}+{variant}"
            bucket = int(hashlib.sha256(f"{seed}:{voice}".encode()).hexdigest(), 16) % 100
            out["train" if bucket < 70 else "val" if bucket < 85 else "test"].append(voice)
    return out


def speak(job: tuple[str, str, int, int]) -> np.ndarray:
    """One word by one voice, at 16 kHz, leading and trailing silence trimmed (float, peak 1)."""
    word, voice, rate, pitch = job
    with tempfile.TemporaryDirectory(prefix="tinyml-espeak-") as tmp:
        path = Path(tmp) / "word.wav"
        done = proc.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w",
                         str(path), word], timeout=30, what=f"speaking with voice {voice}")
        if done.returncode != 0:
            raise TinymlError(f"espeak-ng failed for voice {voice}: {done.stderr[-200:]}")
        raw = audio.read_wav(path, rate=None).astype(np.float64)
    x = audio.trim(audio.resample(raw, ESPEAK_RATE))
    return x / (np.abs(x).max() + 1e-9)


def place(rng: np.random.Generator, utterance: np.ndarray) -> np.ndarray:
    """The utterance at a random position (time shift) in a one-second clip."""
    clip = np.zeros(audio.CLIP)
    u = utterance[:audio.CLIP]
    start = int(rng.integers(0, audio.CLIP - u.size + 1))
    clip[start:start + u.size] = u
    return clip


def background(rng: np.random.Generator, babble_pool: list[np.ndarray]) -> np.ndarray:
    kind = rng.integers(0, 5)
    if kind < 3:
        return audio.coloured_noise(rng, audio.CLIP, float(kind))  # white, pink, brown
    if kind == 3:
        return audio.hum(rng, audio.CLIP)
    babble = sum(place(rng, babble_pool[i]) for i in rng.integers(0, len(babble_pool), 4))
    return babble / (np.sqrt(np.mean(babble ** 2)) + 1e-12)


def augment(rng: np.random.Generator, utterance: np.ndarray, cfg: KwsConfig,
            babble_pool: list[np.ndarray]) -> np.ndarray:
    x = place(rng, utterance) * 10 ** (rng.uniform(-12, 0) / 20) * 0.5
    if rng.random() < cfg.reverb_probability:
        x = audio.reverb(rng, x)
    x = audio.mix_at_snr(x, background(rng, babble_pool), rng.uniform(*cfg.snr_db))
    return audio.to_int16(x)


def generate(cfg: KwsConfig = KwsConfig(), workers: int = 2, progress: bool = True) -> Dataset:
    if shutil.which("espeak-ng") is None:
        raise TinymlError("espeak-ng is not installed: `make setup` installs it "
                          "(Debian package espeak-ng).")
    rng = np.random.default_rng(cfg.seed)
    voices = voices_by_split(cfg.seed)
    per_utterance = cfg.augmentations_per_utterance
    jobs, job_meta = [], []  # (word, voice, rate, pitch) and (class index, split, voice)
    voice_ids = {v: i for i, v in enumerate(sorted(v for vs in voices.values() for v in vs))}
    for label, name in enumerate(CLASSES):
        if name == "_silence_":
            continue
        n_utterances = -(-cfg.clips_per_class // per_utterance)
        for k in range(n_utterances):
            split = rng.choice(3, p=[0.7, 0.15, 0.15])
            voice = voices[SPLITS[split]][rng.integers(0, len(voices[SPLITS[split]]))]
            word = UNKNOWN_WORDS[rng.integers(0, len(UNKNOWN_WORDS))] if name == "_unknown_" else name
            jobs.append((word, voice, int(rng.integers(120, 230)), int(rng.integers(20, 80))))
            job_meta.append((label, split, voice_ids[voice]))
    with proc.process_pool(workers) as pool:
        utterances = list(tqdm(pool.map(speak, jobs, chunksize=32), total=len(jobs),
                               desc="speaking (espeak-ng)", unit="utt", disable=not progress))
    babble_pools = {s: [u for u, m in zip(utterances, job_meta) if m[1] == s and
                        m[0] == CLASSES.index("_unknown_")] for s in range(3)}
    clips, labels, splits, groups = [], [], [], []
    made = np.zeros(len(CLASSES), dtype=np.int64)
    bar = tqdm(total=len(utterances) * per_utterance + cfg.silence_clips, desc="augmenting",
               unit="clip", disable=not progress)
    for utterance, (label, split, voice) in zip(utterances, job_meta):
        for _ in range(per_utterance):
            if made[label] >= cfg.clips_per_class:
                break
            made[label] += 1
            clips.append(augment(rng, utterance, cfg, babble_pools[split] or utterances))
            labels.append(label)
            splits.append(split)
            groups.append(voice)
            bar.update()
    for _ in range(cfg.silence_clips):
        split = int(rng.choice(3, p=[0.7, 0.15, 0.15]))
        noise = background(rng, babble_pools[split] or utterances)
        clips.append(audio.to_int16(noise * 10 ** (rng.uniform(-40, -10) / 20)))
        labels.append(CLASSES.index("_silence_"))
        splits.append(split)
        groups.append(-1)
        bar.update()
    bar.close()
    return Dataset("kws", np.stack(clips), np.array(labels, dtype=np.int16),
                   np.array(splits, dtype=np.int8), CLASSES, audio.RATE,
                   np.array(groups, dtype=np.int32),
                   {"source": "synthetic (espeak-ng)", "config": asdict(cfg),
                    "voices": {s: len(v) for s, v in voices.items()}})
