"""Detection over time, as features/c/tm_detect.c decides it: integers only, so the host and the
device cannot disagree on a tie or a rounding.

The model runs every `every` hops once the feature window is full. A class's level is its int8
output minus the zero point; its score is the sum of the last `average` levels (levels before
the first inference count as 0). A class fires when its score reaches its threshold (among those
that do: the highest score, then the lowest index), and nothing fires for `refractory` hops after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyml.errors import TinymlError
from tinyml.features.spec import MfccSpec

IGNORED_CLASSES = ("_silence_", "_unknown_")  # never reported (as the kws firmware app)


@dataclass(frozen=True)
class DetectConfig:
    """The timing of detection: the model every `every` hops (20 ms each), the score over
    `average` inferences, `refractory_ms` of quiet after a detection."""
    every: int = 2
    average: int = 3
    refractory_ms: int = 1000

    def __post_init__(self):
        if self.every < 1 or self.average < 1 or self.refractory_ms < 0:
            raise TinymlError(f"detection needs every >= 1 hop, average >= 1 inference and a "
                              f"refractory period >= 0 ms; got {self}")

    def refractory_hops(self, spec: MfccSpec = MfccSpec()) -> int:
        """The refractory period in hops, rounded up: never shorter than asked."""
        return math.ceil(self.refractory_ms * spec.sample_rate / (1000 * spec.stride))


def threshold_from_probability(probability: float, average: int, scale: float) -> int:
    """The smallest score whose mean probability (scale * score / average) is `probability` or more."""
    return max(0, math.ceil(round(probability * average / scale, 6)))


def probability_of(score: int, average: int, scale: float) -> float:
    return float(scale) * score / average


def keyword_thresholds(classes: list[str], probability: float, average: int,
                       scale: float) -> list[int | None]:
    """One probability threshold for every keyword; None (never fires) for _silence_ and _unknown_."""
    value = threshold_from_probability(probability, average, scale)
    return [None if c in IGNORED_CLASSES else value for c in classes]


def is_due(hops: int, every: int, window_frames: int) -> bool:
    """The model runs after hop `hops` (frames computed so far): the window is full, and it is
    a multiple of `every` hops since it first was (tm_detect_due)."""
    return hops >= window_frames and (hops - window_frames) % every == 0


def hop_ms(hops, spec: MfccSpec = MfccSpec()):
    """When the window that hop completes ends, in ms from the stream's start (integer, as the
    device prints it)."""
    return ((np.asarray(hops) - 1) * spec.stride + spec.window) // (spec.sample_rate // 1000)


class Detector:
    """tm_detect_t in Python: step() takes each inference's int8 outputs, returns the class
    that fires or -1."""

    def __init__(self, thresholds: list[int | None], config: DetectConfig = DetectConfig(),
                 zero_point: int = -128, spec: MfccSpec = MfccSpec()):
        self.thresholds = list(thresholds)
        self.average = config.average
        self.every = config.every
        self.window_frames = spec.frames
        self.refractory = config.refractory_hops(spec)
        self.zero_point = int(zero_point)
        classes = len(self.thresholds)
        self.history = [[0] * classes for _ in range(self.average)]
        self.sums = [0] * classes
        self.slot = 0
        self.last_hop: int | None = None

    def due(self, hops: int) -> bool:
        return is_due(hops, self.every, self.window_frames)

    def step(self, output, hops: int) -> int:
        row = self.history[self.slot]
        for c, q in enumerate(output):
            level = int(q) - self.zero_point
            self.sums[c] += level - row[c]
            row[c] = level
        self.slot = (self.slot + 1) % self.average
        if self.last_hop is not None and hops - self.last_hop < self.refractory:
            return -1
        best = -1
        for c, (score, threshold) in enumerate(zip(self.sums, self.thresholds)):
            if threshold is not None and score >= threshold and (best < 0 or score > self.sums[best]):
                best = c
        if best >= 0:
            self.last_hop = hops
        return best


@dataclass(frozen=True)
class Detection:
    hop: int          # frames computed when it fired
    ms: int           # end of the window it fired on, from the stream's start
    label: str
    score: int        # sum of the last `average` levels
    probability_milli: int

    def line(self) -> str:
        """The DETECT line, as the device prints it."""
        return (f"DETECT {self.label} p={self.probability_milli // 1000}."
                f"{self.probability_milli % 1000:03d} t={self.ms // 1000}.{self.ms % 1000:03d}s")


def probability_milli(score: int, average: int, scale: float) -> int:
    """round(1000 x scale x score / average) in float32, in the order the device computes it."""
    f32 = np.float32
    p = f32(f32(f32(scale) * f32(score)) / f32(average))
    return int(f32(f32(p * f32(1000.0)) + f32(0.5)))
