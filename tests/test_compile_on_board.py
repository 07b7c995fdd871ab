"""The vector paths give TFLM's bytes too: the DSP path (SXTB16/SMLAD) on the Cortex-M4 and
the Helium path (VMLADAV, VMLA, VQRDMULH) on the Cortex-M55, both in QEMU.

The host tests cover the portable C; here the same generated code is built by PlatformIO for
the emulated boards, where __ARM_FEATURE_DSP selects the DSP kernels and __ARM_FEATURE_MVE
(-mcpu=cortex-m55) the Helium ones, and run in QEMU. The firmware's disassembly shows which
path was built: Helium instructions in the M55's kernels, none in the M4's.
"""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import model_zoo
from shared import with_shared
from tinyml.boards import load_board
from tinyml.convert.tflm import TflmModel
from tinyml.firmware.render import stack_bytes
from tinyml.validate.bench import run_on_board

pytestmark = pytest.mark.slow

BOARDS = ["emu-cortex-m4", "emu-cortex-m55"]
MLPERF_MODELS = ["kws_ref_model", "ad01_int8", "pretrainedResnet_quant", "vww_96_int8",
                 "str_ww_ref_model", "pretrainedResnet_large_int8"]
ENGINE_MODELS = list(model_zoo.ENGINE_MODELS) + [
    pytest.param(stem, marks=with_shared("mlperf-tiny", f"{stem}.tflite"))
    for stem in MLPERF_MODELS]
# Mnemonics only Helium has (the FPU's share the v prefix, not these: its VMLA is .f32).
HELIUM = re.compile(r"\t(vmlava?\.|vmla\.[si]|vqrdmulh|vrshl|vldr[bw]|vstr[bw]|vctp|vidup|vpst)")
# Per operator: the Helium functions of its kernel (the matrix kernel, the depthwise sums and
# output stage, the fully connected rows), and the DSP functions they replace.
HELIUM_KERNELS = {"CONV_2D": ["tm_mve_gemm_4col_s8"],
                  "DEPTHWISE_CONV_2D": ["vsums_any", "voutputs"],
                  "FULLY_CONNECTED": ["fc_mve"]}
DSP_KERNELS = {"CONV_2D": ["tm_gemm_4col_s8"], "DEPTHWISE_CONV_2D": ["sums_3x3"],
               "FULLY_CONNECTED": ["fc_simd"]}


def helium_instructions(work_dir: Path) -> dict[str, int]:
    """Helium instructions per function of the firmware built in work_dir (its disassembly
    for Armv8.1-M, where they are not shown as coprocessor instructions)."""
    elf = next(Path(work_dir).glob("firmware/.pio/build/*/firmware.elf"))
    done = subprocess.run(["arm-none-eabi-objdump", "-d", "-marmv8.1-m.main", str(elf)],
                          capture_output=True, text=True, timeout=120, check=True)
    counts: dict[str, int] = {}
    function = None
    for line in done.stdout.splitlines():
        header = re.match(r"[0-9a-f]+ <(\w+)>:$", line)
        if header:
            function = header.group(1)
            counts[function] = 0
        elif function and HELIUM.search(line):
            counts[function] += 1
    return counts


def check_vector_path(run, work_dir: Path) -> None:
    """Each kernel the model uses was built for its core: on the M55 with Helium code and
    without the DSP functions, on the M4 with the DSP functions and no Helium at all."""
    counts = helium_instructions(work_dir)
    used = {layer.opcode for layer in run.compiled.layers}
    if run.board == "emu-cortex-m4":
        assert sum(counts.values()) == 0, {f: n for f, n in counts.items() if n}
    for opcode in used & set(HELIUM_KERNELS):
        for function in HELIUM_KERNELS[opcode]:
            if run.board == "emu-cortex-m55":
                assert counts.get(function, 0) > 0, (opcode, function)
            else:
                assert function not in counts, (opcode, function)
        for function in DSP_KERNELS[opcode]:
            assert (function in counts) == (run.board == "emu-cortex-m4"), (opcode, function)


def check(model, board_id, tmp_path, count=3, profile=False, narrow_requant=True, build_flags="",
          optimize="speed"):
    tflm = TflmModel(model)
    shape = tuple(tflm.input["shape"][1:])
    inputs = np.random.default_rng(11).integers(-128, 128, size=(count, *shape), dtype=np.int8)
    run = run_on_board(model, load_board(board_id), inputs, tmp_path, profile=profile,
                       narrow_requant=narrow_requant, build_flags=build_flags, optimize=optimize)
    assert np.array_equal(run.outputs, tflm.run(inputs))
    # the start-up painted the stack: what the model used of it, with room to spare
    assert 0 < run.stack_peak <= stack_bytes(load_board(board_id), build_flags) // 2, run.stack_peak
    return run


@pytest.mark.parametrize("model_name", ["ds_cnn_kws", "kws_ref_model"])
@pytest.mark.parametrize("board_id,narrow", [("emu-cortex-m4", True), ("emu-cortex-m55", True),
                                             ("emu-cortex-m4", False), ("emu-cortex-m55", False)])
