"""What AVERAGE_POOL_2D and MAX_POOL_2D share: shapes, padding, unchanged quantization."""

from tinyml.tflite.model import Model, Operator
from tinyml.compile.ops.base import (Call, CompileError, fits, padding, require_activation,
                                     require_int8, require_nhwc_batch1, tensors)
from tinyml.compile.quantize import activation_range


def lower_pool(model: Model, op: Operator, function: str) -> Call:
    (x, *_), (y,) = tensors(model, op)
    require_int8(op, x, y)
    in_h, in_w, c = require_nhwc_batch1(op, x)
    out_h, out_w, out_c = require_nhwc_batch1(op, y)
    if out_c != c:
        raise CompileError(f"{op.describe()}: pooling cannot change the channel count")
    if x.quant() != y.quant():
        raise CompileError(f"{op.describe()}: input and output quantization differ "
                           f"({x.quant()} vs {y.quant()}); TFLite requires them equal")
    o = op.options
    pad_h = padding(op, in_h, o["filter_h"], o["stride_h"], 1, out_h)
    pad_w = padding(op, in_w, o["filter_w"], o["stride_w"], 1, out_w)
    fits(op, in_h=in_h, in_w=in_w, channels=c, out_h=out_h, out_w=out_w, filter_h=o["filter_h"],
         filter_w=o["filter_w"], stride_h=o["stride_h"], stride_w=o["stride_w"], pad_h=pad_h,
         pad_w=pad_w)
    scale, zp = y.quant()
    act_min, act_max = activation_range(require_activation(op), scale, zp)
    params = dict(in_h=in_h, in_w=in_w, channels=c, out_h=out_h, out_w=out_w,
                  filter_h=o["filter_h"], filter_w=o["filter_w"], stride_h=o["stride_h"],
                  stride_w=o["stride_w"], pad_h=pad_h, pad_w=pad_w, act_min=act_min,
                  act_max=act_max)
    # A global pool (1x1 output) reads each channel fully before writing it: safe in place.
    global_pool = out_h == 1 and out_w == 1
    return Call(op, function, "tm_pool_params_t", params, None, [("in", 0), ("out", 0)], [],
                inplace_input=0 if global_pool else None)
