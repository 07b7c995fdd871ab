"""Stage 5: compile. An int8 .tflite becomes freestanding C: constants, a static arena, invoke().

    from tinyml.compile import compile_model
    result = compile_model("model.tflite", "out/", name="kws")
    print(result.arena_bytes, result.macs)
"""

from tinyml.compile.compiler import CompileResult, compile_model, compile_models
from tinyml.tflite.flatbuffer import ModelError
from tinyml.compile.ops import SUPPORTED, CompileError

__all__ = ["CompileError", "CompileResult", "ModelError", "SUPPORTED", "compile_model", "compile_models"]
