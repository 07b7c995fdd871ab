"""The front-ends, specified once. Python (numpy) and C (features/c/) both compute from these
numbers and from the tables derived from them (tables.py), so the device sees what training saw.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

NORMALIZE = ("none", "window_mean")  # MfccSpec.normalize


@dataclass(frozen=True)
class MfccSpec:
    """Keyword spotting: MFCC frames, the MLPerf Tiny KWS front-end (49 x 10 from 1 s at 16 kHz).

    Per frame: `window` samples every `stride` (30 ms / 20 ms), scaled to [-1, 1), times a
    periodic Hann window, zero-padded to `fft` points; power spectrum; `mel_bands` triangular
    HTK-mel filters from `fmin` to `fmax` Hz; natural log of (energy + `log_floor`); orthonormal
    DCT-II, first `coefficients` kept. int8 features are round(v / scale) + zero_point, clamped.

    normalize "window_mean" then takes from each coefficient its mean over the window's frames
    (cepstral mean normalisation, in int8: reference.normalize_window): a microphone's frequency
    response and the talker's level add the same offset to every frame's cepstrum, so they
    cancel. The model's input then has zero point 0 (`input_zero_point`). "none" is MLPerf
    Tiny's front-end, which its reference model takes.
    """
    sample_rate: int = 16000
    clip_samples: int = 16000
    window: int = 480
    stride: int = 320
    fft: int = 512
    mel_bands: int = 40
    fmin: float = 20.0
    fmax: float = 4000.0
    coefficients: int = 10
    log_floor: float = 1e-6
    scale: float = 0.5        # int8 covers [-88, 39.5]: digital silence (-87.4) to loud speech
    zero_point: int = 48
    normalize: str = "none"   # or "window_mean"

    def __post_init__(self):
        if self.normalize not in NORMALIZE:
            raise ValueError(f"normalize must be one of {', '.join(NORMALIZE)}, not {self.normalize!r}")

    @property
    def input_zero_point(self) -> int:
        """The zero point of what the model takes: 0 once normalised (0 = the window's mean)."""
        return 0 if self.normalize == "window_mean" else self.zero_point

    @property
    def frames(self) -> int:
        return 1 + (self.clip_samples - self.window) // self.stride

    @property
    def shape(self) -> tuple[int, int]:
        return self.frames, self.coefficients

    @property
    def work_floats(self) -> int:
        """The C front-end's work buffer (tm_frontend.h): the FFT's real and imaginary parts,
        then the log-mel bands."""
        return 2 * self.fft + self.mel_bands

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SpectrumSpec:
    """Vibration: per-axis band energies of one window.

    Input: int16 accelerometer counts, `g_per_count` g each (an ADXL345 at full resolution:
    3.9 mg). Per axis: counts times g_per_count, mean removed, times a periodic Hann window, `fft`-point power spectrum; bins
    1 .. fft/2 (DC dropped) summed in `bands` equal groups; natural log of (energy +
    `log_floor`). Features are [axes x bands], axis-major. int8 as for MfccSpec.
    """
    sample_rate: int = 3200
    window: int = 256
    g_per_count: float = 0.0039
    axes: int = 3
    fft: int = 256
    bands: int = 16
    log_floor: float = 1e-9
    scale: float = 0.125      # int8 covers [-21, 10.9] in log(g^2): the sensor floor to heavy faults
    zero_point: int = 40

    @property
    def shape(self) -> tuple[int, int]:
        return self.axes, self.bands

    def as_dict(self) -> dict:
        return asdict(self)
