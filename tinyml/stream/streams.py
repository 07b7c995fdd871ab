"""Long test recordings for an always-listening spotter, made from a dataset split's clips, with
the keywords' times as ground truth.

Every clip of the split is used once, in a seeded order, as segments of a timeline: a keyword
clip (an Event over its second), a run of 1-12 other-word clips back to back (stretches of
speech with no keyword, the near misses among them), or a silence clip; between segments,
0.2-2.5 s of background noise (white, pink or brown, -75 to -25 dBFS; digital silence now and
then). The voices are those of the split (the test split's never trained on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyml.datasets import audio
from tinyml.stream.evaluate import Event

UNKNOWN_RUN = (1, 12)        # other-word clips in a row
GAP_S = (0.2, 2.5)
GAP_DBFS = (-75.0, -25.0)
ZERO_GAP_PROBABILITY = 0.05


@dataclass
class LongStream:
    audio: np.ndarray            # int16
    events: list[Event]
    sample_rate: int
    counts: dict[str, int]       # clips used, by kind

    @property
    def duration_ms(self) -> int:
        return len(self.audio) * 1000 // self.sample_rate


def _gap(rng: np.random.Generator, rate: int) -> np.ndarray:
    n = int(rng.uniform(*GAP_S) * rate)
    if rng.random() < ZERO_GAP_PROBABILITY:
        return np.zeros(n, np.int16)
    noise = audio.coloured_noise(rng, n, float(rng.integers(0, 3)))
    return audio.to_int16(audio.at_level(noise, rng.uniform(*GAP_DBFS)))


def long_stream(dataset, split: str = "test", seed: int = 0) -> LongStream:
    """The split's clips as one long recording with noise between them (see the module)."""
    data = dataset.subset(split)
    rng = np.random.default_rng(seed)
    rate, classes = data.sample_rate, data.classes
    kind_of = {"_silence_": "silence", "_unknown_": "other"}
    pools: dict[str, list[int]] = {"keyword": [], "other": [], "silence": []}
    for i in rng.permutation(len(data.x)).tolist():
        pools[kind_of.get(classes[data.labels[i]], "keyword")].append(i)
    counts = {k: len(v) for k, v in pools.items()}
    pieces, events, at = [], [], 0
    while any(pools.values()):
        kinds = [k for k in pools if pools[k]]
        weights = np.array([len(pools[k]) / (UNKNOWN_RUN[1] / 2 if k == "other" else 1) for k in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        take = int(rng.integers(UNKNOWN_RUN[0], UNKNOWN_RUN[1] + 1)) if kind == "other" else 1
        for i in pools[kind][:take]:
            clip = np.asarray(data.x[i], dtype=np.int16)
            if kind == "keyword":
                events.append(Event(classes[data.labels[i]], at * 1000 // rate, (at + len(clip)) * 1000 // rate))
            pieces.append(clip)
            at += len(clip)
        del pools[kind][:take]
        gap = _gap(rng, rate)
        pieces.append(gap)
        at += len(gap)
    stream = np.concatenate(pieces) if pieces else np.zeros(0, np.int16)
    return LongStream(stream, events, rate, counts)
