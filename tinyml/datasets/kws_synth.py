"""Keyword-spotting data made offline: five speech engines say the words, numpy makes the room.

Each base utterance is one word said by one voice of one engine (espeak-ng's accents and
variants, festival's and flite's diphone and statistical voices of real speakers, piper's neural
voice, SVOX Pico's two voices), at a random speed and pitch, flat, as a question or as an
exclamation (people saying one word let it rise or fall; flite and festival's HTS voice ignore
the punctuation). espeak-ng's voices are split 70/15/15 into train/val/test, so the test set
holds voices training never heard; `test_engine` instead leaves one engine out of training and
tests on it alone. Every clip then gets another speaker's vocal tract (speed perturbation), a
time shift, a room, a cheap microphone, a level from whispered to shouted, background noise
(coloured, hum, babble of other words) at a random SNR, and sometimes clipping. Silence spans
digital zero to loud noise. Everything follows from the seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinyml.datasets import audio, tts
from tinyml.datasets.utterances import speak_all
from tinyml.datasets.store import SPLITS, Dataset
from tinyml.errors import TinymlError

KEYWORDS = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes"]
CLASSES = KEYWORDS + ["_silence_", "_unknown_"]  # the MLPerf Tiny KWS order
# Speech Commands' other words, near misses of each keyword (what a spotter must not take for
# it), and everyday words: the unknown class has to look like the rest of the language. No word
# sounds like a keyword ("know", "write" would be labels no model can learn) and none is listed
# twice (a word's share of the unknown class is its share of this list).
SPEECH_COMMANDS_OTHERS = ["bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house",
                          "marvin", "nine", "one", "seven", "sheila", "six", "three", "tree", "two",
                          "wow", "zero", "learn", "follow", "forward", "visual", "backward"]
NEAR_MISSES = {
    "down": ["town", "gown", "dawn", "noun", "brown"], "go": ["goat", "grow", "glow", "ghost", "gold"],
    "left": ["lift", "loft", "laughed", "lest", "theft"], "no": ["known", "now", "snow", "note", "new"],
    "off": ["of", "cough", "oft", "scoff", "awe"], "on": ["an", "in", "own", "upon", "honor"],
    "right": ["ripe", "bright", "white", "ride", "light"], "stop": ["stock", "shop", "top", "step", "spot"],
    "up": ["cup", "pup", "hub", "uh", "oops"], "yes": ["yet", "yeah", "less", "mess", "chess"],
}
EVERYDAY_WORDS = ["hello", "okay", "please", "thanks", "water", "music", "lamp", "open", "close",
                  "start", "play", "pause", "next", "back", "morning", "night", "coffee", "phone",
                  "table", "window", "door", "garden", "money", "paper", "little", "under", "over",
                  "maybe", "never", "always", "people", "really", "about", "around", "again",
                  "yellow", "orange", "purple", "green", "kitchen", "minute", "second", "number",
                  "question", "answer", "computer", "weather", "tomorrow", "yesterday", "seventy"]
UNKNOWN_WORDS = SPEECH_COMMANDS_OTHERS + [w for ws in NEAR_MISSES.values() for w in ws] + EVERYDAY_WORDS


@dataclass(frozen=True)
class KwsConfig:
    clips_per_class: int = 2000
    silence_clips: int = 1000
    augmentations_per_utterance: int = 2
    seed: int = 0
    snr_db: tuple[float, float] = (5.0, 35.0)   # below 5 dB the words drown: labels turn to noise
    noise_probability: float = 0.85     # the rest: the room's own faint noise floor only
    reverb_probability: float = 0.5
    rt60_s: tuple[float, float] = (0.05, 0.7)
    speed: tuple[float, float] = (0.82, 1.2)  # speaker/vocal-tract and rate perturbation
    level_dbfs: tuple[float, float] = (-45.0, -8.0)  # from a far, quiet talker to a shout
    clip_probability: float = 0.08
    pitch: tuple[float, float] = (0.8, 1.25)   # the engine's own pitch control (or tape speed)
    engines: tuple[str, ...] = ("espeak-ng", "festival", "flite", "piper", "pico")
    test_engine: str = ""               # leave-one-engine-out: that engine alone is the test split
    unknown_factor: float = 2.5         # unknown clips per keyword clip: the world is mostly other words
    intonations: tuple[str, ...] = ("", "?", "!")  # appended to the word: flat, rising, falling
    recipe: int = 6                     # bumped when the generator changes what it makes (6: no
                                        # homophones of keywords among the unknown words)

    def key(self) -> str:
        """The set's cache name: its settings and the versions of the engines' speech in it."""
        return hashlib.sha256(repr((sorted(asdict(self).items()), sorted(tts.speech_versions().items()))).encode()).hexdigest()[:10]


ENGINE_SHARE = {"espeak-ng": 0.4, "festival": 0.2, "flite": 0.2, "piper": 0.2, "pico": 0.15}


def voices_by_split(seed: int, engines: tuple[str, ...], test_engine: str = "") -> dict[str, list]:
    """(engine, voice) pairs by split. espeak-ng's hundreds of voices are split 70/15/15 by a
    hash, so the test voices are unheard in training; the other engines have a few real
    speakers each, so every split gets all of them (their utterances differ). With a
    test_engine, that engine is the whole test split and nothing else."""
    out: dict[str, list] = {s: [] for s in SPLITS}
    for engine in engines:
        voices = [(engine, v) for v in tts.ENGINES[engine].voices()]
        if test_engine:
            out["test" if engine == test_engine else "train"].extend(voices)
            if engine != test_engine:
                out["val"].extend(voices)
            continue
        if engine != "espeak-ng":
            for split in SPLITS:
                out[split].extend(voices)
            continue
        for voice in voices:
            bucket = int(hashlib.sha256(f"{seed}:{voice[1]}".encode()).hexdigest(), 16) % 100
            out["train" if bucket < 70 else "val" if bucket < 85 else "test"].append(voice)
    return out


def place(rng: np.random.Generator, utterance: np.ndarray) -> np.ndarray:
    """The utterance at a random position (time shift) in a one-second clip."""
    clip = np.zeros(audio.CLIP)
    u = utterance[:audio.CLIP]
    start = int(rng.integers(0, audio.CLIP - u.size + 1))
    clip[start:start + u.size] = u
    return clip


def background(rng: np.random.Generator, babble_pool: list[np.ndarray], kind: int | None = None) -> np.ndarray:
    """Unit-RMS background: white, pink or brown noise, mains hum, or babble (kind 0-4)."""
    kind = int(rng.integers(0, 5)) if kind is None else kind
    if kind < 3:
        return audio.coloured_noise(rng, audio.CLIP, float(kind))  # white, pink, brown
    if kind == 3:
        return audio.hum(rng, audio.CLIP)
    babble = sum(place(rng, babble_pool[i]) for i in rng.integers(0, len(babble_pool), 4))
    return babble / (np.sqrt(np.mean(babble ** 2)) + 1e-12)


def augment(rng: np.random.Generator, utterance: np.ndarray, cfg: KwsConfig,
            babble_pool: list[np.ndarray]) -> np.ndarray:
    """One utterance as a microphone in a room might hear it: another speaker (speed
    perturbation), a time shift, reverberation, a cheap microphone's response, a level from
    whispered to shouted, background noise at a random SNR (or only a faint floor), clipping."""
    x = place(rng, audio.speed(utterance, rng.uniform(*cfg.speed)))
    if rng.random() < cfg.reverb_probability:
        x = audio.reverb(rng, x, rt60_s=cfg.rt60_s)
    x = audio.at_level(audio.microphone(rng, x), rng.uniform(*cfg.level_dbfs))
    noise = background(rng, babble_pool)
    if rng.random() < cfg.noise_probability:
        x = audio.mix_at_snr(x, noise, rng.uniform(*cfg.snr_db))
    else:
        x = x + noise * 10 ** (rng.uniform(-90, -60) / 20)
    if rng.random() < cfg.clip_probability:
        x = audio.clip_hard(rng, x * 10 ** (rng.uniform(6, 20) / 20))
    return audio.to_int16(x)


def silence(rng: np.random.Generator, babble_pool: list[np.ndarray]) -> np.ndarray:
    """Silence at every level a board hears: digital zero, a quiet room's floor, a few LSB of
    converter noise, hum, loud machine noise; distant babble only when faint."""
    draw = rng.random()
    if draw < 0.08:
        return np.zeros(audio.CLIP, dtype=np.int16)
    if draw < 0.88:
        noise = background(rng, babble_pool, kind=int(rng.integers(0, 4)))
        if draw < 0.3:  # a few LSB: what an idle converter gives
            return audio.to_int16(noise * rng.uniform(0.3, 30) / 32767)
        return audio.to_int16(audio.at_level(audio.microphone(rng, noise), rng.uniform(-75, -8)))
    return audio.to_int16(audio.at_level(background(rng, babble_pool, kind=4), rng.uniform(-75, -40)))


def generate(cfg: KwsConfig = KwsConfig(), workers: int = 2, progress: bool = True) -> Dataset:
    for engine in cfg.engines:
        if engine not in tts.ENGINES:
            raise TinymlError(f"unknown speech engine {engine!r}: choose from {', '.join(tts.ENGINES)}")
        if not tts.ENGINES[engine].available():
            raise tts.not_installed(engine)
    if cfg.test_engine and cfg.test_engine not in cfg.engines:
        raise TinymlError(f"test_engine {cfg.test_engine!r} is not one of the engines {cfg.engines}")
    rng = np.random.default_rng(cfg.seed)
    voices = voices_by_split(cfg.seed, cfg.engines, cfg.test_engine)
    by_engine = {s: {e: [v for v in voices[s] if v[0] == e] for e in cfg.engines} for s in SPLITS}
    per_utterance = cfg.augmentations_per_utterance
    jobs, job_meta = [], []  # tts jobs, and (class index, split, voice id)
    voice_ids = {v: i for i, v in enumerate(sorted({v for vs in voices.values() for v in vs}))}
    share = np.array([ENGINE_SHARE.get(e, 0.2) for e in cfg.engines])
    wanted = [int(cfg.clips_per_class * (cfg.unknown_factor if c == "_unknown_" else 1)) for c in CLASSES]
    for label, name in enumerate(CLASSES):
        if name == "_silence_":
            continue
        for _ in range(-(-wanted[label] // per_utterance)):
            split = SPLITS[rng.choice(3, p=[0.7, 0.15, 0.15])]
            present = np.array([bool(by_engine[split][e]) for e in cfg.engines])
            engine = cfg.engines[rng.choice(len(cfg.engines), p=share * present / (share * present).sum())]
            pool = by_engine[split][engine]
            voice = pool[rng.integers(0, len(pool))]
            word = UNKNOWN_WORDS[rng.integers(0, len(UNKNOWN_WORDS))] if name == "_unknown_" else name
            word += cfg.intonations[rng.integers(0, len(cfg.intonations))]
            jobs.append((engine, word, voice[1], float(rng.uniform(0.8, 1.25)),
                         float(rng.uniform(*cfg.pitch))))
            job_meta.append((label, SPLITS.index(split), voice_ids[voice]))
    utterances = speak_all(jobs, workers, progress)  # cached: only new words are spoken
    babble_pools = {s: [u for u, m in zip(utterances, job_meta) if m[1] == s and
                        m[0] == CLASSES.index("_unknown_")] for s in range(3)}
    clips, labels, splits, groups = [], [], [], []
    made = np.zeros(len(CLASSES), dtype=np.int64)
    bar = tqdm(total=len(utterances) * per_utterance + cfg.silence_clips, desc="augmenting",
               unit="clip", disable=not progress)
    for utterance, (label, split, voice) in zip(utterances, job_meta):
        for _ in range(per_utterance):
            if made[label] >= wanted[label]:
                break
            made[label] += 1
            clips.append(augment(rng, utterance, cfg, babble_pools[split] or utterances))
            labels.append(label)
            splits.append(split)
            groups.append(voice)
            bar.update()
    for _ in range(cfg.silence_clips):
        split = int(rng.choice(3, p=[0.7, 0.15, 0.15]))
        clips.append(silence(rng, babble_pools[split] or utterances))
        labels.append(CLASSES.index("_silence_"))
        splits.append(split)
        groups.append(-1)
        bar.update()
    bar.close()
    return Dataset("kws", np.stack(clips), np.array(labels, dtype=np.int16),
                   np.array(splits, dtype=np.int8), CLASSES, audio.RATE,
                   np.array(groups, dtype=np.int32),
                   {"source": f"synthetic speech ({', '.join(cfg.engines)})", "config": asdict(cfg),
                    "voices": {s: len(v) for s, v in voices.items()},
                    "group_voices": [f"{e}:{v}" for e, v in voice_ids],  # groups index this
                    "licenses": {e: tts.ENGINES[e].license for e in cfg.engines},
                    "test_voices": (f"{cfg.test_engine} only, left out of training" if cfg.test_engine
                                    else "espeak-ng voices unheard in training; the other engines' "
                                         "speakers are in every split, saying other utterances")})
