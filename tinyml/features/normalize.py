"""Per-machine normalisation of int8 band energies: each feature minus the machine's normal level.

Band energies are logarithms, so a machine's sensor gain, mounting and resonance shift them by
a per-band offset. The model sees q - level (saturated to int8), where level[i] is the mean of
feature i over the machine running normally: the deviation from that machine's normal, in the
same scale with zero point 0. Training computes a level per simulated machine; `tinyml calibrate`
measures the level of the machine a board is bolted to. The device (apps/vibration) subtracts
the same integers, so host and device agree bit for bit.
"""

from __future__ import annotations

import numpy as np

ZERO_POINT = 0  # of normalised features: 0 is the machine's normal level


def normal_level(features_q: np.ndarray) -> np.ndarray:
    """int16 level per feature: the rounded mean of int8 features [windows, ...] of normal running."""
    q = np.asarray(features_q).reshape(len(features_q), -1)
    if not len(q):
        raise ValueError("a normal level needs at least one window")
    return np.round(q.astype(np.float64).mean(axis=0)).astype(np.int16)


def normalize(features_q: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """int8 features [windows, n] minus levels ([n], or one row per window), saturated."""
    q = np.asarray(features_q).reshape(len(features_q), -1).astype(np.int16)
    return np.clip(q - np.asarray(levels, dtype=np.int16), -128, 127).astype(np.int8)
