"""Speed and memory measurements; each writes benchmarks/results/NAME.json (see README.md)."""

import json
import sys
from pathlib import Path

from tinyml.tools.fs import atomic_file

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(name: str, results: dict) -> Path:
    """benchmarks/results/NAME.json, and the same on stdout."""
    out = RESULTS / f"{name}.json"
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return out


def default_runs(root: Path) -> tuple[Path, Path]:
    """The kws and vibration run folders named on the command line, or else the default
    models trained into root (seeded: the models `tinyml run` deploys)."""
    if len(sys.argv) == 3:
        return Path(sys.argv[1]), Path(sys.argv[2])
    from tinyml.train import KwsTrainConfig, VibrationTrainConfig, kws, vibration

    print("training the default models (a few minutes) ...", flush=True)
    return (kws.train(KwsTrainConfig(), runs_root=root, progress=False).folder,
            vibration.train(VibrationTrainConfig(), runs_root=root, progress=False).folder)
