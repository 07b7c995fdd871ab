"""The SIMD path (SXTB16/SMLAD, Cortex-M4 and M55 in QEMU) gives TFLM's bytes too.

The host tests cover the portable C; here the same generated code is built by PlatformIO for
the emulated boards, where __ARM_FEATURE_DSP selects the SIMD kernels, and run in QEMU.
"""

import numpy as np
import pytest


from tinyml.boards import load_board
from tinyml.convert.tflm import TflmModel
from tinyml.validate.bench import run_on_board

pytestmark = pytest.mark.slow


def check(model, board_id, tmp_path, count=3, profile=False, narrow_requant=True, build_flags=""):
    tflm = TflmModel(model)
    shape = tuple(tflm.input["shape"][1:])
    inputs = np.random.default_rng(11).integers(-128, 128, size=(count, *shape), dtype=np.int8)
    run = run_on_board(model, load_board(board_id), inputs, tmp_path, profile=profile,
                       narrow_requant=narrow_requant, build_flags=build_flags)
    assert np.array_equal(run.outputs, tflm.run(inputs))
    return run


@pytest.mark.parametrize("model_name", ["ds_cnn_kws", "kws_ref_model"])
@pytest.mark.parametrize("board_id,narrow", [("emu-cortex-m4", True), ("emu-cortex-m55", True),
                                             ("emu-cortex-m4", False)])
def test_kws_simd_path_is_bit_exact_in_qemu(model_name, board_id, narrow, engine_model, tmp_path):
    """Both output stages: the short one (SMMLAR) the compiler picks where it is provably
    exact, and the general one it falls back to."""
    run = check(engine_model(model_name), board_id, tmp_path, narrow_requant=narrow)
    # the calibration loop really counts instructions: 40 per tick on mps2, 50 on mps3
    # (give or take the tick the counter's phase may add)
    expected = {"emu-cortex-m4": 25000, "emu-cortex-m55": 20000}[board_id]
    assert abs(run.ticks_per_million - expected) <= 1
    assert 1_000_000 < min(run.instructions) < 43_000_000  # below TFLM's reference kernels


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
