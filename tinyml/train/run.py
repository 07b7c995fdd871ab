"""A run folder: everything one training run produced, under runs/<app>-<timestamp>/."""

from __future__ import annotations

import json
import time
from pathlib import Path


def new_run_dir(app: str, root: Path | None = None) -> Path:
    root = Path(root or "runs")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = root / f"{app}-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = root / f"{app}-{stamp}-{n}"
    folder.mkdir(parents=True)
    return folder


def write_metrics(folder: Path, metrics: dict) -> Path:
    path = Path(folder) / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2, default=float) + "\n")
    return path


def read_metrics(folder: Path) -> dict:
    return json.loads((Path(folder) / "metrics.json").read_text())
