"""Engine benchmark: compiled models on the emulated Cortex-M4 and M55, next to TFLM + CMSIS-NN.

Measures every MLPerf Tiny model in ../shared/mlperf-tiny/, any .tflite named on the command
line, and (with no arguments, as before) our default keyword and vibration models, trained
here first as `tinyml train` trains them, seeded, so they are the models `tinyml run` deploys.
Each model runs on both emulated cores; where ../shared/anchors/ holds a TFLM + CMSIS-NN
firmware for the same model (same sha256), that firmware runs on the same QEMU in the same run
and the ratios ours / theirs are recorded: m4_vs_cmsis_nn, m55_vs_cmsis_nn (instructions),
arena_vs_tflm (our arena / TFLM's smallest working arena) and *_code_vs_cmsis_nn (our
kernels and generated code / TFLM's and CMSIS-NN's code in the anchor). Each model is built
twice: for speed, and with --optimize memory (row bands), whose extra instructions are recorded.

Method: QEMU with -icount shift=0 executes one instruction per virtual nanosecond; our bench
firmware reads the MPS2/MPS3 FPGAIO counter around model_invoke() and calibrates it with a
loop of exactly 1,000,000 instructions; the anchors read the same counter around Invoke()
(../shared/anchors/README.md). Figures are instructions, not cycles. Every output byte of
ours is checked against TFLite Micro before a figure is recorded, and on the anchors' check
vector against the anchor's own output.

Run:  .venv/bin/python -m benchmarks.engine                 MLPerf + our trained default models
      .venv/bin/python -m benchmarks.engine --no-train      MLPerf models only
      .venv/bin/python -m benchmarks.engine A.tflite ...    these models too (no training)
      .venv/bin/python -m benchmarks.engine --runs KWS_RUN VIBRATION_RUN
                                                            our models from these runs
Results are merged into benchmarks/results/engine.json: models not measured keep their entry.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tinyml.boards import load_board
from tinyml.convert.tflm import TflmModel, minimal_arena
from tinyml.errors import TinymlError
from tinyml.tools import proc
from tinyml.validate.bench import run_on_board

from benchmarks import RESULTS, write_results

ROOT = Path(__file__).resolve().parent.parent
MLPERF = ROOT.parent / "shared" / "mlperf-tiny"
ANCHORS = ROOT.parent / "shared" / "anchors"
BOARDS = {"m4": "emu-cortex-m4", "m55": "emu-cortex-m55"}
RANDOM_INPUTS = 2           # besides the anchors' check vector
ANCHOR_TIMEOUT_S = 600


def check_vector(shape: tuple[int, ...]) -> np.ndarray:
    """The anchors' input: input[i] = (int8)(((i * 7) % 256) - 128)."""
    n = int(np.prod(shape))
    return ((np.arange(n) * 7 % 256) - 128).astype(np.int8).reshape(shape)


def anchor_for(path: Path, core: str) -> Path | None:
    """The TFLM + CMSIS-NN firmware of this very model (by sha256) for the core, if any."""
    index = ANCHORS / "anchors.json"
    if not index.is_file():
        return None
    known = json.loads(index.read_text()).get("meta", {}).get("models_sha256", {})
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    stem = next((name for name, sha in known.items() if sha == digest), None)
    elf = ANCHORS / f"{stem}-{core}.elf" if stem else None
    return elf if elf is not None and elf.is_file() else None


def run_anchor(elf: Path, board_id: str) -> dict:
    """Runs an anchor firmware as ../shared/anchors/run_anchor.sh does; its printed figures."""
    board = load_board(board_id)
    cmd = [board.flash["emulator"], "-M", board.flash["machine"], "-nographic", "-icount",
           "shift=0", "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    done = proc.run(cmd, timeout=ANCHOR_TIMEOUT_S, what=f"the anchor {elf.name}",
                    stdin=subprocess.DEVNULL)
    lines = done.stdout.replace("\r", "").splitlines()
    fields = dict(line.split("=", 1) for line in lines if "=" in line and " " not in line)
    if "DONE" not in lines or "instructions" not in fields or any(
            line.startswith("error=") for line in lines):
        raise TinymlError(f"the anchor {elf.name} failed on {board.flash['machine']}: "
                          f"{' | '.join(lines[-4:])}")
    return {"instructions": int(fields["instructions"]), "arena_used": int(fields["arena_used"]),
            "output": fields["output"]}


