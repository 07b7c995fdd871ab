"""Training configurations: dataclasses with sane defaults, read from and written to TOML.

Every setting carries its rule (type and range): a config that breaks one is refused when it
is read, in one line naming the setting, before any data is made or any model trained.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from tinyml.errors import TinymlError
from tinyml.features.spec import NORMALIZE


@dataclass(frozen=True)
class Integer:
    """An integer from low to high; true/false are not integers here, whatever Python says."""
    low: int
    high: int

    def problem(self, value) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high:
            return None
        return f"must be an integer from {self.low} to {self.high}"


@dataclass(frozen=True)
class Number:
    """A number above low (or from it), up to high (or below it); an integer will do: TOML's
    1 is 1.0."""
    low: float
    high: float
    high_included: bool = True
    low_included: bool = False

    def problem(self, value) -> str | None:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if (number and (self.low <= value if self.low_included else self.low < value)
                and (value <= self.high if self.high_included else value < self.high)):
            return None  # nan fails every comparison, inf the upper one
        return (f"must be a number {'at least' if self.low_included else 'greater than'} {self.low:g} "
                f"and {'at most' if self.high_included else 'less than'} {self.high:g}")


@dataclass(frozen=True)
class OneOf:
    choices: tuple[str, ...]

    def problem(self, value) -> str | None:
        if isinstance(value, str) and value in self.choices:
            return None
        return "must be " + " or ".join(json.dumps(c) for c in self.choices)


@dataclass(frozen=True)
class Folder:
    """A dataset folder, or "" for the synthetic set (whether it exists is checked on loading)."""

    def problem(self, value) -> str | None:
        return None if isinstance(value, str) else 'must be a dataset folder, or "" for the synthetic set'


EPOCHS, BATCH, RATE, SEED = Integer(1, 10_000), Integer(1, 65_536), Number(0, 1), Integer(0, 2**32 - 1)


def _setting(default, rule):
    """A dataclass field with the rule its values follow."""
    return field(default=default, metadata={"rule": rule})


class _Checked:
    """Every setting checked against its rule on construction (numbers stored as floats)."""

    def __post_init__(self):
        for f in fields(self):
            value, rule = getattr(self, f.name), f.metadata["rule"]
            problem = rule.problem(value)
            if problem:
                raise TinymlError(f"{f.name} {problem}, not {value!r}")
            if isinstance(rule, Number):
                object.__setattr__(self, f.name, float(value))


@dataclass(frozen=True)
class KwsTrainConfig(_Checked):
    """DS-CNN keyword spotting. size "default" is MLPerf Tiny's DS-CNN (64 channels, for
    Cortex-M4/M7); "small" has 32 channels for 64 KB-RAM parts (Cortex-M0+/M4)."""
    size: str = _setting("default", OneOf(("default", "small")))
    epochs: int = _setting(40, EPOCHS)
    batch_size: int = _setting(64, BATCH)
    learning_rate: float = _setting(0.003, RATE)
    seed: int = _setting(0, SEED)
    clips_per_class: int = _setting(2000, Integer(10, 20_000))  # of the synthetic set (not an imported one)
    dataset: str = _setting("", Folder())                       # a dataset folder; "" = the synthetic set
    # The network's shape beyond `size` (what `tinyml tune` searches; defaults: MLPerf's DS-CNN).
    channels: int = _setting(0, Integer(0, 512))                # 0: 64 for size "default", 32 for "small"
    blocks: int = _setting(4, Integer(1, 8))                    # depthwise-separable blocks
    kernel_frames: int = _setting(10, Integer(1, 49))           # the first convolution's kernel ...
    kernel_coeffs: int = _setting(4, Integer(1, 40))
    stride_frames: int = _setting(2, Integer(1, 8))             # ... and its stride
    stride_coeffs: int = _setting(2, Integer(1, 8))
    # The MFCC front-end (the C front-end takes any of these; the FFT is the next power of two).
    frame_samples: int = _setting(480, Integer(64, 1024))       # window: 30 ms at 16 kHz
    hop_samples: int = _setting(320, Integer(16, 8000))         # stride: 20 ms
    mel_bands: int = _setting(40, Integer(4, 40))               # int8 holds log-mel silence up to 40 bands
    mfcc_coefficients: int = _setting(10, Integer(1, 40))
    # "window_mean": each coefficient minus its mean over the window (cepstral mean
    # normalisation): better on unheard voices and real speech, more false accepts when listening
    # (README, "Data and the front-end"); "none" is MLPerf Tiny's front-end.
    normalize: str = _setting("none", OneOf(NORMALIZE))
    # Training targets of 1 - label_smoothing for the labelled class, the rest shared by the
    # others (0: the plain labels). 0.1 measured: real speech better, a left-out engine and
    # listening no better (README, "Data and the front-end").
    label_smoothing: float = _setting(0.0, Number(0, 0.5, low_included=True))

    def __post_init__(self):
        super().__post_init__()
        if self.mfcc_coefficients > self.mel_bands:
            raise TinymlError(f"mfcc_coefficients ({self.mfcc_coefficients}) must be at most "
                              f"mel_bands ({self.mel_bands})")
        from tinyml.features.tables import mel_filterbank

        empty = [m for m, row in enumerate(mel_filterbank(self.frontend())) if not row.any()]
        if empty:
            raise TinymlError(f"mel_bands = {self.mel_bands} with frame_samples = {self.frame_samples}: "
                              f"mel band {empty[0]} gets no FFT bin; use fewer bands or longer frames")

    def frontend(self):
        """The MFCC front-end these settings train on (tinyml.features.MfccSpec)."""
        from tinyml.features.spec import MfccSpec

        return MfccSpec(window=self.frame_samples, stride=self.hop_samples,
                        fft=1 << (self.frame_samples - 1).bit_length(), mel_bands=self.mel_bands,
                        coefficients=self.mfcc_coefficients, normalize=self.normalize)

    def architecture(self) -> dict:
        """kws.build_model's shape arguments."""
        return {"channels": self.channels, "blocks": self.blocks,
                "kernel": (self.kernel_frames, self.kernel_coeffs),
                "stride": (self.stride_frames, self.stride_coeffs)}


