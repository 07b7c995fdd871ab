"""The compiler's view of a .tflite model: tensors, operators, options. Read, checked, immutable.

Only what an int8 microcontroller model needs is kept; anything else is refused here with a
message that names the operator or tensor, before any C is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyml.tflite.flatbuffer import ModelError, Table, root

# TensorType enum of the TFLite schema.
DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string",
          6: "bool", 7: "int16", 8: "complex64", 9: "int8", 10: "float64"}
NUMPY = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "int64": np.int64,
         "int16": np.int16, "int8": np.int8, "float64": np.float64, "bool": np.bool_}

# BuiltinOperator enum of the TFLite schema (TF 2.21), every code by its name, so errors name
# any operator. Static, not read from tensorflow at run time (importing it is slow);
# tests/test_compile_cli.py checks it against TensorFlow's schema.
BUILTIN = dict(enumerate((
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC",
    "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE",
    "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS",
    "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND",
    "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX",
    "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM",
    "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN",
    "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG",
    "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD",
    "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK",
    "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD",
    "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
    "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK",
    "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
    "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
    "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
    "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
    "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
    "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE",
    "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1",
    "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2",
    "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT",
    "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY",
    "STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE",
    "STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE",
    "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS", "STABLEHLO_AND",
    "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
    "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER",
    "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT",
    "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE", "STABLEHLO_CONVERT",
    "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE", "STABLEHLO_PAD",
    "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
    "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE",
    "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW", "STABLEHLO_COMPOSITE",
    "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT", "STABLEHLO_CASE")))

PADDING = {0: "SAME", 1: "VALID"}
ACTIVATION = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


@dataclass(frozen=True, eq=False)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: np.ndarray | None = None       # float32, one per channel or one per tensor
    zero_point: np.ndarray | None = None  # int64
    quantized_dimension: int = 0
    data: np.ndarray | None = None        # constant tensors (weights, biases, shapes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(NUMPY[self.dtype]).itemsize

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    def quant(self) -> tuple[float, int]:
        """Per-tensor scale and zero point (the first, for per-channel tensors)."""
        if self.scale is None or len(self.scale) == 0:
            raise ModelError(f"tensor '{self.name}' has no quantization parameters: "
                             "the model is not fully quantized")
        return float(self.scale[0]), int(self.zero_point[0]) if self.zero_point is not None and len(self.zero_point) else 0


@dataclass(frozen=True, eq=False)
class Operator:
    index: int
    opcode: str
    inputs: tuple[int, ...]    # -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)
    version: int = 1

    def describe(self) -> str:
        return f"operator #{self.index} ({self.opcode})"


@dataclass(frozen=True, eq=False)
class Model:
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str = ""
    source: str = ""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.operators:
            counts[op.opcode] = counts.get(op.opcode, 0) + 1
        return counts


def _options(opcode: str, table: Table | None) -> dict:
    """The builtin options we use, with the schema's defaults for absent fields."""
    t = table
    get = (lambda i, fmt, d=0: t.scalar(i, fmt, d)) if t is not None else (lambda i, fmt, d=0: d)
    if opcode == "CONV_2D":
        return {"padding": PADDING.get(get(0, "b"), "?"), "stride_w": get(1, "i"),
                "stride_h": get(2, "i"), "activation": ACTIVATION.get(get(3, "b"), "?"),
                "dilation_w": get(4, "i", 1), "dilation_h": get(5, "i", 1)}
    if opcode == "DEPTHWISE_CONV_2D":
        return {"padding": PADDING.get(get(0, "b"), "?"), "stride_w": get(1, "i"),
                "stride_h": get(2, "i"), "depth_multiplier": get(3, "i"),
                "activation": ACTIVATION.get(get(4, "b"), "?"),
                "dilation_w": get(5, "i", 1), "dilation_h": get(6, "i", 1)}
    if opcode == "FULLY_CONNECTED":
        return {"activation": ACTIVATION.get(get(0, "b"), "?"), "weights_format": get(1, "b"),
                "keep_num_dims": bool(get(2, "B"))}
    if opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return {"padding": PADDING.get(get(0, "b"), "?"), "stride_w": get(1, "i"),
                "stride_h": get(2, "i"), "filter_w": get(3, "i"), "filter_h": get(4, "i"),
                "activation": ACTIVATION.get(get(5, "b"), "?")}
    if opcode == "SOFTMAX":
        return {"beta": get(0, "f", 0.0)}
    if opcode == "ADD":
        return {"activation": ACTIVATION.get(get(0, "b"), "?")}
    if opcode == "RESHAPE":
        return {"new_shape": tuple(t.vector(0, "i")) if t is not None else ()}
    if opcode == "MEAN":
        return {"keep_dims": bool(get(0, "B"))}
    return {}