def test_kws_simd_path_is_bit_exact_in_qemu(model_name, board_id, narrow, engine_model, tmp_path):
    """Both output stages: the short one (SMMLAR, or VQRDMULH with the sign taken from the
    accumulator) the compiler picks where it is provably exact, and the general one it falls
    back to."""
    run = check(engine_model(model_name), board_id, tmp_path, narrow_requant=narrow)
    # the calibration loop really counts instructions: 40 per tick on mps2, 50 on mps3
    # (give or take the tick the counter's phase may add)
    expected = {"emu-cortex-m4": 25000, "emu-cortex-m55": 20000}[board_id]
    assert abs(run.ticks_per_million - expected) <= 1
    assert 1_000_000 < min(run.instructions) < 43_000_000  # below TFLM's reference kernels
    if narrow:  # TFLM + CMSIS-NN take 7.70 M on the M4 and 1.82 M on the M55 (Helium)
        bound = {"emu-cortex-m4": 4_800_000, "emu-cortex-m55": 1_500_000}[board_id]
        assert max(run.instructions) < bound
    check_vector_path(run, tmp_path)


def test_zoo_simd_path_is_bit_exact_in_qemu(tmp_path):
    """Odd channel counts, filter tails (n % 4), depth multiplier 2, MEAN, on the M4."""
    import model_zoo

    run = check(model_zoo.conv_zoo(), "emu-cortex-m4", tmp_path, count=4, profile=True)
    assert set(run.op_instructions) == set(range(len(run.compiled.layers)))


@pytest.mark.parametrize("model_name", ["conv_zoo", "block_edges"])
def test_debug_build_is_bit_exact_in_qemu(model_name, tmp_path):
    """The firmware built at -O0, as a first debug build is: the inline assembly of the
    matrix kernel must fit the registers -O0 leaves it, with a hard-float ABI."""
    import model_zoo

    run = check(getattr(model_zoo, model_name)(), "emu-cortex-m4", tmp_path, count=3,
                build_flags="-O0")
    assert any(layer.kernel == "tm_conv2d_s8" for layer in run.compiled.layers)


@pytest.mark.parametrize("board_id", ["emu-cortex-m4", "emu-cortex-m55"])
def test_block_edges_are_bit_exact_in_qemu(board_id, tmp_path):
    """Partial blocks of pixels, filter rows that are not whole groups of 4, 1x1 in place
    both ways, a single output pixel: every edge of the SIMD matrix kernel."""
    import model_zoo

    run = check(model_zoo.block_edges(), board_id, tmp_path, count=6)
    kernels = [layer.kernel for layer in run.compiled.layers]
    assert kernels.count("tm_conv2d_1x1_s8") == 2 and "tm_conv2d_s8" in kernels


@pytest.mark.parametrize("model_name", ["residual_net", "pretrainedResnet_quant"])
def test_resnet_in_place_convolution_is_bit_exact_in_qemu(model_name, engine_model, tmp_path):
    """ResNet-8's 3x3 convolutions run in place (a ring of saved rows) on the SIMD path."""
    run = check(engine_model(model_name), "emu-cortex-m4", tmp_path, count=2)
    assert any(layer.in_place and layer.opcode == "CONV_2D" and layer.kernel == "tm_conv2d_s8"
               for layer in run.compiled.layers)


@pytest.mark.parametrize("board_id", BOARDS)
@pytest.mark.parametrize("model_name", ENGINE_MODELS)
def test_every_model_is_bit_exact_on_both_cores(model_name, board_id, engine_model, tmp_path):
    """Every zoo and MLPerf Tiny model, whole, on both paths; on the M55 each kernel it uses
    ran Helium code."""
    run = check(engine_model(model_name), board_id, tmp_path)
    check_vector_path(run, tmp_path)
    if model_name == "ad01_int8":  # TFLM + CMSIS-NN: 0.583 M on the M4, 0.150 M on the M55
        bound = {"emu-cortex-m4": 450_000, "emu-cortex-m55": 130_000}[board_id]
        assert max(run.instructions) <= bound


BAND_MODELS = ["residual_net", "conv_zoo", "block_edges", "vector_edges", "pooled_band"] + [
    pytest.param(stem, marks=with_shared("mlperf-tiny", f"{stem}.tflite"))
    for stem in ["pretrainedResnet_quant", "vww_96_int8", "pretrainedResnet_large_int8"]]


@pytest.mark.parametrize("board_id", BOARDS)
@pytest.mark.parametrize("model_name", BAND_MODELS)
def test_row_bands_are_bit_exact_on_both_cores(model_name, board_id, engine_model, tmp_path):
    """--optimize memory: the kernels' DSP and Helium paths called on bands of rows (their
    height and padding those of the band) give TFLM's bytes, with a smaller arena."""
    run = check(engine_model(model_name), board_id, tmp_path, optimize="memory")
    assert run.compiled.bands >= 1 and any(layer.in_band for layer in run.compiled.layers)
    check_vector_path(run, tmp_path)


@pytest.mark.parametrize("model_name", ["vector_edges", "block_edges", "conv_zoo"])
def test_helium_intermediate_tensors_are_bit_exact(model_name, tmp_path):
    """The models cut after each operator, on the M55: every Helium kernel's own output byte
    for byte (a later layer could hide a wrong one), on inputs that make it vary."""
    cuts = model_zoo.cut_after_each_operator(model_zoo.ENGINE_MODELS[model_name]())
    problems = []
    for index, opcode, cut in cuts:
        tflm = TflmModel(cut)
        shape = tuple(tflm.input["shape"][1:])
        inputs = np.random.default_rng(index).integers(-128, 128, size=(6, *shape), dtype=np.int8)
        reference = tflm.run(inputs)
        run = run_on_board(cut, load_board("emu-cortex-m55"), inputs, tmp_path / f"op{index}")
        assert len({row.tobytes() for row in reference}) >= 4, f"operator #{index} tests nothing"
        if not np.array_equal(run.outputs, reference):
            problems.append(f"operator #{index} ({opcode}): "
                            f"{int((run.outputs != reference).sum())} bytes differ")
    assert len(cuts) >= 3
    assert not problems, "\n".join(problems)
