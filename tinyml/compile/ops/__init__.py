"""One module per operator: check it, compute its constants, and say which kernel runs it.

Each module's `lower(model, op)` returns a Call; an operator without a module here is refused
at compile time with its name and index, never compiled into wrong code.
"""

from __future__ import annotations

from tinyml.tflite.flatbuffer import ModelError
from tinyml.tflite.model import Model, Operator
from tinyml.compile.ops import (add, average_pool2d, conv2d, depthwise_conv2d, fully_connected,
                                max_pool2d, mean, reshape, softmax)
from tinyml.compile.ops.base import Call, CompileError

LOWERINGS = {
    "ADD": add.lower,
    "AVERAGE_POOL_2D": average_pool2d.lower,
    "CONV_2D": conv2d.lower,
    "DEPTHWISE_CONV_2D": depthwise_conv2d.lower,
    "FULLY_CONNECTED": fully_connected.lower,
    "MAX_POOL_2D": max_pool2d.lower,
    "MEAN": mean.lower,
    "RESHAPE": reshape.lower,
    "SOFTMAX": softmax.lower,
}
SUPPORTED = tuple(sorted(LOWERINGS))


def lower(model: Model, op: Operator) -> Call:
    fn = LOWERINGS.get(op.opcode)
    if fn is None:
        raise CompileError(f"{op.describe()} is not supported by tinyml compile. Supported "
                           f"operators: {', '.join(SUPPORTED)}.")
    return fn(model, op)


__all__ = ["Call", "CompileError", "ModelError", "SUPPORTED", "lower"]
