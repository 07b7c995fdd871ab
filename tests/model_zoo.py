"""Small Keras models converted to TFLite here, to cover what the MLPerf models do not:
MAX_POOL_2D, VALID padding, strides, depth multipliers, RELU6, a float model, an unsupported op."""

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


def _randomize(model, seed: int) -> None:
    """Random weights with non-trivial biases, so every layer's arithmetic matters."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in weights])


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
