"""What an operator lowers to, and the checks every int8 operator shares."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyml.tflite.flatbuffer import ModelError
from tinyml.tflite.model import Model, Operator, Tensor


class CompileError(ModelError):
    """The model is valid TFLite, but not something tinyml can compile (op, type, shape)."""


# How to get a full-integer model: `tinyml convert` only re-checks a run's model, it does not
# convert one, so a float model's error names what does.
INT8_RECIPE = ("`tinyml train` writes an int8 model (RUN/model_int8.tflite); for a model of your own, "
               "set on tf.lite.TFLiteConverter: optimizations=[tf.lite.Optimize.DEFAULT], "
               "representative_dataset (a few hundred real inputs), "
               "target_spec.supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8], "
               "inference_input_type=tf.int8, inference_output_type=tf.int8")


@dataclass
class Const:
    """A constant array the generated code holds in flash."""
    suffix: str          # C name is op<N>_<suffix>
    ctype: str           # int8_t, int32_t
    values: np.ndarray


@dataclass
class Call:
    """One kernel call in the generated invoke()."""
    op: Operator
    function: str | None                 # None: no code (RESHAPE aliases its input)
    params_type: str | None = None
    params: dict = field(default_factory=dict)
    requant: tuple[str, str] | None = None  # (multiplier, shift) const suffixes
    args: list = field(default_factory=list)  # ("in", i) | ("out", i) | ("const", s) | ("null",) | ("scratch",)
    constants: list[Const] = field(default_factory=list)
    macs: int = 0                        # set by the compiler (tinyml.tflite.op_macs)
    inplace_input: int | None = None     # position in op.inputs whose buffer the output may reuse
    scratch_bytes: int = 0
    alias_input: int | None = None       # output IS this input (same bytes, no code)


def tensors(model: Model, op: Operator) -> tuple[list[Tensor | None], list[Tensor]]:
    ins = [model.tensor(i) if i >= 0 else None for i in op.inputs]
    outs = [model.tensor(i) for i in op.outputs]
    return ins, outs


def weighted_op(model: Model, op: Operator, weights: str):
    """(input, weights, bias or None, output) of a conv or fully-connected operator, with
    int8 activations and constant weights checked."""
    ins, (y,) = tensors(model, op)
    x, w, b = (ins + [None] * 3)[:3]
    require_int8(op, x, y)
    w = require_constant(op, w, weights)
    if b is not None:
        require_constant(op, b, "bias")
    return x, w, b, y


def require_int8(op: Operator, *ts: Tensor) -> None:
    for t in ts:
        if t.dtype != "int8":
            hint = f" This looks like a float model: {INT8_RECIPE}" if t.dtype == "float32" else ""
            raise CompileError(f"{op.describe()}: tensor '{t.name}' is {t.dtype}; tinyml compiles "
                               f"int8 activations only.{hint}")
        t.quant()


def require_constant(op: Operator, t: Tensor | None, what: str) -> Tensor:
    if t is None or not t.is_constant:
        raise CompileError(f"{op.describe()}: its {what} must be a constant tensor in the model")
    return t


def require_nhwc_batch1(op: Operator, t: Tensor) -> tuple[int, int, int]:
    if len(t.shape) != 4 or t.shape[0] != 1:
        raise CompileError(f"{op.describe()}: tensor '{t.name}' has shape {list(t.shape)}; "
                           "expected [1, height, width, channels]")
    return t.shape[1], t.shape[2], t.shape[3]


def require_activation(op: Operator) -> str:
    act = op.options.get("activation", "NONE")
    if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise CompileError(f"{op.describe()}: fused activation {act} is not supported")
    return act


def padding(op: Operator, in_size: int, filter_size: int, stride: int, dilation: int,
            out_size: int) -> int:
    """TFLite's padding before the first row/column (SAME: half the total, rounded down)."""
    if stride < 1 or dilation < 1:
        raise CompileError(f"{op.describe()}: stride {stride} and dilation {dilation} must be >= 1")
    effective = (filter_size - 1) * dilation + 1
    if op.options.get("padding") == "SAME":
        expected = (in_size + stride - 1) // stride
    elif op.options.get("padding") == "VALID":
        expected = (in_size + stride - effective) // stride
    else:
        raise CompileError(f"{op.describe()}: unknown padding {op.options.get('padding')}")
    if expected != out_size:
        raise CompileError(f"{op.describe()}: output size {out_size} disagrees with "
                           f"{op.options['padding']} padding (expected {expected})")
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2


BYTE_FIELDS = {"filter_h", "filter_w", "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_h",
               "pad_w", "depth_multiplier"}


def fits(op: Operator, **values: int) -> None:
    """The kernels' parameter structs use signed 16-bit dimensions and 8-bit filter/stride fields."""
    for name, value in values.items():
        limit = 255 if name in BYTE_FIELDS else 32767
        if not 0 <= value <= limit:
            raise CompileError(f"{op.describe()}: {name} = {value} exceeds the kernel's limit {limit}")


def narrow_accumulators(abs_weight_sums: np.ndarray, max_abs_input: int, bias: np.ndarray,
                        shifts: np.ndarray) -> int:
    """1 when every channel's |acc + bias| << (left shift + 1) provably fits int32 and every
    channel shifts right by 1 to 22 bits, so the SIMD kernels may use the short, equally
    exact output stage (tm_fast_output, which adds offset << right to a value below 2^30)."""
    bound = (np.asarray(abs_weight_sums, dtype=np.int64) * max_abs_input
             + np.abs(np.asarray(bias, dtype=np.int64)))
    shifts = np.asarray(shifts, dtype=np.int64)
    left = np.maximum(shifts, 0)
    fits_int32 = np.all(bound * (2 ** (left + 1)) < 2 ** 31)
    return int(fits_int32 and np.all((-shifts >= 1) & (-shifts <= 22)))
