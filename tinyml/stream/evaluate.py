"""Detections against ground truth (false accepts per hour, misses), and thresholds chosen on
validation data for a target false-accept rate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.features.spec import MfccSpec
from tinyml.stream.detect import (IGNORED_CLASSES, DetectConfig, Detection, hop_ms,
                                  threshold_from_probability)

MS_PER_HOUR = 3_600_000


@dataclass(frozen=True)
class Event:
    """A keyword said in a recording: the span (ms from its start) that holds it."""
    label: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Evaluation:
    keywords: int                # events
    misses: int
    false_accepts: int           # detections that match no event (a second one for an event too)
    hours: float
    substitutions: int = 0       # of those, inside another keyword's event: a word taken for another

    @property
    def miss_rate(self) -> float:
        return self.misses / self.keywords if self.keywords else 0.0

    @property
    def false_accepts_per_hour(self) -> float:
        return self.false_accepts / self.hours if self.hours else 0.0

    @property
    def other_false_accepts_per_hour(self) -> float:
        """False accepts an hour that are not substitutions: waking on noise or other speech."""
        return (self.false_accepts - self.substitutions) / self.hours if self.hours else 0.0


def slack_ms(config: DetectConfig, spec: MfccSpec = MfccSpec()) -> int:
    """How long after an event ends a detection may still be of it: the model's window still
    overlaps the event for one clip length, and the score lags by average - 1 inferences."""
    hop = spec.stride * 1000 // spec.sample_rate
    return spec.clip_samples * 1000 // spec.sample_rate + (config.average - 1) * config.every * hop


def _covers(event: Event, d: Detection, slack: int) -> bool:
    """A detection at d.ms may be of `event`: after its start, at most `slack` ms after its end."""
    return event.start_ms < d.ms <= event.end_ms + slack


def events_taken(detections: list[Detection], events: list[Event], slack: int) -> list[int | None]:
    """Per detection, the index of the event it is of (each event taken by its first detection
    of the same label that covers it), or None: a false accept."""
    taken = [False] * len(events)
    out: list[int | None] = []
    for d in detections:
        hit = next((i for i, e in enumerate(events) if not taken[i] and e.label == d.label
                    and _covers(e, d, slack)), None)
        if hit is not None:
            taken[hit] = True
        out.append(hit)
    return out


def match(detections: list[Detection], events: list[Event], slack: int) -> tuple[list[bool], int]:
    """Which detections are of an event (events_taken), and how many events none took."""
    hits = events_taken(detections, events, slack)
    return [h is not None for h in hits], len(events) - sum(h is not None for h in hits)


def evaluate(detections: list[Detection], events: list[Event], duration_ms: int,
             config: DetectConfig, spec: MfccSpec = MfccSpec()) -> Evaluation:
    slack = slack_ms(config, spec)
    correct, misses = match(detections, events, slack)
    substituted = sum(1 for d, ok in zip(detections, correct) if not ok and any(
        e.label != d.label and _covers(e, d, slack) for e in events))
    return Evaluation(keywords=len(events), misses=misses, false_accepts=correct.count(False),
                      hours=duration_ms / MS_PER_HOUR, substitutions=substituted)


def scores_over_time(outputs: np.ndarray, zero_point: int, average: int) -> np.ndarray:
    """[inferences, classes] the detector's scores after each inference (Detector.sums)."""
    total = np.cumsum(np.asarray(outputs, dtype=np.int64) - zero_point, axis=0)
    scores = total.copy()
    scores[average:] -= total[:-average]
    return scores


def _fires(scores: np.ndarray, hops: np.ndarray, threshold: int, refractory: int) -> list[int]:
    """Inferences at which one class alone would fire (the Detector with every other class off)."""
    fired, last = [], None
    for i in np.flatnonzero(scores >= threshold).tolist():
        if last is None or hops[i] - last >= refractory:
            fired.append(i)
            last = hops[i]
    return fired


