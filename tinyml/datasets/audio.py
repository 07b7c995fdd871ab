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


def reverb(rng: np.random.Generator, x: np.ndarray, rate: int = RATE) -> np.ndarray:
    """A small room: the dry signal plus an exponentially decaying noise tail (RT60 0.1-0.4 s)."""
    rt60 = rng.uniform(0.1, 0.4)
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
