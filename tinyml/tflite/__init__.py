"""The TFLite flatbuffer format, read with bounds checks: shared by convert (reports) and
compile (the engine)."""

from tinyml.tflite.flatbuffer import ModelError
from tinyml.tflite.model import Model, Operator, Tensor, op_macs, read_tflite

__all__ = ["Model", "ModelError", "Operator", "Tensor", "op_macs", "read_tflite"]
