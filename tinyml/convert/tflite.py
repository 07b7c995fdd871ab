"""Keras model -> full-integer int8 TFLite, checked in TFLite Micro.

The representative dataset is the training features, plus one sample spanning the front-end's
whole int8 range: the converter then picks exactly the front-end's scale and zero point for
the model input, so the device feeds its int8 features to the model unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from tinyml.convert.tflm import TflmModel, minimal_arena
from tinyml.errors import TinymlError
from tinyml.tflite import op_macs, read_tflite

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return ((q.astype(np.float32) - zero_point) * np.float32(scale)).astype(np.float32)


def to_int8_tflite(model, features: np.ndarray, scale: float, zero_point: int,
                   samples: int = 300, seed: int = 0) -> bytes:
    """Converts a Keras model whose input is dequantized int8 features (scale, zero_point)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    picks = features[rng.choice(len(features), size=min(samples, len(features)), replace=False)]
    span = np.zeros_like(picks[:1], dtype=np.float32).reshape(-1)
    span[0], span[-1] = dequantize(np.int8(-128), scale, zero_point), dequantize(np.int8(127), scale, zero_point)
    span = span.reshape(picks[:1].shape)

    def representative():
        yield [span]
        for x in picks:
            yield [dequantize(x[None], scale, zero_point)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        data = converter.convert()
    except Exception as exc:  # the converter raises many types; all mean "cannot convert"
        raise TinymlError(f"TFLite could not convert the model to int8: {exc}") from None
    m = read_tflite(data)
    in_scale, in_zp = m.tensor(m.inputs[0]).quant()
    if abs(in_scale - scale) > 1e-6 * scale or in_zp != zero_point:
        raise TinymlError(f"the converted model expects input scale {in_scale} / zero point "
                          f"{in_zp}, not the front-end's {scale} / {zero_point}")
    return data


@dataclass
class ModelReport:
    size_bytes: int
    parameters: int
    macs: int
    ops: dict[str, int]
    tflm_arena_bytes: int


def report(model_bytes: bytes) -> ModelReport:
    """Size, parameters, MACs, op list and TFLM's smallest arena; refuses what TFLM cannot run."""
    m = read_tflite(model_bytes)
    try:
        TflmModel(model_bytes)
    except TinymlError as exc:
        raise TinymlError(f"{exc} (the model's ops: {', '.join(m.op_counts())}); TFLite Micro "
                          "has no kernel for custom or Flex ops: build the model from builtin "
                          "operators") from None
    params = sum(t.size for t in m.tensors if t.is_constant and t.dtype in ("int8", "int32"))
    return ModelReport(len(model_bytes), int(params), sum(op_macs(m, op) for op in m.operators),
                       m.op_counts(), minimal_arena(model_bytes))


def run_tflite(model_bytes: bytes, inputs: np.ndarray) -> np.ndarray:
    """TensorFlow Lite's own int8 kernels (to compare with TFLM), outputs [samples, n]."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=model_bytes)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    results = []
    for x in inputs:
        interpreter.set_tensor(inp["index"], x.reshape(inp["shape"]).astype(np.int8))
        interpreter.invoke()
        results.append(interpreter.get_tensor(out["index"]).reshape(-1).copy())
    return np.array(results)
