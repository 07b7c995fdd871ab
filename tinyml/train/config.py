"""Training configurations: dataclasses with sane defaults, read from and written to TOML."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from tinyml.errors import TinymlError


@dataclass(frozen=True)
class KwsTrainConfig:
    """DS-CNN keyword spotting. size "default" is MLPerf Tiny's DS-CNN (64 channels, for
    Cortex-M4/M7); "small" has 32 channels for 64 KB-RAM parts (Cortex-M0+/M4)."""
    size: str = "default"
    epochs: int = 24
    batch_size: int = 64
    learning_rate: float = 0.003
    seed: int = 0
    clips_per_class: int = 2000     # of the synthetic dataset (ignored for an imported one)
    dataset: str = ""               # a dataset folder; "" = the synthetic set

    def __post_init__(self):
        if self.size not in ("default", "small"):
            raise TinymlError(f"size must be 'default' or 'small', not {self.size!r}")


@dataclass(frozen=True)
class VibrationTrainConfig:
    """Dense autoencoder on normal windows (the anomaly model), plus a small fault classifier."""
    hidden: int = 24
    bottleneck: int = 8
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 0.003
    false_alarm_rate: float = 0.01  # the threshold's target on normal validation windows
    seed: int = 0
    normal_windows: int = 4000
    dataset: str = ""


def load_config(cls, path: Path | None, **overrides):
    """The config in `path` (TOML), with explicit overrides; unknown keys are errors."""
    values = {}
    if path is not None:
        try:
            values = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise TinymlError(f"cannot read config {path}: {exc}") from None
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise TinymlError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(known))}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)


def to_toml(config) -> str:
    lines = []
    for key, value in asdict(config).items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"
