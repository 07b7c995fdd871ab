"""ADD: int8 elementwise sum of two same-shaped tensors, with TFLite's integer rescaling."""

from tinyml.tflite.model import Model, Operator
from tinyml.compile.ops.base import (Call, CompileError, require_activation, require_int8,
                                     tensors)
from tinyml.compile.quantize import activation_range, quantize_multiplier

LEFT_SHIFT = 20


def lower(model: Model, op: Operator) -> Call:
    (a, b, *_), (y,) = tensors(model, op)
    require_int8(op, a, b, y)
    if a.shape != b.shape or a.shape != y.shape:
        raise CompileError(f"{op.describe()}: broadcasting ADD ({list(a.shape)} + {list(b.shape)}) "
                           "is not supported; the inputs must have the output's shape")
    (s1, z1), (s2, z2), (so, zo) = a.quant(), b.quant(), y.quant()
    twice_max = 2.0 * max(float(s1), float(s2))
    m1, sh1 = quantize_multiplier(float(s1) / twice_max)
    m2, sh2 = quantize_multiplier(float(s2) / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << LEFT_SHIFT) * float(so)))
    act_min, act_max = activation_range(require_activation(op), so, zo)
    params = dict(size=y.size, input1_offset=-z1, input2_offset=-z2, output_offset=zo,
                  input1_multiplier=m1, input2_multiplier=m2, output_multiplier=mo,
                  input1_shift=sh1, input2_shift=sh2, output_shift=sho, left_shift=LEFT_SHIFT,
                  act_min=act_min, act_max=act_max)
    # Elementwise: either input may hold the output when nothing later reads it.
    return Call(op, "tm_add_s8", "tm_add_params_t", params, None,
                [("in", 0), ("in", 1), ("out", 0)], [], inplace_input=0)