def measure(path: Path, work: Path, anchors: bool = True) -> dict:
    """Our figures for one model on both cores, and the anchors' beside them where they exist."""
    tflm = TflmModel(path)
    shape = tuple(tflm.input["shape"][1:])
    rng = np.random.default_rng(0)
    inputs = np.concatenate([check_vector(shape)[None],
                             rng.integers(-128, 128, size=(RANDOM_INPUTS, *shape), dtype=np.int8)])
    expected = tflm.run(inputs)
    runs = {core: _run(path, board_id, inputs, expected, work / board_id, "speed")
            for core, board_id in BOARDS.items()}
    m4, m55 = runs["m4"], runs["m55"]
    m4_instr = int(statistics.median(m4.instructions))
    m55_instr = int(statistics.median(m55.instructions))
    tflm_arena = minimal_arena(path)
    result = {
        "m4_instructions": m4_instr,
        "m55_instructions": m55_instr,
        "m4_instr_per_mac": round(m4_instr / m4.compiled.macs, 3),
        "m55_instr_per_mac": round(m55_instr / m55.compiled.macs, 3),
        "speed_arena_bytes": m4.compiled.arena_bytes,
        "tflm_arena_bytes": tflm_arena,
        "code_bytes": m4.kernel_code_bytes + m4.model_code_bytes,
        "kernel_code_bytes": m4.kernel_code_bytes,
        "generated_code_bytes": m4.model_code_bytes,
        "m55_code_bytes": m55.kernel_code_bytes + m55.model_code_bytes,
        "weights_bytes": m4.weights_bytes,
        "macs": m4.compiled.macs,
        "bit_exact_with_tflm": True,
    }
    # --optimize memory: row bands where they shrink the arena, and what they cost.
    small = {core: _run(path, board_id, inputs, expected, work / f"{board_id}-memory", "memory")
             for core, board_id in BOARDS.items()}
    bands = small["m4"].compiled.bands
    result.update({
        "arena_bytes": small["m4"].compiled.arena_bytes,
        "arena_vs_tflm": round(small["m4"].compiled.arena_bytes / tflm_arena, 3),
        "speed_arena_vs_tflm": round(m4.compiled.arena_bytes / tflm_arena, 3),
        "memory_bands": bands,
        "memory_m4_instructions": int(statistics.median(small["m4"].instructions)),
        "memory_m55_instructions": int(statistics.median(small["m55"].instructions)),
        "memory_code_bytes": small["m4"].kernel_code_bytes + small["m4"].model_code_bytes,
        "memory_m55_code_bytes": small["m55"].kernel_code_bytes + small["m55"].model_code_bytes,
    })
    for core in BOARDS:
        extra = result[f"memory_{core}_instructions"] - result[f"{core}_instructions"]
        result[f"memory_extra_instructions_{core}"] = extra
    for core, run in runs.items():
        elf = anchor_for(path, core) if anchors else None
        if elf is None:
            continue
        anchor = run_anchor(elf, BOARDS[core])
        ours = run.outputs[0].view(np.uint8).tobytes().hex()
        if anchor["output"] != ours:
            raise TinymlError(f"{elf.name} printed {anchor['output'][:24]}... for the check "
                              f"vector, ours and TFLM's is {ours[:24]}...")
        result[f"cmsis_nn_{core}_instructions"] = anchor["instructions"]
        result[f"cmsis_nn_{core}_arena_used"] = anchor["arena_used"]
        ratio = result[f"{core}_instructions"] / anchor["instructions"]
        result[f"{core}_vs_cmsis_nn"] = round(ratio, 3)
        runtime = _anchor_runtime_bytes(elf)
        if runtime:
            code = "code_bytes" if core == "m4" else "m55_code_bytes"
            result[f"cmsis_nn_{core}_code_bytes"] = runtime
            result[f"{core}_code_vs_cmsis_nn"] = round(result[code] / runtime, 3)
            result[f"memory_{core}_code_vs_cmsis_nn"] = round(result[f"memory_{code}"] / runtime, 3)
    return result


def _run(path: Path, board_id: str, inputs: np.ndarray, expected: np.ndarray, work: Path, optimize: str):
    """One model on one emulated core, its outputs checked against TFLM's before anything counts."""
    run = run_on_board(path, load_board(board_id), inputs, work, optimize=optimize)
    if not np.array_equal(run.outputs, expected):
        raise TinymlError(f"{path.name} on {board_id} (--optimize {optimize}): outputs differ from "
                          "TFLM; no figure recorded")
    return run


def _anchor_runtime_bytes(elf: Path) -> int | None:
    """The flash that TFLM and CMSIS-NN's code take in the anchor firmware (anchors.json's
    tflm_cmsis_nn_flash_bytes: runtime and kernels, without the model and start-up)."""
    anchors = json.loads((ANCHORS / "anchors.json").read_text()).get("anchors", {})
    return anchors.get(elf.stem, {}).get("tflm_cmsis_nn_flash_bytes")


