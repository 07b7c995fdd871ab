"""What `tinyml tune` searches: training settings (tinyml.train.config) that change the model and
its front-end, each with the values tried.

Every value here is a setting `tinyml train --config` takes, so a candidate is its config.
The front-end settings are those the C front-end computes bit for bit like the Python one
whatever their value (it is generated from the spec: window, stride, mel bands and DCT
coefficients for MFCC; the number of equal band groups for vibration). Held fixed: the int8
scale and zero point (the features' range, which the DCT's c0 would leave past 40 mel
bands), the sample rates and the clip and window lengths (the data's and the sensor's), and
the FFT size (the frame's next power of two), so the front-end's own cost changes only
with the number of frames.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyml.features.spec import NORMALIZE

SPACES: dict[str, dict[str, list]] = {
    "kws": {
        "channels": [16, 24, 32, 48, 64],
        "blocks": [1, 2, 3, 4],
        "kernel_frames": [4, 6, 8, 10],
        "kernel_coeffs": [3, 4],
        "stride_frames": [1, 2, 3],
        "stride_coeffs": [1, 2],
        "frame_samples": [400, 480, 512],       # 25, 30, 32 ms: all a 512-point FFT
        "hop_samples": [320, 400, 480, 640],    # 20 to 40 ms: 49 to 25 frames
        "mel_bands": [20, 32, 40],
        "mfcc_coefficients": [10, 13],
        "normalize": list(NORMALIZE),           # the window's cepstral mean taken out, or not
    },
    "vibration": {
        "hidden": [8, 12, 16, 24, 32, 48, 64],
        "bottleneck": [2, 4, 6, 8, 12, 16],
        "bands": [4, 8, 16, 32],
    },
}

# The smallest, fastest model of each space: if it cannot fit a board, nothing can.
SMALLEST = {
    "kws": {"channels": 16, "blocks": 1, "kernel_frames": 4, "kernel_coeffs": 3, "stride_frames": 3,
            "stride_coeffs": 2, "frame_samples": 512, "hop_samples": 640, "mel_bands": 20,
            "mfcc_coefficients": 10, "normalize": "none"},
    "vibration": {"hidden": 8, "bottleneck": 2, "bands": 4},
}


def config_class(app: str):
    from tinyml.train.config import KwsTrainConfig, VibrationTrainConfig

    return KwsTrainConfig if app == "kws" else VibrationTrainConfig


def default_params(app: str) -> dict:
    """The default model's values of the searched settings (`tinyml train`'s model)."""
    cfg = config_class(app)()
    params = {name: getattr(cfg, name) for name in SPACES[app]}
    if app == "kws" and params["channels"] == 0:
        params["channels"] = 64 if cfg.size == "default" else 32
    return params


def starting_points(app: str) -> list[dict]:
    """The trials a study begins with: the default model, then (kws) the same model with fewer
    channels, the likeliest good candidates for a budget smaller than the default's (as the EON
    Tuner starts from reference models). The sampler explores from there."""
    base = default_params(app)
    if app != "kws":
        return [base]
    narrower = sorted((c for c in SPACES["kws"]["channels"] if c < base["channels"]), reverse=True)[:2]
    return [base] + [{**base, "channels": c} for c in narrower]


def candidate_config(base, params: dict):
    """The base training config with the candidate's values: what `--apply` writes."""
    return replace(base, **params)


def suggest(trial, app: str) -> dict:
    """The candidate an Optuna trial proposes."""
    return {name: trial.suggest_categorical(name, choices) for name, choices in SPACES[app].items()}


def sample_params(space: dict[str, list], rng: np.random.Generator) -> dict:
    """A random candidate (the calibration draws its models so)."""
    return {name: choices[int(rng.integers(len(choices)))] for name, choices in space.items()}
