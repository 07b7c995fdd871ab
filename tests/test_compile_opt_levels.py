"""The generated C compiles warning-free at every optimisation level on every core we support,
and the debug builds users make first still give TFLM's bytes.

-O0 is the hard case for tm_gemm.c's inline assembly: no value stays in a register between
statements and r7 is the frame pointer, so the asm's operands compete for fewer registers.
The kernel files are the same in every model's folder: each (core, level) compiles them once
and each model's generated C once, with -c, two compilers at a time.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from shared import MLPERF, with_shared
from test_compile_engine import CROSS
from tinyml.compile import compile_model
from tinyml.compile.host import STRICT_FLAGS, build_host_runner, run_host
from tinyml.convert.tflm import TflmModel

KWS = MLPERF / "kws_ref_model.tflite"
ARM = ["arm-none-eabi-gcc", "-mthumb"]
CORES = {
    "cortex-m0plus": CROSS["cortex-m0plus"],
    "cortex-m4": CROSS["cortex-m4"],
    "cortex-m4-soft": [*ARM, "-mcpu=cortex-m4", "-mfloat-abi=soft"],
    "cortex-m7": [*ARM, "-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m33": [*ARM, "-mcpu=cortex-m33", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
    "cortex-m55": CROSS["cortex-m55"],
    "avr": CROSS["avr"],
    "host": ["gcc"],
}
LEVELS = ["-O0", "-Og", "-O1", "-O2", "-O3", "-Os"]
ZOO = ["conv_zoo", "dense_autoencoder", "block_edges", "ds_cnn_kws", "residual_net", "vector_edges"]
UNITS = ["kernels", *ZOO,
         pytest.param("kws_ref_model", marks=with_shared("mlperf-tiny", "kws_ref_model.tflite"))]


@pytest.fixture(scope="module")
def models(zoo_model, tmp_path_factory):
    """{name: (model, its C)}: each model compiled in a folder of its own, named after it."""
    sources = {name: zoo_model(name) for name in ZOO}
    if KWS.is_file():
        sources["kws_ref_model"] = KWS
    return {name: (model, compile_model(model, tmp_path_factory.mktemp(name), name=name))
            for name, model in sources.items()}


AVR_RAM = 8192  # the ATmega2560's SRAM: larger models are refused by the board's budget


def too_big_for_avr(result) -> bool:
    return result.arena_bytes > AVR_RAM


@pytest.fixture(scope="module")
def matrix(models, tmp_path_factory):
    """Every unit compiled for every (core, level): {(unit, core, level): CompletedProcess}."""
    first = next(iter(models.values()))[1]
    units = {"kernels": [p for p in first.files if p.suffix == ".c" and p.name.startswith("tm_")]}
    for name, (_, result) in models.items():
        units[name] = [result.out_dir / f"{name}.c"]
    jobs = [(unit, core, level) for unit in units for core in CORES for level in LEVELS
            if not (core == "avr" and unit in models and too_big_for_avr(models[unit][1]))]

    def build(job):
        unit, core, level = job
        cwd = tmp_path_factory.mktemp("obj")  # the objects land here
        cmd = [*CORES[core], *STRICT_FLAGS, "-ffreestanding", level, "-c", *map(str, units[unit])]
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(jobs, pool.map(build, jobs)))


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("unit", UNITS)
def test_generated_c_compiles_warning_free_at_every_level(unit, core, level, matrix, models):
    if core == "avr" and unit in models and too_big_for_avr(models[unit][1]):
        pytest.skip(f"{unit}'s arena ({models[unit][1].arena_bytes:,} B) is more than the "
                    f"ATmega2560's {AVR_RAM:,} B of RAM")
    done = matrix[unit, core, level]
    assert (done.returncode, done.stderr) == (0, ""), done.stderr[-3000:]


@pytest.mark.parametrize("name", ZOO)
def test_host_debug_build_is_bit_exact_with_tflm(name, models):
    """-O0 (no inlining, every value through memory) computes TFLM's bytes too."""
    model, result = models[name]
    runner = build_host_runner(result, cflags=("-O0",))
    tflm = TflmModel(model)
    shape = tuple(tflm.input["shape"][1:])
    inputs = np.random.default_rng(5).integers(-128, 128, size=(300, *shape), dtype=np.int8)
    ours = run_host(runner, inputs, int(np.prod(tflm.output["shape"])))
    assert np.array_equal(ours, tflm.run(inputs))
