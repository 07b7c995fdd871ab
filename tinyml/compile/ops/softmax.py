"""SOFTMAX: int8 to int8 with TFLite's fixed-point exp; constants computed here from beta and scale."""

import math

from tinyml.tflite.model import Model, Operator
from tinyml.compile.ops.base import Call, CompileError, fits, require_int8, tensors
from tinyml.compile.quantize import quantize_multiplier

SCALED_DIFF_INTEGER_BITS = 5


def softmax_constants(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min), as TFLite's softmax Prepare makes them."""
    real = min(beta * input_scale * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise CompileError(f"softmax input scale {input_scale} with beta {beta} is too small")
    radius = (((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS))
              / (1 << left_shift))
    return multiplier, left_shift, -int(math.floor(radius))


def lower(model: Model, op: Operator) -> Call:
    (x, *_), (y,) = tensors(model, op)
    require_int8(op, x, y)
    out_scale, out_zp = y.quant()
    if out_zp != -128 or abs(out_scale - 1 / 256) > 1e-9:
        raise CompileError(f"{op.describe()}: int8 softmax output must have scale 1/256 and "
                           f"zero point -128 (got {out_scale}, {out_zp})")
    depth = x.shape[-1]
    rows = x.size // depth
    fits(op, rows=rows, depth=depth)
    in_scale, _ = x.quant()
    multiplier, left_shift, diff_min = softmax_constants(float(op.options.get("beta", 1.0)),
                                                         float(in_scale))
    params = dict(rows=rows, depth=depth, input_multiplier=multiplier,
                  input_left_shift=left_shift, diff_min=diff_min, output_offset=out_zp)
    return Call(op, "tm_softmax_s8", "tm_softmax_params_t", params, None,
                [("in", 0), ("out", 0)], [], inplace_input=0)
