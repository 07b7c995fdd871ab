"""Validation benchmark: both default models, the whole test split, on the emulated Cortex-M4.

Trains the default kws and vibration runs (or takes existing ones), then runs `tinyml validate`
on emu-cortex-m4 with the int8 features sent over the serial link (3 QEMU instances side by
side, the default). Records the share of samples whose outputs are byte for byte TFLM's and
the throughput.

Run: .venv/bin/python -m benchmarks.validate [KWS_RUN VIBRATION_RUN]
     (writes benchmarks/results/validate.json)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tinyml.boards import load_board
from tinyml.validate import validate

from benchmarks import default_runs, write_results

BOARD = "emu-cortex-m4"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tinyml-validate-") as tmp:
        kws_run, vibration_run = default_runs(Path(tmp))
        board = load_board(BOARD)
        k = validate(kws_run, board, out_dir=Path(tmp) / "kws", progress=False).summary
        v = validate(vibration_run, board, out_dir=Path(tmp) / "vibration", progress=False).summary
    results = {
        "kws.agreement": k["agreement"], "kws.samples": k["samples"],
        "kws.samples_per_s": k["samples_per_s"], "kws.device_accuracy": k["device_accuracy"],
        "kws.model_instructions_median": k["latency"]["model"]["median"],
        "vibration.agreement": v["agreement"], "vibration.samples": v["samples"],
        "vibration.samples_per_s": v["samples_per_s"], "vibration.device_auc": v["device_auc"],
        "vibration.false_alarm_rate": v["false_alarm_rate"],
        "vibration.detection_rate": v["detection_rate"],
        "_method": f"{os.cpu_count()} cores; `tinyml validate` on {BOARD}, whole test split, int8 "
                   "features over the serial link, 3 QEMU instances (-icount shift=0); agreement = "
                   "share of samples whose int8 outputs equal TFLM's byte for byte",
    }
    write_results("validate", results)


if __name__ == "__main__":
    main()
