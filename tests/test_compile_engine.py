"""`tinyml compile` against TFLite Micro: every output byte, on the MLPerf Tiny reference models.

The models come from ../shared/mlperf-tiny/ (not copied into the repo). Each is compiled to C,
built for the host with -Werror, and fed random and edge-case inputs; TFLM's outputs for the
same inputs must match byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyml.compile import compile_model
from tinyml.compile.host import build_host_runner, run_host
from tinyml.convert.tflm import TflmModel

MLPERF = Path(__file__).resolve().parents[2] / "shared" / "mlperf-tiny"
MODELS = ["kws_ref_model", "ad01_int8", "pretrainedResnet_quant"]
TFLM_ARENA = {"kws_ref_model": 24272, "ad01_int8": 4632, "pretrainedResnet_quant": 55984}


def mlperf_model(stem: str) -> Path:
    path = MLPERF / f"{stem}.tflite"
    assert path.is_file(), f"{path} is missing: the engine tests need ../shared/mlperf-tiny/"
    return path


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    cache = {}

    def get(stem: str, narrow: bool = True):
        if (stem, narrow) not in cache:
            result = compile_model(mlperf_model(stem), tmp_path_factory.mktemp(stem), name="model",
                                   narrow_requant=narrow)
            cache[stem, narrow] = (result, build_host_runner(result))
        return cache[stem, narrow]

    return get


def edge_inputs(shape, zero_point: int) -> np.ndarray:
    n = int(np.prod(shape))
    ramp = (((np.arange(n) * 7) % 256) - 128).astype(np.int8)
    return np.stack([np.full(n, -128), np.full(n, 127), np.full(n, zero_point), ramp,
                     np.where(np.arange(n) % 2, 127, -128)]).astype(np.int8).reshape(-1, *shape)


@pytest.mark.parametrize("narrow", [True, False])
@pytest.mark.parametrize("stem", MODELS)
def test_bit_exact_with_tflm_on_random_and_edge_inputs(stem, narrow, compiled):
    result, runner = compiled(stem, narrow)
    tflm = TflmModel(mlperf_model(stem))
    shape = tuple(tflm.input["shape"][1:])
    zp = int(tflm.input["quantization_parameters"]["zero_points"][0])
    rng = np.random.default_rng(2026)
    count = 150 if stem == "pretrainedResnet_quant" else 300
    inputs = np.concatenate([edge_inputs(shape, zp),
                             rng.integers(-128, 128, size=(count, *shape), dtype=np.int8)])
    ours = run_host(runner, inputs, int(np.prod(tflm.output["shape"])))
    reference = tflm.run(inputs)
    mismatched = np.flatnonzero((ours != reference).any(axis=1))
    assert mismatched.size == 0, (f"{mismatched.size} of {len(inputs)} samples differ; first: "
                                  f"#{mismatched[0]} ours {ours[mismatched[0]]} TFLM {reference[mismatched[0]]}")
    # and the outputs are not degenerate: different inputs give different answers
    assert len({row.tobytes() for row in reference}) > len(inputs) // 10


def test_kws_check_vector_bytes(compiled):
    """The check vector of shared/mlperf-tiny/README.md: input[i] = ((i*7) % 256) - 128."""
    result, runner = compiled("kws_ref_model")
    x = (((np.arange(490) * 7) % 256) - 128).astype(np.int8)[None]
    out = run_host(runner, x, 12)[0]
    assert out.view(np.uint8).tobytes().hex(" ") == "80 80 80 80 80 80 80 80 80 77 80 89"


@pytest.mark.parametrize("stem", MODELS)
def test_static_arena_beats_tflm(stem, compiled):
    result, _ = compiled(stem)
    ratio = result.arena_bytes / TFLM_ARENA[stem]
    assert ratio <= {"kws_ref_model": 0.5, "ad01_int8": 0.7, "pretrainedResnet_quant": 0.7}[stem], ratio


def test_kws_convolutions_take_the_short_output_stage(compiled):
    """The compiler proves every KWS convolution's accumulators narrow (the SIMD kernels'
    six-instruction output stage); with narrow_requant=False none is."""
    for narrow, expected in ((True, 9), (False, 0)):
        result, _ = compiled("kws_ref_model", narrow)
        source = (result.out_dir / "model.c").read_text()
        assert source.count(".narrow_acc = 1") == expected
        assert source.count(".narrow_acc = ") == 9


def test_in_place_operators_are_used_on_kws(compiled):
    result, _ = compiled("kws_ref_model")
    in_place = {layer.opcode for layer in result.layers if layer.in_place}
    assert {"DEPTHWISE_CONV_2D", "CONV_2D", "SOFTMAX"} <= in_place
    assert result.macs == 2_664_768


# ---- operators the MLPerf models do not use, on small models converted here ---------------

@pytest.fixture(scope="module")
def zoo():
    import model_zoo

    return {"conv_zoo": model_zoo.conv_zoo(), "dense_autoencoder": model_zoo.dense_autoencoder(),
            "block_edges": model_zoo.block_edges(),
            "float_model": model_zoo.float_model(), "sigmoid_model": model_zoo.sigmoid_model()}


@pytest.mark.parametrize("narrow", [True, False])
@pytest.mark.parametrize("name", ["conv_zoo", "dense_autoencoder", "block_edges"])
def test_bit_exact_on_the_zoo(name, narrow, zoo, tmp_path):
    """MAX_POOL_2D, MEAN (TFLM's float path, as integer thresholds), depth multiplier 2, VALID
    padding, strides, RELU6, a dense autoencoder, partial blocks; both output stages."""
    result = compile_model(zoo[name], tmp_path, name="model", narrow_requant=narrow)
    runner = build_host_runner(result)
    tflm = TflmModel(zoo[name])
    shape = tuple(tflm.input["shape"][1:])
    inputs = np.random.default_rng(7).integers(-128, 128, size=(400, *shape), dtype=np.int8)
    ours = run_host(runner, inputs, int(np.prod(tflm.output["shape"])))
    assert np.array_equal(ours, tflm.run(inputs))


def test_mean_thresholds_reproduce_tflm_for_every_sum():
    from tinyml.compile.ops.mean import mean_output

    sums = np.arange(-128 * 16, 127 * 16 + 1)
    same = mean_output(sums, 16, (0.5, -3), (0.5, -3))
    assert same[sums == -17].item() == -1 and same[sums == 17].item() == 1  # truncation
    assert np.all(np.diff(mean_output(sums, 16, (0.27, -128), (0.16, -128))) >= 0)


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
@pytest.mark.parametrize("stem", MODELS)
def test_generated_c_compiles_warning_free_for_cortex_m(stem, target, compiled, tmp_path):
    result, _ = compiled(stem)
    done = cross_compile(result, target, tmp_path)
    assert "warning" not in done.stderr


def test_dense_model_fits_an_arduino_mega(zoo, tmp_path):
    """avr-gcc, warning-free, weights in flash (PROGMEM): RAM use is the arena and little else."""
    import subprocess

    result = compile_model(zoo["dense_autoencoder"], tmp_path / "c", name="vib")
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

def test_float_model_is_refused_with_the_fix(zoo, tmp_path):
    from tinyml.compile import CompileError

    with pytest.raises(CompileError, match=r"input .* is float32: tinyml compiles full-integer.*tinyml convert"):
        compile_model(zoo["float_model"], tmp_path)


def test_unsupported_operator_is_named_with_its_index(zoo, tmp_path):
    from tinyml.compile import CompileError

    with pytest.raises(CompileError, match=r"operator #1 \(LOGISTIC\) is not supported.*Supported operators: ADD"):
        compile_model(zoo["sigmoid_model"], tmp_path)


@pytest.mark.parametrize("mutilate,message", [
    (lambda b: b[:len(b) // 3], "points outside the file"),
    (lambda b: b[:6], "too short"),
    (lambda b: b[:4] + b"XXXX" + b[8:], "not a TensorFlow Lite model"),
    (lambda b: b"", "too short"),
])
def test_truncated_or_foreign_files_are_refused(mutilate, message, tmp_path):
    from tinyml.compile import ModelError

    data = mutilate(mlperf_model("kws_ref_model").read_bytes())
    with pytest.raises(ModelError, match=message):
        compile_model(data, tmp_path)


def test_cli_compile_reports_figures_and_errors(tmp_path, compiled):
    import subprocess
    import sys

    result, _ = compiled("kws_ref_model")
    ok = subprocess.run([sys.executable, "-m", "tinyml", "compile", str(mlperf_model("kws_ref_model")),
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