def _models(args: argparse.Namespace, work: Path) -> dict[str, Path]:
    """name -> .tflite, in the order they are measured."""
    models: dict[str, Path] = {}
    if not args.no_mlperf and MLPERF.is_dir():
        models.update((p.stem, p) for p in sorted(MLPERF.glob("*.tflite")))
    for given in args.models:
        path = Path(given)
        if path.is_dir() and (path / "model_int8.tflite").is_file():
            models[path.name] = path / "model_int8.tflite"  # a `tinyml train` run
        elif path.is_file():
            models[path.stem] = path
        else:
            raise TinymlError(f"{given} is neither a .tflite file nor a run folder with "
                              "model_int8.tflite")
    runs = args.runs
    if runs is None and not args.models and not args.no_train:
        from benchmarks import default_runs

        runs = default_runs(work / "runs")  # trains the default models (a few minutes)
    if runs is not None:
        models["tinyml_kws"] = Path(runs[0]) / "model_int8.tflite"
        models["tinyml_vibration"] = Path(runs[1]) / "model_int8.tflite"
    if not models:
        raise TinymlError(f"nothing to measure: {MLPERF} is missing and no model was named")
    return models


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.engine",
        description="Instructions per inference of compiled models on QEMU's Cortex-M4 and M55, "
                    "next to TFLM + CMSIS-NN (../shared/anchors/); writes "
                    "benchmarks/results/engine.json.",
        epilog="With no arguments: the MLPerf Tiny models and our default models, trained first.")
    parser.add_argument("models", nargs="*", metavar="MODEL",
                        help="a .tflite, or a `tinyml train` run folder (its model_int8.tflite); "
                             "measured besides the MLPerf models, and nothing is trained")
    parser.add_argument("--runs", nargs=2, metavar=("KWS_RUN", "VIBRATION_RUN"),
                        help="our default models from these run folders instead of training them")
    parser.add_argument("--no-train", action="store_true",
                        help="do not train our default models (with no MODEL: the MLPerf models "
                             "only)")
    parser.add_argument("--no-mlperf", action="store_true",
                        help="leave out the models of ../shared/mlperf-tiny/")
    parser.add_argument("--no-anchors", action="store_true",
                        help="do not run the TFLM + CMSIS-NN anchors")
    args = parser.parse_args(argv)
    # The earlier form, `engine KWS_RUN VIBRATION_RUN` (two run folders), still works.
    if args.runs is None and len(args.models) == 2 and all(Path(m).is_dir() for m in args.models):
        args.runs, args.models = args.models, []
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = RESULTS / "engine.json"
    results = json.loads(out.read_text()) if out.is_file() else {}
    try:
        with tempfile.TemporaryDirectory(prefix="tinyml-bench-") as tmp:
            for name, path in _models(args, Path(tmp)).items():
                print(f"measuring {name} ...", flush=True)
                results[name] = measure(path, Path(tmp) / name, anchors=not args.no_anchors)
                print(f"  {results[name]}", flush=True)
    except TinymlError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    results["_method"] = (
        "QEMU 7.2 -icount shift=0 (1 instruction per virtual ns), FPGAIO COUNTER read around "
        "model_invoke(), calibrated by a 1,000,000-instruction loop; median of the anchors' "
        f"check vector and {RANDOM_INPUTS} random inputs; instructions, not cycles. Firmware "
        "built by PlatformIO with the local platform (arm-none-eabi-gcc 12 -O2; -mcpu=cortex-m4 "
        "selects the DSP kernels, -mcpu=cortex-m55 the Helium ones). code_bytes = kernels + "
        "generated code as linked on the M4 (map file), m55_code_bytes the same on the M55; "
        "weights_bytes = the generated code's .rodata. cmsis_nn_* are the TFLM + CMSIS-NN "
        "anchors of ../shared/anchors/ run on the same QEMU in the same run (instructions per "
        "Invoke() and arena_used as they print them); *_vs_cmsis_nn = ours / theirs; "
        "arena_vs_tflm = arena_bytes / tflm_arena_bytes (TFLM's smallest working arena, host "
        "build). arena_bytes and arena_vs_tflm are with `tinyml compile --optimize memory` (row "
        "bands where they shrink the arena; memory_bands of them), speed_arena_* without; "
        "memory_*_instructions are that build's, memory_extra_instructions_* what it costs over "
        "the speed build (whose instructions are m4_instructions, m55_instructions). "
        "*_code_vs_cmsis_nn = our kernels + generated code / the anchor's TFLM + CMSIS-NN code "
        "(anchors.json tflm_cmsis_nn_flash_bytes), memory_* for the memory build. MLPerf models "
        "keyed by file stem; tinyml_kws and tinyml_vibration are the default models of `tinyml "
        "train`. Each run replaces the entries of the models it "
        "measured and keeps the others.")
    write_results("engine", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
