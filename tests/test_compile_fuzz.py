"""Fuzz the model reader: mutated real models give a ModelError or a model, never a crash.

Seeds: the engine's own test models (always), and the MLPerf Tiny models from ../shared/
when that folder is beside the clone."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyml.compile import ModelError, compile_model
from tinyml.tflite.model import read_tflite

from shared import MLPERF

ZOO_SEEDS = ["ds_cnn_kws", "residual_net", "dense_autoencoder", "conv_mean_dense"]
MLPERF_SEEDS = [stem for stem in ("kws_ref_model", "ad01_int8") if (MLPERF / f"{stem}.tflite").is_file()]


def mutate(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for position, value, kind in edits:
        i = position % len(buf)
        if kind == 0:
            buf[i] = value
        elif kind == 1:
            del buf[i:i + value % 64]
        else:
            buf[i:i] = bytes([value]) * (value % 16 + 1)
    return bytes(buf)


def seed_model(name: str, zoo_model) -> bytes:
    return (MLPERF / f"{name}.tflite").read_bytes() if name in MLPERF_SEEDS else zoo_model(name)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(st.sampled_from(ZOO_SEEDS + MLPERF_SEEDS),
       st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255), st.integers(0, 2)),
                min_size=1, max_size=8))
def test_mutated_models_never_crash_the_reader(tmp_path_factory, zoo_model, name, edits):
    data = mutate(seed_model(name, zoo_model), edits)
    try:
        model = read_tflite(data)
    except ModelError as exc:
        assert str(exc)  # a message, not an empty error
        return
    # What still parses must either compile or be refused with a ModelError.
    try:
        compile_model(data, tmp_path_factory.mktemp("fuzz"))
    except ModelError:
        pass
    assert model.operators is not None
