"""The front-ends in numpy, operation for operation as features/c/ computes them in float32.

Same tables, same radix-2 FFT, same summation order, same rounding: the only difference left
is the last bit of logf between libm implementations, which moves an int8 feature by at
most one step, and rarely.
"""

from __future__ import annotations

import numpy as np

from tinyml.features import tables
from tinyml.features.spec import MfccSpec, SpectrumSpec

F32 = np.float32


def fft_radix2(re: np.ndarray, im: np.ndarray, cos: np.ndarray, sin: np.ndarray):
    """In-place style iterative radix-2 DIT FFT over the last axis, float32, as tm_fft()."""
    n = re.shape[-1]
    bits = n.bit_length() - 1
    rev = np.array([int(format(i, f"0{bits}b")[::-1], 2) for i in range(n)])
    re, im = re[..., rev].astype(F32), im[..., rev].astype(F32)
    size = 2
    while size <= n:
        half, step = size // 2, n // size
        wr, wi = cos[::step][:half], sin[::step][:half]
        shape = re.shape[:-1] + (n // size, size)
        r, i = re.reshape(shape), im.reshape(shape)
        ar, ai = r[..., :half].copy(), i[..., :half].copy()
        br, bi = r[..., half:], i[..., half:]
        tr = (br * wr).astype(F32) - (bi * wi).astype(F32)
        ti = (br * wi).astype(F32) + (bi * wr).astype(F32)
        r[..., half:] = ar - tr
        i[..., half:] = ai - ti
        r[..., :half] = ar + tr
        i[..., :half] = ai + ti
        re, im = r.reshape(re.shape), i.reshape(im.shape)
        size *= 2
    return re, im


def quantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """round(v / scale) half away from zero, + zero_point, clamped to int8: as fe_quantize()."""
    v = (values.astype(F32) / F32(scale)).astype(F32)
    r = np.sign(v) * np.floor(np.abs(v) + F32(0.5))
    return np.clip(r + zero_point, -128, 127).astype(np.int8)


def normalize_window(windows: np.ndarray, spec: MfccSpec) -> np.ndarray:
    """int8 windows [..., frames, coefficients] as the model takes them: unchanged, or with
    normalize "window_mean" each coefficient minus its mean over the frames, the mean rounded
    half away from zero in integers and the difference saturated to int8 (fe_mfcc_normalize())."""
    windows = np.asarray(windows, dtype=np.int8)
    if spec.normalize == "none":
        return windows
    n = windows.shape[-2]
    total = windows.astype(np.int32).sum(axis=-2, keepdims=True)
    mean = np.where(total >= 0, (2 * total + n) // (2 * n), -((n - 2 * total) // (2 * n)))
    return np.clip(windows.astype(np.int32) - mean, -128, 127).astype(np.int8)


def mfcc(clips: np.ndarray, spec: MfccSpec = MfccSpec()) -> np.ndarray:
    """float32 MFCC [clips, frames, coefficients] of int16 clips [clips, samples]."""
    clips = np.atleast_2d(clips)
    window = tables.hann(spec.window)
    weights = tables.mel_filterbank(spec)
    dct = tables.dct_matrix(spec)
    cos, sin = tables.twiddles(spec.fft)
    starts = np.arange(spec.frames) * spec.stride
    frames = clips[:, starts[:, None] + np.arange(spec.window)[None, :]]
    x = np.zeros(frames.shape[:2] + (spec.fft,), dtype=F32)
    x[..., :spec.window] = (frames.astype(F32) / F32(32768.0)) * window
    re, im = fft_radix2(x, np.zeros_like(x), cos, sin)
    bins = spec.fft // 2 + 1
    power = (re[..., :bins] * re[..., :bins]).astype(F32) + (im[..., :bins] * im[..., :bins]).astype(F32)
    logmel = np.empty(power.shape[:2] + (spec.mel_bands,), dtype=F32)
    for m, row in enumerate(weights):
        acc = np.zeros(power.shape[:2], dtype=F32)
        for k in np.flatnonzero(row):
            acc = (acc + (power[..., k] * row[k]).astype(F32)).astype(F32)
        logmel[..., m] = np.log((acc + F32(spec.log_floor)).astype(F32))
    out = np.empty(power.shape[:2] + (spec.coefficients,), dtype=F32)
    for c in range(spec.coefficients):
        acc = np.zeros(power.shape[:2], dtype=F32)
        for m in range(spec.mel_bands):
            acc = (acc + (logmel[..., m] * dct[c, m]).astype(F32)).astype(F32)
        out[..., c] = acc
    return out


def spectrum(windows: np.ndarray, spec: SpectrumSpec = SpectrumSpec()) -> np.ndarray:
    """float32 band energies [windows, axes, bands] of int16 counts [windows, axes, samples]."""
    windows = np.asarray(windows)
    if windows.ndim == 2:
        windows = windows[None]
    x = (windows.astype(F32) * F32(spec.g_per_count)).astype(F32)
    total = np.zeros(x.shape[:2], dtype=F32)
    for i in range(spec.window):
        total = (total + x[..., i]).astype(F32)
    x = (x - (total / F32(spec.window)).astype(F32)[..., None]).astype(F32)
    buf = np.zeros(x.shape[:2] + (spec.fft,), dtype=F32)
    buf[..., :spec.window] = (x * tables.hann(spec.window)).astype(F32)
    cos, sin = tables.twiddles(spec.fft)
    re, im = fft_radix2(buf, np.zeros_like(buf), cos, sin)
    per_band = (spec.fft // 2) // spec.bands
    out = np.empty(x.shape[:2] + (spec.bands,), dtype=F32)
    for b in range(spec.bands):
        acc = np.zeros(x.shape[:2], dtype=F32)
        for k in range(1 + b * per_band, 1 + (b + 1) * per_band):
            p = ((re[..., k] * re[..., k]).astype(F32) + (im[..., k] * im[..., k]).astype(F32)).astype(F32)
            acc = (acc + p).astype(F32)
        out[..., b] = np.log((acc + F32(spec.log_floor)).astype(F32))
    return out


def to_counts(g: np.ndarray, spec: SpectrumSpec = SpectrumSpec()) -> np.ndarray:
    """Accelerometer readings in g as the sensor's int16 counts."""
    return np.clip(np.round(np.asarray(g) / spec.g_per_count), -32768, 32767).astype(np.int16)
