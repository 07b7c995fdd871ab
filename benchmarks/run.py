"""The main job's benchmark: `tinyml run kws` with the embedded default (synthetic data,
default model, emu-cortex-m4, whole test split validated), cold and then warm.

Cold: an empty dataset cache and runs folder, so every stage runs (speech synthesis, features,
training, conversion, compilation, firmware build, validation on the board, report). Warm: the
same command again with nothing changed.

Run: .venv/bin/python -m benchmarks.run   (writes benchmarks/results/run.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import write_results



def timed_run(app: str, runs: Path, env: dict) -> tuple[float, str]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tinyml", "run", app, "--runs", str(runs)],
                          capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"tinyml run {app} failed:\n{done.stderr[-3000:]}")
    return round(time.monotonic() - start, 1), done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tinyml-run-") as tmp:
        env = dict(os.environ, TINYML_DATA=str(Path(tmp) / "data"))
        runs = Path(tmp) / "runs"
        cold_s, cold_out = timed_run("kws", runs, env)
        warm_s, warm_out = timed_run("kws", runs, env)
        run_dir = next(p for p in runs.iterdir() if p.is_dir() and p.name.startswith("kws-"))
        validation = json.loads((run_dir / "validate-emu-cortex-m4" / "validation.json").read_text())
        metrics = json.loads((run_dir / "metrics.json").read_text())
    results = {
        "kws.cold_s": cold_s, "kws.warm_s": warm_s,
        "kws.float_acc": metrics["float_acc"], "kws.int8_tflm_acc": metrics["int8_tflm_acc"],
        "kws.device_accuracy": validation["device_accuracy"], "kws.agreement": validation["agreement"],
        "kws.validated_samples": validation["samples"],
        "_summary_cold": cold_out.strip().splitlines()[-7:],
        "_method": f"{os.cpu_count()} cores; `tinyml run kws` (defaults: synthetic data, default "
                   "DS-CNN, emu-cortex-m4, whole test split) with an empty dataset cache, then again",
    }
    write_results("run", results)


if __name__ == "__main__":
    main()
