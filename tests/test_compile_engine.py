"""`tinyml compile` against TFLite Micro: every output byte, and every intermediate tensor.

The engine's own test models (tests/model_zoo.py: a DS-CNN, a residual net with ADD, dense
autoencoders, MEAN in its forms, the kernels' edge cases) are converted here, so these tests
need nothing outside the repository. The MLPerf Tiny reference models from ../shared/mlperf-tiny/
run too when that folder is beside the clone. Each model is compiled to C, built for the host
with -Werror, fed random and edge-case inputs, and compared with TFLM byte for byte: at its
output, and cut after every operator, since a saturated softmax hides errors before it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import model_zoo
from shared import with_shared
from tinyml.compile import compile_model
from tinyml.compile.host import build_host_runner, run_host
from tinyml.convert.tflm import TflmModel, minimal_arena

MLPERF_MODELS = ["kws_ref_model", "ad01_int8", "pretrainedResnet_quant", "vww_96_int8",
                 "str_ww_ref_model", "pretrainedResnet_large_int8"]
ZOO_MODELS = list(model_zoo.ENGINE_MODELS)
ENGINE_MODELS = ZOO_MODELS + [pytest.param(stem, marks=with_shared("mlperf-tiny", f"{stem}.tflite"))
                              for stem in MLPERF_MODELS]
TFLM_ARENA = {"kws_ref_model": 24272, "ad01_int8": 4632, "pretrainedResnet_quant": 55984}
# Fewer inputs for the large image models: TFLM and the portable C take a while on them.
SAMPLES = {"pretrainedResnet_quant": 150, "vww_96_int8": 150, "pretrainedResnet_large_int8": 40}
CUT_SAMPLES = {"pretrainedResnet_large_int8": 12}


@pytest.fixture(scope="module")
def compiled(engine_model, tmp_path_factory):
    cache = {}

    def get(name: str, narrow: bool = True, optimize: str = "speed"):
        if (name, narrow, optimize) not in cache:
            result = compile_model(engine_model(name), tmp_path_factory.mktemp(name), name="model",
                                   narrow_requant=narrow, optimize=optimize)
            cache[name, narrow, optimize] = (result, build_host_runner(result))
        return cache[name, narrow, optimize]

    return get


def edge_inputs(shape, zero_point: int) -> np.ndarray:
    n = int(np.prod(shape))
    ramp = (((np.arange(n) * 7) % 256) - 128).astype(np.int8)
    return np.stack([np.full(n, -128), np.full(n, 127), np.full(n, zero_point), ramp,
                     np.where(np.arange(n) % 2, 127, -128)]).astype(np.int8).reshape(-1, *shape)


def sample_inputs(tflm: TflmModel, count: int, seed: int = 2026) -> np.ndarray:
    shape = tuple(tflm.input["shape"][1:])
    zp = int(tflm.input["quantization_parameters"]["zero_points"][0])
    rng = np.random.default_rng(seed)
    return np.concatenate([edge_inputs(shape, zp),
                           rng.integers(-128, 128, size=(count, *shape), dtype=np.int8)])


def first_difference(ours: np.ndarray, reference: np.ndarray) -> str | None:
    """None when every sample's bytes are TFLM's; else how many differ, and the first."""
    bad = np.flatnonzero((ours != reference).any(axis=1))
    if bad.size == 0:
        return None
    i = bad[0]
    return f"{bad.size} of {len(ours)} samples differ; first: #{i} ours {ours[i][:16]} TFLM {reference[i][:16]}"


@pytest.mark.parametrize("narrow", [True, False])
@pytest.mark.parametrize("name", ENGINE_MODELS)
def test_bit_exact_with_tflm_on_random_and_edge_inputs(name, narrow, compiled, engine_model):
    result, runner = compiled(name, narrow)
    tflm = TflmModel(engine_model(name))
    inputs = sample_inputs(tflm, SAMPLES.get(name, 300))
    problem = first_difference(run_host(runner, inputs, result.output_bytes), tflm.run(inputs))
    assert problem is None, problem


@pytest.mark.parametrize("name,optimize", [
    *[(m, "speed") for m in ZOO_MODELS if not m.startswith("mean_")],
    *[pytest.param(stem, "speed", marks=with_shared("mlperf-tiny", f"{stem}.tflite")) for stem in MLPERF_MODELS],
    *[(m, "memory") for m in ("residual_net", "conv_zoo", "vector_edges")]])
def test_every_intermediate_tensor_is_bit_exact_with_tflm(name, optimize, engine_model, tmp_path):
    """The model cut after each operator: that operator's output, byte for byte, on inputs
    that make it vary (a constant intermediate tensor would test nothing). With --optimize
    memory each cut inside a run of convolutions ends a row band there: every band prefix."""
    cuts = model_zoo.cut_after_each_operator(engine_model(name))
    inputs = sample_inputs(TflmModel(engine_model(name)), CUT_SAMPLES.get(name, 40))

    def check(cut):
        index, opcode, model = cut
        reference = TflmModel(model).run(inputs)
        result = compile_model(model, tmp_path / f"op{index}", name="model", optimize=optimize)
        problem = first_difference(run_host(build_host_runner(result), inputs, result.output_bytes),
                                   reference)
        varied = len({row.tobytes() for row in reference})
        if problem is None and varied < 4:
            problem = f"only {varied} distinct outputs: the cut tests nothing"
        return f"operator #{index} ({opcode}): {problem}" if problem else None

    with ThreadPoolExecutor(2) as pool:
        problems = [p for p in pool.map(check, cuts) if p]
    assert len(cuts) >= 2  # the MEAN-only models have no intermediate tensor
    assert not problems, "\n".join(problems)


def test_kws_check_vector_bytes(compiled):
    """The check vector of shared/mlperf-tiny/README.md: input[i] = ((i*7) % 256) - 128."""
    result, runner = compiled("kws_ref_model")
    x = (((np.arange(490) * 7) % 256) - 128).astype(np.int8)[None]
    out = run_host(runner, x, 12)[0]
    assert out.view(np.uint8).tobytes().hex(" ") == "80 80 80 80 80 80 80 80 80 77 80 89"


@pytest.mark.parametrize("name,bound", [
    ("ds_cnn_kws", 0.5), ("residual_net", 0.7), ("ad_autoencoder", 0.5),
    pytest.param("kws_ref_model", 0.5, marks=with_shared("mlperf-tiny", "kws_ref_model.tflite")),
    pytest.param("ad01_int8", 0.7, marks=with_shared("mlperf-tiny", "ad01_int8.tflite")),
    pytest.param("pretrainedResnet_quant", 0.7,
                 marks=with_shared("mlperf-tiny", "pretrainedResnet_quant.tflite")),
])
def test_static_arena_beats_tflm(name, bound, compiled, engine_model):
    result, _ = compiled(name)
    tflm_arena = TFLM_ARENA.get(name) or minimal_arena(engine_model(name))
    assert result.arena_bytes / tflm_arena <= bound, (result.arena_bytes, tflm_arena)


BAND_MODELS = ["residual_net", "conv_zoo", "block_edges", "vector_edges"] + [
    pytest.param(stem, marks=with_shared("mlperf-tiny", f"{stem}.tflite"))
    for stem in ("pretrainedResnet_quant", "vww_96_int8", "pretrainedResnet_large_int8")]
# TFLM's arena for each MLPerf Tiny image model (minimal_arena; also ../shared/anchors' figures).
TFLM_IMAGE_ARENA = {"pretrainedResnet_quant": 55984, "vww_96_int8": 103672, "pretrainedResnet_large_int8": 133744}


@pytest.mark.parametrize("name", BAND_MODELS)
def test_row_bands_are_bit_exact_with_a_smaller_arena(name, compiled, engine_model):
    """--optimize memory: runs of convolutions computed a few rows at a time give TFLM's bytes,
    in a smaller arena; MLPerf Tiny's image models in at most half of TFLM's."""
    fast, _ = compiled(name)
    small, runner = compiled(name, optimize="memory")
    assert small.bands >= 1 and small.arena_bytes < fast.arena_bytes
    tflm = TflmModel(engine_model(name))
    inputs = sample_inputs(tflm, SAMPLES.get(name, 300) // 3)
    problem = first_difference(run_host(runner, inputs, small.output_bytes), tflm.run(inputs))
    assert problem is None, problem
    if name in TFLM_IMAGE_ARENA or name == "residual_net":  # ResNet-8's shapes, made here
        tflm_arena = TFLM_IMAGE_ARENA.get(name) or minimal_arena(engine_model(name))
        assert small.arena_bytes <= 0.5 * tflm_arena, (small.arena_bytes, tflm_arena)


def test_both_poolings_and_a_dilated_convolution_in_a_row_band(engine_model, tmp_path):
    """MAX_POOL_2D, AVERAGE_POOL_2D and a dilated convolution inside one band (the zoo's band
    models have neither the first nor the last): TFLM's bytes, a smaller arena."""
    model = engine_model("pooled_band")
    fast = compile_model(model, tmp_path / "speed")
    small = compile_model(model, tmp_path / "memory", optimize="memory")
    banded = {layer.opcode for layer in small.layers if layer.in_band}
    assert {"MAX_POOL_2D", "AVERAGE_POOL_2D", "CONV_2D"} <= banded, banded
    assert small.arena_bytes < fast.arena_bytes
    tflm = TflmModel(model)
    inputs = sample_inputs(tflm, 100)
    problem = first_difference(run_host(build_host_runner(small), inputs, small.output_bytes), tflm.run(inputs))
    assert problem is None, problem


