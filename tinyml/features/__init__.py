"""Stage 2: features. One front-end specification (spec.py), two implementations: numpy
(reference.py, used for training) and C (c/, used by the firmware), kept in agreement by test.

    from tinyml import features
    x = features.kws_features(dataset.x)          # int8 [clips, 49, 10]
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyml.features import reference
from tinyml.features.spec import MfccSpec, SpectrumSpec
from tinyml.features.stream import MfccStream, mfcc_frames

__all__ = ["MfccSpec", "MfccStream", "SpectrumSpec", "dataset_features", "kws_features", "mfcc_frames",
           "vibration_features"]


def kws_features(clips: np.ndarray, spec: MfccSpec = MfccSpec(), batch: int = 512) -> np.ndarray:
    """int8 MFCC features [clips, frames, coefficients] of int16 clips: the model's input
    (normalised as the spec says)."""
    out = [reference.normalize_window(reference.quantize(reference.mfcc(clips[i:i + batch], spec),
                                                         spec.scale, spec.zero_point), spec)
           for i in range(0, len(clips), batch)]
    return np.concatenate(out) if out else np.zeros((0,) + spec.shape, dtype=np.int8)


def vibration_features(windows_g: np.ndarray, spec: SpectrumSpec = SpectrumSpec()) -> np.ndarray:
    """int8 band energies [windows, axes, bands] of accelerometer windows in g."""
    counts = reference.to_counts(windows_g, spec)
    return reference.quantize(reference.spectrum(counts, spec), spec.scale, spec.zero_point)


def dataset_features(dataset, folder=None, spec: MfccSpec | SpectrumSpec | None = None) -> np.ndarray:
    """int8 features of a whole dataset (tinyml.datasets.Dataset) through `spec` (default: the
    default front-end of its kind), cached beside it in `folder` (features-<spec>.npy, checksum
    in meta.json) when given: the reference front-end is not free."""
    import hashlib

    from tinyml.datasets.store import cached_array

    if spec is None:
        spec = MfccSpec() if dataset.kind == "kws" else SpectrumSpec()
    if isinstance(spec, MfccSpec) and spec.normalize != "none":  # the frames cached, normalised after
        frames = dataset_features(dataset, folder, replace(spec, normalize="none"))
        return reference.normalize_window(frames, spec)

    def compute() -> np.ndarray:
        return kws_features(dataset.x, spec) if dataset.kind == "kws" else vibration_features(dataset.x, spec)

    if folder is None:
        return compute()
    return cached_array(folder, f"features-{hashlib.sha256(repr(spec).encode()).hexdigest()[:10]}.npy", compute)
