"""RESHAPE: the same bytes under another shape, so no code at all: the output aliases the input."""

from tinyml.tflite.model import Model, Operator
from tinyml.compile.ops.base import Call, CompileError, tensors


def lower(model: Model, op: Operator) -> Call:
    (x, *_), (y,) = tensors(model, op)
    if x.size != y.size or x.dtype != y.dtype:
        raise CompileError(f"{op.describe()}: cannot reshape {list(x.shape)} {x.dtype} into "
                           f"{list(y.shape)} {y.dtype}")
    if x.dtype == "int8" and x.quant() != y.quant():
        raise CompileError(f"{op.describe()}: input and output quantization differ")
    return Call(op, None, alias_input=0)
