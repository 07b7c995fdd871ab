"""DEPTHWISE_CONV_2D: per-channel int8; with depth multiplier 1 it runs in place."""

import numpy as np

from tinyml.tflite.model import Model, Operator
from tinyml.compile.ops.base import (Call, CompileError, Const, fits,
                                     narrow_accumulators, padding,
                                     require_nhwc_batch1, weighted_op)
from tinyml.compile.ops.conv2d import conv_requant


def lower(model: Model, op: Operator) -> Call:
    x, w, b, y = weighted_op(model, op, "filter")
    in_h, in_w, in_c = require_nhwc_batch1(op, x)
    out_h, out_w, out_c = require_nhwc_batch1(op, y)
    _, k_h, k_w, k_c = w.shape
    o = op.options
    multiplier = o["depth_multiplier"] or (out_c // in_c)
    if k_c != out_c or in_c * multiplier != out_c:
        raise CompileError(f"{op.describe()}: {in_c} input channels x depth multiplier "
                           f"{multiplier} does not give {out_c} outputs (filter {list(w.shape)})")
    pad_h = padding(op, in_h, k_h, o["stride_h"], o["dilation_h"], out_h)
    pad_w = padding(op, in_w, k_w, o["stride_w"], o["dilation_w"], out_w)
    fits(op, in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c,
         filter_h=k_h, filter_w=k_w, stride_h=o["stride_h"], stride_w=o["stride_w"],
         dilation_h=o["dilation_h"], dilation_w=o["dilation_w"], pad_h=pad_h, pad_w=pad_w,
         depth_multiplier=multiplier)
    in_zp, out_zp, mult, shift, act_min, act_max = conv_requant(op, x, w, y, out_c)
    bias = np.zeros(out_c, dtype=np.int64)
    if b is not None:
        bias += b.data.astype(np.int64)
    # The input offset folded into the bias: the kernel's planes hold raw values, padded with
    # the input zero point.
    taps = w.data.reshape(-1, out_c).astype(np.int64)
    bias += -in_zp * taps.sum(axis=0)
    params = dict(in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c,
                  filter_h=k_h, filter_w=k_w, stride_h=o["stride_h"], stride_w=o["stride_w"],
                  dilation_h=o["dilation_h"], dilation_w=o["dilation_w"], pad_h=pad_h,
                  pad_w=pad_w, depth_multiplier=multiplier, act_min=act_min, act_max=act_max,
                  input_offset=-in_zp, output_offset=out_zp,
                  narrow_acc=narrow_accumulators(np.abs(taps).sum(axis=0), 128, bias, shift))
    constants = [Const("filter", "int8_t", w.data),
                 Const("bias", "int32_t", bias.astype(np.int32)),
                 Const("multiplier", "int32_t", mult), Const("shift", "int8_t", shift.astype(np.int8))]
    args = [("in", 0), ("const", "filter"), ("const", "bias"), ("out", 0), ("scratch16",)]
    return Call(op, "tm_depthwise_conv2d_s8", "tm_conv_params_t", params, ("multiplier", "shift"),
                args, constants, inplace_input=0 if multiplier == 1 else None,
                scratch_bytes=scratch_bytes(params))


def scratch_bytes(params: dict) -> int:
    """The kernel's scratch for these params (out_h may be a row band's): dw_plane_bytes() in
    tm_depthwise_conv2d.c, the DSP path's int16 plane or the Helium path's int8 plane (lines
    up to twice their length apart) and the three lanes a last vector may read past it; then
    one channel's window sums, and three more a last vector may write."""
    p = params
    plane_h = (p["out_h"] - 1) * p["stride_h"] + (p["filter_h"] - 1) * p["dilation_h"] + 1
    plane_w = (p["out_w"] - 1) * p["stride_w"] + (p["filter_w"] - 1) * p["dilation_w"] + 1
    stride = max(p["stride_h"], p["stride_w"])
    plane = max(4 * -(-plane_h * plane_w // 2), (2 * plane_h * plane_w + 3 * stride + 3) // 4 * 4)
    return plane + 4 * (p["out_h"] * p["out_w"] + 3)