def pick_thresholds(outputs: np.ndarray, hops: np.ndarray, events: list[Event], classes: list[str],
                    duration_ms: int, target_per_hour: float, config: DetectConfig, scale: float,
                    zero_point: int, spec: MfccSpec = MfccSpec(),
                    min_probability: float = 0.5) -> list[int | None]:
    """Per keyword, the lowest of its scores on this recording (none below min_probability) at
    which it, and at every higher score, fires falsely at most its share of what target_per_hour
    allows here (an equal share per keyword). Lower thresholds down to the next score seen fire
    the same here; staying on a seen score keeps the margin on the false-accept side. A keyword
    no threshold keeps in budget gets one above its highest score. None: _silence_, _unknown_."""
    keywords = [c for c in classes if c not in IGNORED_CLASSES]
    if not keywords:
        raise TinymlError("the model has no keyword classes to set thresholds for")
    budget = target_per_hour * duration_ms / MS_PER_HOUR / len(keywords)
    scores = scores_over_time(outputs, zero_point, config.average)
    refractory, slack = config.refractory_hops(spec), slack_ms(config, spec)
    floor = threshold_from_probability(min_probability, config.average, scale)
    ms = hop_ms(hops, spec)
    thresholds: list[int | None] = []
    for k, label in enumerate(classes):
        if label in IGNORED_CLASSES:
            thresholds.append(None)
            continue
        own = [e for e in events if e.label == label]
        column = scores[:, k]
        chosen = int(column.max(initial=floor - 1)) + 1
        for threshold in sorted({int(v) for v in column if v >= floor}, reverse=True):
            fired = [Detection(hop=int(hops[i]), ms=int(ms[i]), label=label, score=int(column[i]),
                               probability_milli=0) for i in _fires(column, hops, threshold, refractory)]
            correct, _ = match(fired, own, slack)
            if correct.count(False) > budget:
                break
            chosen = threshold
        thresholds.append(max(chosen, floor))
    return thresholds


def validation_stream(dataset, split: str = "val", seed: int = 0,
                      max_clips: int | None = None) -> tuple[np.ndarray, list[Event]]:
    """A split's clips (max_clips of them at random, when given) back to back in a random order,
    one recording, and its keywords' spans (each keyword clip's whole second)."""
    data = dataset.subset(split)
    if len(data.x) == 0:
        raise TinymlError(f"the dataset has no {split} clips to choose thresholds on")
    order = np.random.default_rng(seed).permutation(len(data.x))[:max_clips]
    clip_ms = data.x.shape[1] * 1000 // data.sample_rate
    events = [Event(data.classes[data.labels[i]], j * clip_ms, (j + 1) * clip_ms)
              for j, i in enumerate(order.tolist()) if data.classes[data.labels[i]] not in IGNORED_CLASSES]
    return np.asarray(data.x[order], dtype=np.int16).reshape(-1), events


@dataclass
class ThresholdChoice:
    thresholds: list[int | None]
    validation: Evaluation       # the detector with these thresholds on the validation stream


def choose_thresholds(model, config: DetectConfig, target_per_hour: float,
                      dataset_folder: str | Path | None = None, split: str = "val",
                      max_clips: int | None = None) -> ThresholdChoice:
    """Thresholds for `model` (a simulate.StreamModel) on its run's validation split (or another
    dataset's; max_clips of it at random when given), and how the detector does with them there."""
    from tinyml.datasets.store import load
    from tinyml.stream.simulate import model_outputs, replay

    folder = dataset_folder or model.dataset
    if not folder:
        raise TinymlError(f"{model.path} has no dataset to choose thresholds on: pass a run "
                          "folder (or --dataset DIR)")
    audio, events = validation_stream(load(Path(folder)), split, max_clips=max_clips)
    duration = len(audio) * 1000 // model.spec.sample_rate
    hops, outputs = model_outputs(model, audio, config.every)
    thresholds = pick_thresholds(outputs, hops, events, model.classes, duration, target_per_hour,
                                 config, model.scale, model.zero_point, model.spec)
    found = replay(outputs, hops, model.classes, thresholds, config, model.scale, model.zero_point,
                   model.spec)
    return ThresholdChoice(thresholds, evaluate(found, events, duration, config, model.spec))