@pytest.mark.parametrize("name", ["ds_cnn_kws", "ad_autoencoder"])
def test_models_that_bands_cannot_shrink_compile_as_for_speed(name, compiled):
    """No band saves anything there (KWS's largest tensors already run in place): the same C."""
    fast, _ = compiled(name)
    small, _ = compiled(name, optimize="memory")
    assert small.bands == 0 and small.arena_bytes == fast.arena_bytes
    assert (small.out_dir / "model.c").read_text() == (fast.out_dir / "model.c").read_text()


@pytest.mark.parametrize("name", [
    "ds_cnn_kws", pytest.param("kws_ref_model", marks=with_shared("mlperf-tiny", "kws_ref_model.tflite"))])
def test_kws_convolutions_take_the_short_output_stage(name, compiled):
    """The compiler proves the accumulators of every KWS convolution and of its fully connected
    layer narrow (the vector kernels' short output stage); with narrow_requant=False none is."""
    for narrow, expected in ((True, 10), (False, 0)):
        result, _ = compiled(name, narrow)
        source = (result.out_dir / "model.c").read_text()
        assert source.count(".narrow_acc = 1") == expected
        assert source.count(".narrow_acc = ") == 10
        fc = source[source.index("static const tm_fc_params_t"):]
        assert fc[:fc.index("};")].count(f".narrow_acc = {int(narrow)}") == 1


