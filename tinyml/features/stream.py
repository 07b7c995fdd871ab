"""The streaming MFCC front-end in numpy, as features/c/tm_stream.c computes it.

One frame per hop (spec.stride samples) from the last spec.window - spec.stride samples and the
hop; frames go into a ring of spec.frames. Each frame is reference.mfcc() of its own samples,
so a window of the ring is byte for byte the batch reference of the clip it spans: the window
after frame n (n counted from 1) is kws_features() of audio[(n - frames) * stride:][:clip_samples].
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyml.features import reference
from tinyml.features.spec import MfccSpec

BLOCK_FRAMES = 1024  # frames per reference.mfcc() call: bounds the float32 temporaries (~10 MB)


def mfcc_frames(audio: np.ndarray, spec: MfccSpec = MfccSpec()) -> np.ndarray:
    """int8 MFCC frames [n, coefficients] of an int16 recording of any length, one per stride
    from its first sample (n = 0 when it is shorter than one window)."""
    audio = np.asarray(audio, dtype=np.int16).reshape(-1)
    n = 0 if len(audio) < spec.window else 1 + (len(audio) - spec.window) // spec.stride
    out = np.empty((n, spec.coefficients), dtype=np.int8)
    for first in range(0, n, BLOCK_FRAMES):
        count = min(BLOCK_FRAMES, n - first)
        block = replace(spec, clip_samples=spec.window + (count - 1) * spec.stride)
        samples = audio[first * spec.stride:][:block.clip_samples]
        out[first:first + count] = reference.quantize(reference.mfcc(samples[None], block)[0],
                                                      spec.scale, spec.zero_point)
    return out


def frame_end_samples(frames: int | np.ndarray, spec: MfccSpec = MfccSpec()):
    """Samples from the stream's start to the end of frame `frames` (counted from 1): when the
    window that frame completes ends."""
    return (np.asarray(frames) - 1) * spec.stride + spec.window


class MfccStream:
    """tm_stream_t in numpy: push audio in chunks of any size, read the newest window."""

    def __init__(self, spec: MfccSpec = MfccSpec()):
        self.spec = spec
        self.pending = np.zeros(0, dtype=np.int16)  # the kept samples and the hop arriving
        self.ring = np.zeros(spec.shape, dtype=np.int8)
        self.frames = 0                               # computed since the start

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Takes samples; returns the frames they completed [n, coefficients], already in the ring."""
        audio = np.concatenate([self.pending, np.asarray(samples, dtype=np.int16).reshape(-1)])
        new = mfcc_frames(audio, self.spec)
        keep_from = len(new) * self.spec.stride
        self.pending = audio[keep_from:].copy()
        self.frames += max(0, len(new) - self.spec.frames)  # overwritten within this push
        for frame in new[-self.spec.frames:]:
            self.ring[self.frames % self.spec.frames] = frame
            self.frames += 1
        return new

    @property
    def full(self) -> bool:
        return self.frames >= self.spec.frames

    def window(self) -> np.ndarray:
        """The ring in time order, oldest first, normalised as the spec says: the model's int8
        input [frames, coefficients]."""
        in_time = np.roll(self.ring, -(self.frames % self.spec.frames), axis=0)
        return reference.normalize_window(in_time, self.spec)