def _tensor(index: int, t: Table, buffers: list[Table]) -> Tensor:
    name = t.string(3) or f"tensor{index}"
    shape = tuple(int(d) for d in t.vector(0, "i"))
    signature = tuple(int(d) for d in t.vector(7, "i"))
    if signature and any(d < 0 for d in signature[1:]):
        raise ModelError(f"tensor '{name}' has a dynamic shape {list(signature)}: "
                         "microcontroller models need fixed shapes (only the batch may be -1)")
    if any(d < 0 for d in shape):
        raise ModelError(f"tensor '{name}' has a negative dimension in {list(shape)}")
    type_code = t.scalar(1, "b", 0)
    dtype = DTYPES.get(type_code)
    if dtype is None:
        raise ModelError(f"tensor '{name}' has unknown type code {type_code}")
    scale = zero_point = None
    qdim = 0
    q = t.table(4, f"tensor '{name}' quantization")
    if q is not None:
        scales = q.vector(2, "f")
        if scales:
            scale = np.array(scales, dtype=np.float32)
            zero_point = np.array(q.vector(3, "q") or (0,) * len(scales), dtype=np.int64)
            qdim = q.scalar(6, "i", 0)
    data = None
    buffer_index = t.scalar(2, "I", 0)
    if buffer_index >= len(buffers):
        raise ModelError(f"tensor '{name}' refers to buffer {buffer_index}, "
                         f"but the model has {len(buffers)}")
    if buffer_index > 0:
        buf = buffers[buffer_index]
        if buf.scalar(1, "Q", 0) or buf.scalar(2, "Q", 0):
            raise ModelError(f"tensor '{name}' keeps its data outside the flatbuffer "
                             "(a >2 GB model layout); re-export the model normally")
        raw = buf.bytes_view(0)
        if len(raw):
            if dtype not in NUMPY:
                raise ModelError(f"constant tensor '{name}' has unsupported type {dtype}")
            item = np.dtype(NUMPY[dtype]).itemsize
            expected = int(np.prod(shape, dtype=np.int64)) * item if shape else item
            if len(raw) != expected:
                raise ModelError(f"constant tensor '{name}' holds {len(raw)} bytes, its shape "
                                 f"{list(shape)} of {dtype} needs {expected}")
            data = np.frombuffer(bytes(raw), dtype=NUMPY[dtype]).reshape(shape)
    return Tensor(index=index, name=name, shape=shape, dtype=dtype, scale=scale,
                  zero_point=zero_point, quantized_dimension=qdim, data=data)


def read_tflite(source: str | Path | bytes) -> Model:
    """Reads a .tflite file (path or bytes) into a Model; ModelError says what is wrong."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            raise ModelError(f"{path} is a folder, not a .tflite file: name the model file inside it "
                             f"(a run folder's is {path / 'model_int8.tflite'})")
        if not path.exists():
            raise ModelError(f"no model file at {path}: check the path")
        if not path.is_file():  # a FIFO or a device would hang or never end
            raise ModelError(f"{path} is not a regular file: name a .tflite model file")
        try:
            buf, label = path.read_bytes(), str(path)
        except OSError as exc:
            raise ModelError(f"cannot read the model {path}: {exc.strerror}") from None
    else:
        buf, label = bytes(source), "<bytes>"
    try:
        return _read(buf, label)
    except ModelError as exc:
        message = str(exc)
        raise ModelError(message if message.startswith(label) else f"{label}: {message}") from None
    except (ValueError, TypeError, OverflowError, MemoryError, UnicodeDecodeError) as exc:
        raise ModelError(f"{label} is not a valid TensorFlow Lite model ({exc})") from None


def _read(buf: bytes, label: str) -> Model:
    m = root(buf, identifier=b"TFL3")
    version = m.scalar(0, "I", 0)
    if version != 3:
        raise ModelError(f"schema version {version}, expected 3 (TFLite flatbuffer)")
    opcodes = []
    for oc in m.tables(1, "operator_codes"):
        deprecated = oc.scalar(0, "b", 0)
        code = max(deprecated, oc.scalar(3, "i", 0))
        name = BUILTIN.get(code, f"BUILTIN_{code}")
        if code == 32:
            name = f"CUSTOM({oc.string(1)})"
        opcodes.append((name, oc.scalar(2, "i", 1)))
    subgraphs = m.tables(2, "subgraphs")
    if len(subgraphs) != 1:
        raise ModelError(f"the model has {len(subgraphs)} subgraphs; tinyml compiles single-graph "
                         "models (no control flow)")
    buffers = m.tables(4, "buffers")
    g = subgraphs[0]
    tensors = tuple(_tensor(i, t, buffers) for i, t in enumerate(g.tables(0, "tensors")))
    n = len(tensors)

    def indices(values, what):
        for v in values:
            if not -1 <= v < n:
                raise ModelError(f"{what} refers to tensor {v}, but the graph has {n}")
        return tuple(int(v) for v in values)

    operators = []
    for i, op in enumerate(g.tables(3, "operators")):
        opcode_index = op.scalar(0, "I", 0)
        if opcode_index >= len(opcodes):
            raise ModelError(f"operator #{i} uses opcode {opcode_index}, model has {len(opcodes)}")
        name, op_version = opcodes[opcode_index]
        options = _options(name, op.table(4, f"operator #{i} options"))
        operators.append(Operator(index=i, opcode=name,
                                  inputs=indices(op.vector(1, "i"), f"operator #{i} input"),
                                  outputs=indices(op.vector(2, "i"), f"operator #{i} output"),
                                  options=options, version=op_version))
    return Model(tensors=tensors, operators=tuple(operators),
                 inputs=indices(g.vector(1, "i"), "graph input"),
                 outputs=indices(g.vector(2, "i"), "graph output"),
                 description=m.string(3), source=label)


def op_macs(model: Model, op: Operator) -> int:
    """Multiply-accumulates of one operator (what the int8 kernels spend their time on)."""
    outs = [model.tensor(i) for i in op.outputs]
    ins = [model.tensor(i) if i >= 0 else None for i in op.inputs]
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D") and ins[1] is not None:
        filt = ins[1].shape
        per_output = filt[1] * filt[2] * (filt[3] if op.opcode == "CONV_2D" else 1)
        return outs[0].size * per_output
    if op.opcode == "FULLY_CONNECTED" and ins[1] is not None:
        return outs[0].size * ins[1].shape[-1]
    if op.opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return outs[0].size * op.options.get("filter_h", 1) * op.options.get("filter_w", 1)
    if op.opcode in ("ADD", "MEAN"):
        return ins[0].size
    return 0
