"""Dataset benchmark: cold generation time of the default synthetic sets on this machine, and
how often the C front-end's int8 features equal the numpy reference's, over the whole test
split of each.

Run: .venv/bin/python -m benchmarks.datasets   (writes benchmarks/results/datasets.json)
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from tinyml.datasets import kws_synth, vibration_synth
from tinyml.features import MfccSpec, SpectrumSpec, kws_features, reference, vibration_features
from tinyml.features.host import build_runner, run_runner

from benchmarks import write_results



def main() -> None:
    results: dict = {}
    start = time.monotonic()
    kws = kws_synth.generate(kws_synth.KwsConfig())
    results["kws.generate_s"] = round(time.monotonic() - start, 1)
    start = time.monotonic()
    vib = vibration_synth.generate(vibration_synth.VibrationConfig())
    results["vibration.generate_s"] = round(time.monotonic() - start, 1)
    results["kws.clips"] = int(len(kws.x))
    results["kws.clips_per_keyword"] = int(np.bincount(kws.labels)[:len(kws_synth.KEYWORDS)].min())
    results["vibration.windows"] = int(len(vib.x))

    same, total, worst = 0, 0, 0
    with tempfile.TemporaryDirectory(prefix="tinyml-fe-") as tmp:
        for name, data, kind, spec, python_of, c_input in (
                ("kws", kws.subset("test"), "mfcc", MfccSpec(), kws_features, lambda x: x),
                ("vibration", vib.subset("test"), "spectrum", SpectrumSpec(), vibration_features,
                 reference.to_counts)):
            exe = build_runner(Path(tmp) / kind, kind, spec)
            c = run_runner(exe, c_input(data.x), spec.shape).astype(np.int16)
            diff = np.abs(python_of(data.x).astype(np.int16) - c)
            results[f"{name}.features_max_abs_diff"] = int(diff.max())
            results[f"{name}.features_elements"] = int(diff.size)
            same += int(np.sum(diff == 0))
            total += diff.size
            worst = max(worst, int(diff.max()))
    results["features.int8_match_fraction"] = same / total
    results["_method"] = (f"{os.cpu_count()} cores; generation timed cold (no cache), with progress "
                          "bars; match = identical int8 elements, C (gcc -O2, host) vs numpy, "
                          "over the test split of each default synthetic set")
    write_results("datasets", results)


if __name__ == "__main__":
    main()
