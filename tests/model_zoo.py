"""Keras models converted to TFLite here, so the engine's tests need nothing outside the repo.

Models shaped like the MLPerf Tiny ones at their real sizes (a DS-CNN keyword spotter, a
residual image classifier with ADD, the anomaly-detection dense autoencoder), MEAN in its
forms, and what the MLPerf models do not use: MAX_POOL_2D, VALID padding, strides, depth
multipliers, RELU6, a float model, an unsupported op. `cut_after_each_operator` gives every
intermediate tensor of a model as the output of a model of its own."""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _convert(model, input_shape, int8: bool = True, seed: int = 0) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        rng = np.random.default_rng(seed)

        def representative():
            for _ in range(64):
                yield [rng.normal(0, 1, size=(1, *input_shape)).astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def _randomize(model, seed: int, scale: float = 0.5) -> None:
    """Random weights with non-trivial biases, so every layer's arithmetic matters."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0, scale, size=w.shape).astype(np.float32) for w in weights])


def dense_autoencoder(seed: int = 1) -> bytes:
    """FULLY_CONNECTED only, sized like the vibration model that must fit an Arduino Mega."""
    import keras

    model = keras.Sequential([keras.Input((48,)), keras.layers.Dense(24, activation="relu"),
                              keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(24, activation="relu"), keras.layers.Dense(48)])
    _randomize(model, seed)
    return _convert(model, (48,), seed=seed)


def conv_zoo(seed: int = 2) -> bytes:
    """Strided VALID conv, MAX_POOL_2D, depth multiplier 2, RELU6, global average (MEAN)."""
    import keras

    model = keras.Sequential([
        keras.Input((20, 12, 3)),
        keras.layers.Conv2D(8, (3, 3), strides=(2, 1), padding="valid", activation="relu6"),
        keras.layers.MaxPooling2D((2, 2), strides=(2, 2), padding="same"),
        keras.layers.DepthwiseConv2D((3, 3), depth_multiplier=2, padding="same", activation="relu"),
        keras.layers.Conv2D(12, (3, 3), padding="same"),
        keras.layers.AveragePooling2D((2, 2), strides=(1, 1), padding="valid"),
        keras.layers.Conv2D(6, (1, 1), activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(5),
        keras.layers.Softmax(),
    ])
    _randomize(model, seed)
    return _convert(model, (20, 12, 3), seed=seed)


def block_edges(seed: int = 3) -> bytes:
    """The SIMD kernels' block edges: 1x1 convolutions on 35 pixels (a last block of 3) with
    channel counts that are not multiples of 4, growing (in place, backwards) and shrinking;
    a stride-2 depthwise; a convolution with a single output pixel."""
    import keras

    model = keras.Sequential([
        keras.Input((7, 5, 6)),
        keras.layers.Conv2D(10, (1, 1)),
        keras.layers.DepthwiseConv2D((3, 3), strides=(2, 2), padding="same"),
        keras.layers.Conv2D(5, (1, 1), activation="relu"),
        keras.layers.Conv2D(7, (3, 3), strides=(2, 2), padding="valid"),
    ])
    _randomize(model, seed)
    return _convert(model, (7, 5, 6), seed=seed)


def ds_cnn_kws(seed: int = 4) -> bytes:
    """MLPerf Tiny's KWS DS-CNN shape: 49x10 MFCC in, conv 10x4 stride 2 to 64 channels, four
    depthwise 3x3 + pointwise 64 blocks, average pool over the whole map, FC 12, softmax."""
    import keras
    from keras import layers

    x = inputs = keras.Input((49, 10, 1), batch_size=1)
    x = layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same", activation="relu")(x)
    for _ in range(4):
        x = layers.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
        x = layers.Conv2D(64, (1, 1), activation="relu")(x)
    x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
    x = layers.Dense(12)(layers.Reshape((64,))(x))
    model = keras.Model(inputs, layers.Softmax()(x))
    _randomize(model, seed, scale=0.15)
    return _convert(model, (49, 10, 1), seed=seed)


def residual_net(seed: int = 5) -> bytes:
    """MLPerf Tiny's ResNet-8 shape: 32x32x3 in, residual blocks whose ADD joins an identity
    shortcut and a strided 1x1 projection, global average pooling (MEAN), FC 10, softmax."""
    import keras
    from keras import layers

    x = inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(16, (3, 3), padding="same", activation="relu")(x)
    for filters, stride in ((16, 1), (32, 2)):
        y = layers.Conv2D(filters, (3, 3), strides=stride, padding="same", activation="relu")(x)
        y = layers.Conv2D(filters, (3, 3), padding="same")(y)
        shortcut = x if stride == 1 else layers.Conv2D(filters, (1, 1), strides=stride)(x)
        x = layers.Activation("relu")(layers.Add()([y, shortcut]))
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Softmax()(layers.Dense(10)(x)))
    _randomize(model, seed, scale=0.2)
    return _convert(model, (32, 32, 3), seed=seed)


def ad_autoencoder(seed: int = 6) -> bytes:
    """MLPerf Tiny's anomaly-detection autoencoder: 640 -> 4 x 128 -> 8 -> 4 x 128 -> 640."""
    import keras

    widths = [128] * 4 + [8] + [128] * 4
    model = keras.Sequential([keras.Input((640,)),
                              *[keras.layers.Dense(w, activation="relu") for w in widths],
                              keras.layers.Dense(640)])
    _randomize(model, seed, scale=0.1)
    return _convert(model, (640,), seed=seed)


def mean_window(size: int, keepdims: bool, seed: int = 7) -> bytes:
    """MEAN alone over a size x size window, with its own output quantization (so TFLM takes
    its requantizing path, not the plain integer division)."""
    import keras

    model = keras.Sequential([keras.Input((size, size, 8)),
                              keras.layers.GlobalAveragePooling2D(keepdims=keepdims)])
    return _convert(model, (size, size, 8), seed=seed)


def conv_mean_dense(seed: int = 8) -> bytes:
    """What most users' own models end with: conv -> GlobalAveragePooling2D (MEAN) -> dense."""
    import keras

    model = keras.Sequential([keras.Input((12, 12, 4)),
                              keras.layers.Conv2D(16, (3, 3), activation="relu"),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(6)])
    _randomize(model, seed, scale=0.3)
    return _convert(model, (12, 12, 4), seed=seed)


def vector_edges(seed: int = 9) -> bytes:
    """The cases the Helium kernels treat apart: a 3x3 depthwise over lines too long for its
    fixed tap offsets (it falls back to C), one dilated 2 down and 3 across (the converter
    never emits dilated depthwise convolutions, so the dilation is set in the file), a 5x3
    with stride 2 across (lanes gathered) and a 3x3 with stride 8 across, a 3x3 on a 2x2 map
    (the shortest lines), a 3x1 over a 1-wide map (the plane transposed); a 2x2 convolution
    whose patch is one whole chunk of 16 values, a 1x1 over 33 channels (two chunks and one
    value) to an odd number of channels, and a dense layer of 28 inputs to 5 outputs (a chunk
    and a tail, and a partial block of rows)."""
    import keras
    from keras import layers

    x = inputs = keras.Input((9, 66, 3), batch_size=1)
    x = layers.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same")(x)  # dilated below
    x = layers.DepthwiseConv2D((5, 3), strides=(1, 2), padding="same")(x)
    x = layers.Conv2D(4, (1, 1), activation="relu")(x)
    x = layers.Conv2D(33, (2, 2), strides=(2, 2), padding="valid")(x)
    x = layers.Conv2D(7, (1, 1))(x)
    x = layers.DepthwiseConv2D((3, 3), strides=(2, 8), padding="same")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same", activation="relu6")(x)
    x = layers.Reshape((4, 1, 7))(x)
    x = layers.DepthwiseConv2D((3, 1), padding="same")(x)
    x = layers.Dense(5)(layers.Flatten()(x))
    model = keras.Model(inputs, x)
    _randomize(model, seed, scale=0.3)
    return _dilate(_convert(model, (9, 66, 3), seed=seed), operator=1, dilation=(2, 3))


def pooled_band(seed: int = 10) -> bytes:
    """A run of row-local operators with both poolings and a dilated convolution in it, tall
    enough that `--optimize memory` computes it in row bands."""
    import keras

    model = keras.Sequential([
        keras.Input((40, 12, 3)),
        keras.layers.Conv2D(16, (3, 3), padding="same", activation="relu"),
        keras.layers.MaxPooling2D((3, 3), strides=(1, 1), padding="same"),
        keras.layers.Conv2D(16, (3, 3), padding="same", activation="relu"),  # dilated (2, 1) below
        keras.layers.AveragePooling2D((2, 2), strides=(2, 2), padding="valid"),
        keras.layers.DepthwiseConv2D((3, 3), strides=(2, 2), padding="same"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4),
    ])
    _randomize(model, seed)
    return _dilate(_convert(model, (40, 12, 3), seed=seed), operator=2, dilation=(2, 1))


def _dilate(model: bytes, operator: int, dilation: tuple[int, int]) -> bytes:
    """The model with one "same"-padded convolution dilated (its output shape is unchanged)."""
    from tensorflow.lite.tools import flatbuffer_utils

    fb = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    options = fb.subgraphs[0].operators[operator].builtinOptions
    options.dilationHFactor, options.dilationWFactor = dilation
    return bytes(flatbuffer_utils.convert_object_to_bytearray(fb))


def float_model() -> bytes:
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    return _convert(model, (8,), int8=False)


def sigmoid_model() -> bytes:
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="sigmoid")])
    _randomize(model, 3)
    return _convert(model, (8,))


