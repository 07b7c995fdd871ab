"""Speed and memory measurements; each writes benchmarks/results/NAME.json (see README.md)."""

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(name: str, results: dict) -> Path:
    """benchmarks/results/NAME.json, and the same on stdout."""
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return out