@pytest.mark.parametrize("name", [
    "ds_cnn_kws", pytest.param("kws_ref_model", marks=with_shared("mlperf-tiny", "kws_ref_model.tflite"))])
def test_in_place_operators_are_used_on_kws(name, compiled):
    result, _ = compiled(name)
    in_place = {layer.opcode for layer in result.layers if layer.in_place}
    assert {"DEPTHWISE_CONV_2D", "CONV_2D", "SOFTMAX"} <= in_place
    assert result.macs == 2_664_768


def test_mean_reproduces_tflm_requantization_for_every_sum():
    """TFLM's integer MEAN on windows of 16 and 64: the sum less count * zero point, through a
    multiplier with 1/count folded in. Values worked by hand from that arithmetic."""
    from tinyml.compile.ops.mean import mean_output

    sums = np.arange(-128 * 16, 127 * 16 + 1)
    same = mean_output(sums, 16, (0.5, -3), (0.5, -3))
    assert same[sums == -17].item() == -1 and same[sums == 17].item() == 1  # truncation
    assert np.all(np.diff(mean_output(sums, 16, (0.27, -128), (0.16, -128))) >= 0)
    # in 0.1/zp 0, out 0.2/zp 0: mean/2, rounded half away from zero
    half = mean_output(np.array([16 * 3, -16 * 3, 16 * 5, 16 * 254]), 16, (0.1, 0), (0.2, 0))
    assert half.tolist() == [2, -2, 3, 127]
    # sum 15: a float path gives round(15 / 16 * 0.5) = 0; TFLM's two roundings give 1
    assert mean_output(np.array([15, -15, 14]), 16, (0.1, 0), (0.2, 0)).tolist() == [1, 0, 0]


