"""Audio building blocks: WAV reading, resampling, noise, reverberation. Deterministic from an RNG."""

from __future__ import annotations

import wave
from math import gcd
from pathlib import Path

import numpy as np
from scipy import signal

from tinyml.errors import TinymlError

RATE = 16000
CLIP = RATE  # one second


def read_wav(path: Path, rate: int | None = RATE) -> np.ndarray:
    """Mono 16-bit PCM as int16; a wrong rate, channel count or width is an error naming the file."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, file_rate, frames = (w.getnchannels(), w.getsampwidth(),
                                                  w.getframerate(), w.getnframes())
            data = w.readframes(frames)
    except (wave.Error, EOFError, OSError) as exc:
        raise TinymlError(f"{path}: not a readable WAV file ({exc})") from None
    if channels != 1 or width != 2:
        raise TinymlError(f"{path}: {channels} channel(s) of {8 * width}-bit audio; expected mono "
                          "16-bit PCM (convert with `sox IN -c 1 -b 16 OUT`)")
    if rate is not None and file_rate != rate:
        raise TinymlError(f"{path}: sampled at {file_rate} Hz; expected {rate} Hz "
                          f"(convert with `sox IN -r {rate} OUT`)")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def resample(x: np.ndarray, from_rate: int, to_rate: int = RATE) -> np.ndarray:
    g = gcd(from_rate, to_rate)
    return signal.resample_poly(np.asarray(x, dtype=np.float64), to_rate // g, from_rate // g)


def trim(x: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    """Cuts leading and trailing silence (below threshold x peak)."""
    loud = np.flatnonzero(np.abs(x) > threshold * (np.abs(x).max() + 1e-12))
    return x[loud[0]:loud[-1] + 1] if loud.size else x


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power falling as 1/f^exponent: 0 white, 1 pink, 2 brown. Unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    return noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)


def hum(rng: np.random.Generator, n: int, rate: int = RATE) -> np.ndarray:
    """Mains hum: 50 or 60 Hz with decaying harmonics and a little noise. Unit RMS."""
    t = np.arange(n) / rate
    base = rng.choice([50.0, 60.0])
    x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3))
            for k in range(1, 8))
    x = x + 0.05 * rng.standard_normal(n)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def reverb(rng: np.random.Generator, x: np.ndarray, rate: int = RATE,
           rt60_s: tuple[float, float] = (0.1, 0.4)) -> np.ndarray:
    """A room: the dry signal plus an exponentially decaying noise tail (RT60 in rt60_s)."""
    rt60 = rng.uniform(*rt60_s)
    n = int(rt60 * rate)
    t = np.arange(n) / rate
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir *= rng.uniform(0.1, 0.4) / (np.sqrt(np.sum(ir ** 2)) + 1e-12)
    ir[0] = 1.0
    return signal.fftconvolve(x, ir)[:x.size]


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    p_clean = np.mean(clean ** 2) + 1e-12
    p_noise = np.mean(noise ** 2) + 1e-12
    return clean + noise * np.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Speed perturbation: played `factor` times faster, so tempo, pitch and formants all move
    together, as between a small and a large vocal tract (Ko et al., 2015)."""
    up = 100
    down = max(1, int(round(up * factor)))
    return signal.resample_poly(np.asarray(x, dtype=np.float64), up, down)


def microphone(rng: np.random.Generator, x: np.ndarray, rate: int = RATE) -> np.ndarray:
    """A cheap microphone and its amplifier: a band-limited response (high-pass 50-400 Hz,
    low-pass 2.5-7.5 kHz, random orders), a resonance or dip of up to +-8 dB somewhere in
    300-4000 Hz, and sometimes a DC offset."""
    low = rng.uniform(50, 400)
    high = rng.uniform(2500, min(7500, rate / 2 - 200))
    sos = signal.butter(int(rng.integers(1, 4)), [low, high], btype="bandpass", fs=rate, output="sos")
    y = signal.sosfilt(sos, x)
    f0, gain_db, q = rng.uniform(300, 4000), rng.uniform(-8, 8), rng.uniform(0.7, 3.0)
    b, a = _peaking(f0, gain_db, q, rate)
    y = signal.lfilter(b, a, y)
    if rng.random() < 0.1:
        y = y + rng.uniform(-0.01, 0.01) * (np.abs(y).max() + 1e-12)
    return y


def _peaking(f0: float, gain_db: float, q: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The audio-EQ-cookbook peaking filter (R. Bristow-Johnson)."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / rate
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * amp, -2 * np.cos(w0), 1 - alpha * amp])
    a = np.array([1 + alpha / amp, -2 * np.cos(w0), 1 - alpha / amp])
    return b / a[0], a / a[0]


def at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """x scaled to an RMS of `dbfs` dB relative to full scale."""
    return x * (10 ** (dbfs / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-12))


def clip_hard(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """An overdriven input stage: the loudest part flattened at a random level."""
    limit = rng.uniform(0.3, 0.9) * (np.abs(x).max() + 1e-12)
    return np.clip(x, -limit, limit)