def custom_op_model() -> bytes:
    """A valid .tflite whose only op (a custom BesselI0e) TFLite Micro has no kernel for."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
    def f(x):
        return tf.math.special.bessel_i0e(x)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    converter.allow_custom_ops = True
    return converter.convert()


def cut_after_each_operator(model: bytes) -> list[tuple[int, str, bytes]]:
    """(index, opcode, model) for every operator but the last whose output is an int8
    activation: the same model with its operators after that one removed and that
    operator's output as the model's output, so an intermediate tensor can be compared byte
    for byte like a final one."""
    from tensorflow.lite.tools import flatbuffer_utils

    names = {v: k for k, v in vars(_schema()).items() if not k.startswith("_")}
    count = len(flatbuffer_utils.convert_bytearray_to_object(bytearray(model)).subgraphs[0].operators)
    cuts = []
    for k in range(count - 1):
        cut = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
        graph = cut.subgraphs[0]
        code = cut.operatorCodes[graph.operators[k].opcodeIndex]
        if graph.tensors[graph.operators[k].outputs[0]].type != _tensor_type().INT8:
            continue  # shape arithmetic, not an activation
        graph.outputs = [graph.operators[k].outputs[0]]
        graph.operators = graph.operators[:k + 1]
        cut.signatureDefs = []
        opcode = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")
        cuts.append((k, opcode, bytes(flatbuffer_utils.convert_object_to_bytearray(cut))))
    return cuts


def _schema():
    from tensorflow.lite.python import schema_py_generated

    return schema_py_generated.BuiltinOperator


def _tensor_type():
    from tensorflow.lite.python import schema_py_generated

    return schema_py_generated.TensorType


# The engine's own test models by name: each is compared with TFLM at every operator.
ENGINE_MODELS = {
    "ds_cnn_kws": ds_cnn_kws,
    "residual_net": residual_net,
    "ad_autoencoder": ad_autoencoder,
    "dense_autoencoder": dense_autoencoder,
    "conv_zoo": conv_zoo,
    "block_edges": block_edges,
    "conv_mean_dense": conv_mean_dense,
    "mean_4x4_keepdims": lambda: mean_window(4, keepdims=True),
    "mean_8x8": lambda: mean_window(8, keepdims=False),
    "vector_edges": vector_edges,
}