@dataclass(frozen=True)
class VibrationTrainConfig(_Checked):
    """Dense autoencoder on normal windows (the anomaly model), plus a small fault classifier."""
    hidden: int = _setting(24, Integer(1, 1024))
    bottleneck: int = _setting(8, Integer(1, 1024))
    epochs: int = _setting(60, EPOCHS)
    batch_size: int = _setting(64, BATCH)
    learning_rate: float = _setting(0.003, RATE)
    # the threshold's target on normal validation windows
    false_alarm_rate: float = _setting(0.01, Number(0, 1, high_included=False))
    seed: int = _setting(0, SEED)
    normal_windows: int = _setting(4000, Integer(50, 200_000))
    dataset: str = _setting("", Folder())
    # Band energies per axis: equal groups of the 128 bins of the 256-point FFT (what the C
    # front-end computes), so a divisor of 128.
    bands: int = _setting(16, Integer(1, 128))

    def __post_init__(self):
        super().__post_init__()
        if 128 % self.bands:
            raise TinymlError(f"bands must divide 128 (the FFT's bins: 1, 2, 4, ..., 128), not {self.bands}")

    def frontend(self):
        """The band-energy front-end these settings train on (tinyml.features.SpectrumSpec)."""
        from tinyml.features.spec import SpectrumSpec

        return SpectrumSpec(bands=self.bands)


def load_config(cls, path: Path | None, **overrides):
    """The config in `path` (TOML), with explicit overrides (command-line options: --NAME in
    errors). Unknown keys, wrong types and values out of range are errors, raised here."""
    values = {}
    if path is not None:
        try:
            values = tomllib.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise TinymlError(f"cannot read config {path}: {exc}") from None
    rules = {f.name: f.metadata["rule"] for f in fields(cls)}
    unknown = set(values) - set(rules)
    if unknown:
        raise TinymlError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(rules))}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    given = [(f"{path}: {k} = {_toml_value(v)}", k, v) for k, v in values.items()]
    given += [(f"--{k.replace('_', '-')} {v}", k, v) for k, v in overrides.items()]
    for where, name, value in given:
        problem = rules[name].problem(value)
        if not problem and isinstance(rules[name], Folder) and value and not Path(value, "meta.json").is_file():
            problem = ("no tinyml dataset in that folder (no meta.json): import one with "
                       '`tinyml datasets import`, or use "" for the synthetic set')
        if problem:
            raise TinymlError(f"{where}: {problem}")
    return cls(**{**values, **overrides})


def _toml_value(value) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string: quotes and backslashes escaped
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def to_toml(config) -> str:
    return "".join(f"{key} = {_toml_value(value)}\n" for key, value in asdict(config).items())
