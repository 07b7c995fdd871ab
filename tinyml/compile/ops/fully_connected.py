"""FULLY_CONNECTED: int8, per-tensor or per-channel; input and filter offsets folded into bias."""

import numpy as np

from tinyml.tflite.model import Model, Operator
from tinyml.compile.ops.base import (Call, CompileError, Const, fits, narrow_accumulators,
                                     require_activation, weighted_op)
from tinyml.compile.quantize import activation_range, per_channel_multipliers


def lower(model: Model, op: Operator) -> Call:
    x, w, b, y = weighted_op(model, op, "weights")
    if w.dtype != "int8" or len(w.shape) != 2:
        raise CompileError(f"{op.describe()}: weights '{w.name}' must be a 2-D int8 tensor, "
                           f"got {w.dtype} {list(w.shape)}")
    if op.options.get("weights_format", 0) != 0:
        raise CompileError(f"{op.describe()}: shuffled weight formats are not supported")
    out_depth, in_depth = w.shape
    if x.size % in_depth:
        raise CompileError(f"{op.describe()}: input of {x.size} values is not a multiple of the "
                           f"weights' depth {in_depth}")
    batches = x.size // in_depth
    if y.size != batches * out_depth:
        raise CompileError(f"{op.describe()}: output '{y.name}' has {y.size} values, expected "
                           f"{batches * out_depth}")
    fits(op, batches=batches, in_depth=in_depth, out_depth=out_depth)
    in_scale, in_zp = x.quant()
    out_scale, out_zp = y.quant()
    per_channel = w.scale is not None and len(w.scale) > 1
    if per_channel and len(w.scale) != out_depth:
        raise CompileError(f"{op.describe()}: weights '{w.name}' have {len(w.scale)} scales for "
                           f"{out_depth} outputs")
    filter_zp = int(w.zero_point[0]) if w.zero_point is not None and len(w.zero_point) else 0
    if per_channel and w.zero_point is not None and np.any(w.zero_point != 0):
        raise CompileError(f"{op.describe()}: per-channel weights must have zero points of 0")
    mult, shift = per_channel_multipliers(in_scale, w.scale, out_scale,
                                          out_depth if per_channel else 1)
    act_min, act_max = activation_range(require_activation(op), out_scale, out_zp)
    bias = np.zeros(out_depth, dtype=np.int64)
    if b is not None:
        bias += b.data.astype(np.int64)
    # sum((x + io) * (w + fo)) = sum(x * (w + fo)) + io * sum(w + fo): the second term is constant.
    rows = w.data.astype(np.int64) - filter_zp
    bias += -in_zp * rows.sum(axis=1)
    shifts = np.broadcast_to(shift, (out_depth,))
    params = dict(batches=batches, in_depth=in_depth, out_depth=out_depth, act_min=act_min,
                  act_max=act_max, input_offset=-in_zp, filter_offset=-filter_zp,
                  output_offset=out_zp, per_channel=int(per_channel),
                  narrow_acc=narrow_accumulators(np.abs(rows).sum(axis=1), 128, bias, shifts))
    constants = [Const("filter", "int8_t", w.data), Const("bias", "int32_t", bias.astype(np.int32)),
                 Const("multiplier", "int32_t", mult), Const("shift", "int8_t", shift.astype(np.int8))]
    return Call(op, "tm_fully_connected_s8", "tm_fc_params_t", params, ("multiplier", "shift"),
                [("in", 0), ("const", "filter"), ("const", "bias"), ("out", 0)], constants)
