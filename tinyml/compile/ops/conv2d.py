"""CONV_2D: per-channel int8 convolution; 1x1 stride-1 convolutions get the in-place kernel."""

import numpy as np

from tinyml.tflite.model import Model, Operator
from tinyml.compile.ops.base import (Call, CompileError, Const, fits,
                                     narrow_accumulators, padding, require_activation,
                                     require_nhwc_batch1, weighted_op)
from tinyml.compile.quantize import activation_range, per_channel_multipliers


def cols_bytes(n: int) -> int:
    """The matrix kernels' work area for four columns of n values (TM_COLS_BYTES in tm_gemm.h):
    widened to int16 on the DSP path, raw in chunks of 16 on the Helium path."""
    return max(8 * n, 64 * -(-n // 16))


def conv_requant(op, x, w, y, channels):
    """Per-output-channel multiplier and shift constants, plus the clamp bounds."""
    in_scale, in_zp = x.quant()
    out_scale, out_zp = y.quant()
    if w.zero_point is not None and np.any(w.zero_point != 0):
        raise CompileError(f"{op.describe()}: filter '{w.name}' has non-zero zero points; TFLite "
                           "int8 filters are symmetric")
    mult, shift = per_channel_multipliers(in_scale, w.scale, out_scale, channels)
    act_min, act_max = activation_range(require_activation(op), out_scale, out_zp)
    return in_zp, out_zp, mult, shift, act_min, act_max


def lower(model: Model, op: Operator) -> Call:
    x, w, b, y = weighted_op(model, op, "filter")
    if w.dtype != "int8":
        raise CompileError(f"{op.describe()}: filter '{w.name}' is {w.dtype}; expected int8")
    in_h, in_w, in_c = require_nhwc_batch1(op, x)
    out_h, out_w, out_c = require_nhwc_batch1(op, y)
    k_out, k_h, k_w, k_in = w.shape
    if k_out != out_c or k_in != in_c:
        raise CompileError(f"{op.describe()}: filter shape {list(w.shape)} does not match "
                           f"{in_c} input and {out_c} output channels (grouped conv is not supported)")
    o = op.options
    pad_h = padding(op, in_h, k_h, o["stride_h"], o["dilation_h"], out_h)
    pad_w = padding(op, in_w, k_w, o["stride_w"], o["dilation_w"], out_w)
    fits(op, in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c,
         filter_h=k_h, filter_w=k_w, stride_h=o["stride_h"], stride_w=o["stride_w"],
         dilation_h=o["dilation_h"], dilation_w=o["dilation_w"], pad_h=pad_h, pad_w=pad_w)
    in_zp, out_zp, mult, shift, act_min, act_max = conv_requant(op, x, w, y, out_c)
    bias = np.zeros(out_c, dtype=np.int64)
    if b is not None:
        bias += b.data.astype(np.int64)
    params = dict(in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c,
                  filter_h=k_h, filter_w=k_w, stride_h=o["stride_h"], stride_w=o["stride_w"],
                  dilation_h=o["dilation_h"], dilation_w=o["dilation_w"], pad_h=pad_h,
                  pad_w=pad_w, depth_multiplier=1, act_min=act_min, act_max=act_max,
                  input_offset=-in_zp, output_offset=out_zp)
    constants = [Const("filter", "int8_t", w.data), Const("multiplier", "int32_t", mult),
                 Const("shift", "int8_t", shift.astype(np.int8))]
    # Fold the input offset into the bias, sum((x + off) * w) = sum(x * w) + off * sum(w): the
    # kernels multiply raw int8 values (and pad with the input zero point).
    rows = w.data.reshape(out_c, -1).astype(np.int64)
    bias += -in_zp * rows.sum(axis=1)
    params["narrow_acc"] = narrow_accumulators(np.abs(rows).sum(axis=1), 128, bias, shift)
    constants.append(Const("bias", "int32_t", bias.astype(np.int32)))
    if (k_h, k_w, o["stride_h"], o["stride_w"], pad_h, pad_w) == (1, 1, 1, 1, 0, 0):
        return Call(op, "tm_conv2d_1x1_s8", "tm_conv_params_t", params, ("multiplier", "shift"),
                    [("in", 0), ("const", "filter"), ("const", "bias"), ("out", 0), ("scratch",)],
                    constants, inplace_input=0, scratch_bytes=cols_bytes(in_c) + 4 * out_c)
    # In place (the kernel sees output == input) keeps a ring of pad_h input rows: only for
    # "same"-sized, stride-1 convolutions that keep the channel count.
    in_place = ((in_h, in_w, in_c) == (out_h, out_w, out_c) and o["stride_h"] == o["stride_w"] == 1
                and o["dilation_h"] == o["dilation_w"] == 1 and 2 * pad_h == k_h - 1
                and 2 * pad_w == k_w - 1)
    k = k_h * k_w * in_c
    scratch = cols_bytes(k) + -(-k // 4) * 4 + 4 * out_c  # columns, one raw patch, a partial block
    if in_place:
        scratch += (pad_h + 1) * in_w * in_c
    return Call(op, "tm_conv2d_s8", "tm_conv_params_t", params, ("multiplier", "shift"),
                [("in", 0), ("const", "filter"), ("const", "bias"), ("out", 0), ("scratch16",)],
                constants, inplace_input=0 if in_place else None, scratch_bytes=scratch)
