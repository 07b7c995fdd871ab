"""MEAN over height and width (global average pooling as Keras exports it), integer-only.

TFLM divides the integer sum by the count when input and output share their quantization,
and otherwise requantizes the sum with 1/count folded into the multiplier. Either way the
output is a non-decreasing step function of the window's integer sum, so we evaluate that
function here for every possible sum and keep only the sums where the output steps up. The device sums, then counts the thresholds it has passed: bit-exact,
and no float on the device.
"""

import numpy as np

from tinyml.compile.quantize import multiply_by_quantized_multiplier, quantize_multiplier
from tinyml.tflite.model import Model, Operator
from tinyml.compile.ops.base import (Call, CompileError, Const, fits, require_constant,
                                     require_int8, require_nhwc_batch1, tensors)


def mean_output(sums: np.ndarray, count: int, in_q: tuple, out_q: tuple) -> np.ndarray:
    """What TFLM's int8 MEAN outputs for each window sum.

    Same quantization in and out: the sum divided by the count, truncated toward zero.
    Otherwise TFLM folds 1/count into the requantization multiplier (scaled up by the largest
    power of two not above count, at most 2^32 and within the shift's range), and requantizes
    the sum less count * input zero point with it.
    """
    (in_s, in_zp), (out_s, out_zp) = in_q, out_q
    sums = np.asarray(sums, dtype=np.int64)
    if in_zp == out_zp and np.float32(in_s) == np.float32(out_s):
        return np.sign(sums) * (np.abs(sums) // count)  # C division: toward zero
    multiplier, shift = quantize_multiplier(float(np.float32(in_s)) / float(np.float32(out_s)))
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    multiplier = (multiplier << extra) // count
    out = multiply_by_quantized_multiplier(sums - in_zp * count, multiplier, shift - extra)
    return np.clip(out + out_zp, -128, 127)


def lower(model: Model, op: Operator) -> Call:
    ins, (y,) = tensors(model, op)
    x, axes_t = ins[0], require_constant(op, ins[1] if len(ins) > 1 else None, "axes")
    require_int8(op, x, y)
    in_h, in_w, channels = require_nhwc_batch1(op, x)
    axes = sorted({int(a) % 4 for a in np.asarray(axes_t.data).reshape(-1)})
    if axes != [1, 2]:
        raise CompileError(f"{op.describe()}: MEAN over axes {axes} is not supported; "
                           "only over height and width (global average pooling)")
    if y.size != channels:
        raise CompileError(f"{op.describe()}: output '{y.name}' should hold {channels} values")
    count = in_h * in_w
    fits(op, in_h=in_h, in_w=in_w, channels=channels)
    sums = np.arange(-128 * count, 127 * count + 1, dtype=np.int64)
    out = mean_output(sums, count, x.quant(), y.quant())
    if np.any(np.diff(out) < 0):
        raise CompileError(f"{op.describe()}: the output is not monotonic in the input "
                           "(negative scale?)")
    lowest = int(out[0])
    # thresholds[k]: the smallest sum whose output is at least lowest + k + 1
    thresholds = [int(sums[np.argmax(out >= level)]) for level in range(lowest + 1, int(out[-1]) + 1)]
    params = dict(in_h=in_h, in_w=in_w, channels=channels, lowest=lowest,
                  thresholds=len(thresholds))
    return Call(op, "tm_mean_s8", "tm_mean_params_t", params, None,
                [("in", 0), ("const", "thresholds"), ("out", 0)],
                [Const("thresholds", "int32_t", np.array(thresholds, dtype=np.int32))],
                inplace_input=0)