# ---- the generated C is freestanding and warning-free on every target ----------------------

CROSS = {
    "cortex-m0plus": ["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb"],
    "cortex-m4": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                  "-mfpu=fpv4-sp-d16"],
    "cortex-m55": ["arm-none-eabi-gcc", "-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
    "avr": ["avr-gcc", "-mmcu=atmega2560"],
}


def cross_compile(result, target: str, tmp_path):
    import subprocess

    cmd = [*CROSS[target], "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Os",
           "-ffreestanding", "-c"]
    sources = [str(p) for p in result.files if p.suffix == ".c"]
    done = subprocess.run([*cmd, *sources], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m4", "cortex-m55"])
@pytest.mark.parametrize("name", ["ds_cnn_kws", "residual_net", "ad_autoencoder", "conv_zoo",
                                  *ENGINE_MODELS[len(ZOO_MODELS):]])
def test_generated_c_compiles_warning_free_for_cortex_m(name, target, compiled, tmp_path):
    result, _ = compiled(name)
    done = cross_compile(result, target, tmp_path)
    assert "warning" not in done.stderr


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m4", "cortex-m55", "avr"])
@pytest.mark.parametrize("name", ["residual_net", "vector_edges"])
def test_row_bands_compile_warning_free_everywhere(name, target, compiled, tmp_path):
    result, _ = compiled(name, optimize="memory")
    assert result.bands >= 1
    assert "warning" not in cross_compile(result, target, tmp_path).stderr


def test_dense_model_fits_an_arduino_mega(zoo_model, tmp_path):
    """avr-gcc, warning-free, weights in flash (PROGMEM): RAM use is the arena and little else."""
    import subprocess

    result = compile_model(zoo_model("dense_autoencoder"), tmp_path / "c", name="vib")
    cross_compile(result, "avr", tmp_path)
    main = tmp_path / "main.c"
    main.write_text('#include "vib.h"\nint main(void) { vib_input()[0] = 1; vib_invoke(); '
                    'return vib_output()[0]; }\n')
    elf = tmp_path / "vib.elf"
    subprocess.run([*CROSS["avr"], "-std=c99", "-Os", "-I", str(tmp_path / "c"), str(main),
                    *[str(p) for p in result.files if p.suffix == ".c"], "-o", str(elf)],
                   check=True, timeout=300)
    sizes = subprocess.run(["avr-size", "-A", "-d", str(elf)], capture_output=True, text=True,
                           check=True).stdout
    section = {line.split()[0]: int(line.split()[1]) for line in sizes.splitlines()
               if line.startswith(".")}
    ram = section.get(".data", 0) + section.get(".bss", 0)
    assert result.weights_bytes > 2000
    assert ram < result.arena_bytes + 600  # weights stayed in flash
    assert section[".text"] > result.weights_bytes


# ---- bad models: clear errors, never a crash --------------------------------------------

def test_float_model_is_refused_with_the_fix(zoo_model, tmp_path):
    from tinyml.compile import CompileError

    with pytest.raises(CompileError, match=r"input .* is float32: tinyml compiles full-integer.*`tinyml train`.*inference_input_type=tf.int8"):
        compile_model(zoo_model("float_model"), tmp_path)


def test_unsupported_operator_is_named_with_its_index(zoo_model, tmp_path):
    from tinyml.compile import CompileError

    with pytest.raises(CompileError, match=r"operator #1 \(LOGISTIC\) is not supported.*Supported operators: ADD"):
        compile_model(zoo_model("sigmoid_model"), tmp_path)


def test_per_channel_weights_need_one_scale_per_output(zoo_model, tmp_path):
    """A per-channel dense layer whose weights carry fewer scales than it has outputs is
    refused by name, not compiled into a kernel that reads past its constants."""
    from tensorflow.lite.tools import flatbuffer_utils

    from tinyml.compile import CompileError

    fb = flatbuffer_utils.convert_bytearray_to_object(bytearray(zoo_model("dense_autoencoder")))
    graph = fb.subgraphs[0]
    weights = graph.tensors[graph.operators[0].inputs[1]]
    assert len(weights.quantization.scale) == 24  # per channel: one per output
    weights.quantization.scale = weights.quantization.scale[:5]
    weights.quantization.zeroPoint = weights.quantization.zeroPoint[:5]
    model = bytes(flatbuffer_utils.convert_object_to_bytearray(fb))
    with pytest.raises(CompileError, match=r"operator #0 \(FULLY_CONNECTED\): weights .* have 5 "
                                           r"scales for 24 outputs"):
        compile_model(model, tmp_path)


@pytest.mark.parametrize("mutilate,message", [
    (lambda b: b[:len(b) // 3], "points outside the file"),
    (lambda b: b[:6], "too short"),
    (lambda b: b[:4] + b"XXXX" + b[8:], "not a TensorFlow Lite model"),
    (lambda b: b"", "too short"),
])
def test_truncated_or_foreign_files_are_refused(mutilate, message, zoo_model, tmp_path):
    from tinyml.compile import ModelError

    data = mutilate(zoo_model("ds_cnn_kws"))
    with pytest.raises(ModelError, match=message):
        compile_model(data, tmp_path)


def test_cli_compile_reports_figures_and_errors(tmp_path, compiled, zoo_model):
    import subprocess
    import sys

    result, _ = compiled("ds_cnn_kws")
    model = tmp_path / "ds_cnn_kws.tflite"
    model.write_bytes(zoo_model("ds_cnn_kws"))
    ok = subprocess.run([sys.executable, "-m", "tinyml", "compile", str(model),
                         "-o", str(tmp_path / "kws"), "--name", "kws", "--layers"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert f"arena   {result.arena_bytes:,} bytes" in ok.stdout and "MACs    2,664,768" in ok.stdout
    assert (tmp_path / "kws" / "kws.h").is_file()
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x10\x00\x00\x00TFL3" + bytes(40))
    err = subprocess.run([sys.executable, "-m", "tinyml", "compile", str(bad), "-o", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=120)
    assert err.returncode == 1 and "Traceback" not in err.stderr
    assert err.stderr.startswith(f"Error: {bad}:")


def test_cli_optimize_memory_names_the_bands(tmp_path, compiled, zoo_model):
    """`--optimize memory` says how many runs of operators went into row bands and marks their
    layers; the API refuses an optimisation it does not know, in words."""
    import subprocess
    import sys

    from tinyml.compile import compile_model
    from tinyml.errors import TinymlError

    result, _ = compiled("residual_net", optimize="memory")
    model = tmp_path / "residual_net.tflite"
    model.write_bytes(zoo_model("residual_net"))
    ok = subprocess.run([sys.executable, "-m", "tinyml", "compile", str(model), "-o", str(tmp_path / "r"),
                         "--optimize", "memory", "--layers"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert f"arena   {result.arena_bytes:,} bytes (1 run of operators in row bands)" in ok.stdout
    assert ok.stdout.count(" in rows") == sum(layer.in_band for layer in result.layers) == 8
    with pytest.raises(TinymlError, match="optimize for 'size'. choose speed or memory"):
        compile_model(model, tmp_path / "s", optimize="size")
