"""Engine benchmark: the compiled models on the emulated Cortex-M4 and M55: the MLPerf Tiny
reference models and ours (the default keyword and vibration models: the runs named on the
command line, or trained here first as `tinyml train` trains them, seeded, so they are the
models `tinyml run` deploys).

Method: QEMU with -icount shift=0 executes one instruction per virtual nanosecond; the bench
firmware reads the MPS2/MPS3 FPGAIO counter around model_invoke() and calibrates it with a
loop of exactly 1,000,000 instructions. Figures are instructions, not cycles. Every output
byte is checked against TFLite Micro before a figure is recorded.

Run: .venv/bin/python -m benchmarks.engine [KWS_RUN VIBRATION_RUN]
     (writes benchmarks/results/engine.json; without runs, trains the default models first)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from tinyml.boards import load_board
from tinyml.convert.tflm import TflmModel, minimal_arena
from tinyml.validate.bench import run_on_board

from benchmarks import default_runs, write_results

ROOT = Path(__file__).resolve().parent.parent
MLPERF = ROOT.parent / "shared" / "mlperf-tiny"
MODELS = ["kws_ref_model", "ad01_int8", "pretrainedResnet_quant"]
INPUTS = 3


def measure(path: Path, work: Path) -> dict:
    tflm = TflmModel(path)
    shape = tuple(tflm.input["shape"][1:])
    inputs = np.random.default_rng(0).integers(-128, 128, size=(INPUTS, *shape), dtype=np.int8)
    expected = tflm.run(inputs)
    runs = {}
    for board_id in ("emu-cortex-m4", "emu-cortex-m55"):
        run = run_on_board(path, load_board(board_id), inputs, work / board_id)
        if not np.array_equal(run.outputs, expected):
            sys.exit(f"{path.stem} on {board_id}: outputs differ from TFLM; no figure recorded")
        runs[board_id] = run
    m4, m55 = runs["emu-cortex-m4"], runs["emu-cortex-m55"]
    m4_instr = int(statistics.median(m4.instructions))
    return {
        "m4_instructions": m4_instr,
        "m55_instructions": int(statistics.median(m55.instructions)),
        "m4_instr_per_mac": round(m4_instr / m4.compiled.macs, 3),
        "arena_bytes": m4.compiled.arena_bytes,
        "tflm_arena_bytes": minimal_arena(path),
        "code_bytes": m4.kernel_code_bytes + m4.model_code_bytes,
        "kernel_code_bytes": m4.kernel_code_bytes,
        "generated_code_bytes": m4.model_code_bytes,
        "weights_bytes": m4.weights_bytes,
        "macs": m4.compiled.macs,
        "bit_exact_with_tflm": True,
    }


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="tinyml-bench-") as tmp:
        models = {}
        for stem in MODELS:
            models[stem] = MLPERF / f"{stem}.tflite"
            if not models[stem].is_file():
                sys.exit(f"{models[stem]} is missing: the engine benchmark reads "
                         "../shared/mlperf-tiny/")
        kws_run, vibration_run = default_runs(Path(tmp) / "runs")
        models["tinyml_kws"] = kws_run / "model_int8.tflite"
        models["tinyml_vibration"] = vibration_run / "model_int8.tflite"
        for name, path in models.items():
            print(f"measuring {name} ...", flush=True)
            results[name] = measure(path, Path(tmp) / name)
            print(f"  {results[name]}", flush=True)
    results["_method"] = (
        "QEMU -icount shift=0 (1 instruction per virtual ns), FPGAIO COUNTER read around "
        "model_invoke(), calibrated by a 1,000,000-instruction loop; median of "
        f"{INPUTS} random inputs; instructions, not cycles. Firmware built by PlatformIO with "
        "the local platform (arm-none-eabi-gcc -O2). code_bytes = kernels + generated code as "
        "linked (map file); weights_bytes = the generated code's .rodata. MLPerf models keyed by "
        "file stem; tinyml_kws and tinyml_vibration are the default models of `tinyml train`.")
    write_results("engine", results)


if __name__ == "__main__":
    main()
