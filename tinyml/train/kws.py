"""Keyword spotting: a depthwise-separable CNN (MLPerf Tiny's DS-CNN) on the MFCC front-end.

    from tinyml.train import kws
    run = kws.train(kws.KwsTrainConfig(epochs=12))
    print(run.metrics["int8_tflm_acc"], run.folder)
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tinyml.convert.tflite import dequantize, report, run_tflite, to_int8_tflite
from tinyml.convert.tflm import TflmModel
from tinyml.datasets import KwsConfig, dataset_folder, load, make_kws
from tinyml.features import dataset_features
from tinyml.train.common import TrainedRun, fit_verbosity, confusion_png, keras_session, save_run
from tinyml.train.config import KwsTrainConfig

__all__ = ["KwsTrainConfig", "build_model", "compile_for_training", "one_hot", "train"]


def build_model(size: str = "default", input_shape=(49, 10), classes: int = 12,
                batch_size: int | None = None, augment: bool = False, *, channels: int = 0,
                blocks: int = 4, kernel: tuple[int, int] = (10, 4), stride: tuple[int, int] = (2, 2),
                depthwise_kernel: tuple[int, int] = (3, 3)):
    """DS-CNN: a strided 10x4 convolution, four depthwise-separable blocks, average pooling,
    a dense layer and softmax. Batch norm folds into the convolutions at conversion.

    batch_size=1 builds the inference twin: with every shape static, the flattening becomes
    one RESHAPE instead of shape arithmetic (SHAPE, STRIDED_SLICE, PACK) in the .tflite.
    augment=True adds SpecAugment-style masking, active in training only (no weights, so the
    trained weights load into the twin unchanged).
    channels (0: 64 for size "default", 32 for "small"), blocks, the first convolution's
    kernel and stride and the depthwise kernel reshape it (`tinyml tune` searches them); the
    defaults are MLPerf Tiny's DS-CNN."""
    import keras
    from keras import layers

    ch = channels or (64 if size == "default" else 32)
    inputs = keras.Input(shape=(*input_shape, 1), batch_size=batch_size)
    x = FeatureMasking()(inputs) if augment else inputs
    x = layers.Conv2D(ch, tuple(kernel), strides=tuple(stride), padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(x))
    for _ in range(blocks):
        x = layers.DepthwiseConv2D(tuple(depthwise_kernel), padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(x))
        x = layers.Conv2D(ch, (1, 1), use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(x))
    x = layers.Dropout(0.2)(x)
    x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
    x = layers.Flatten()(x)
    outputs = layers.Softmax()(layers.Dense(classes)(x))
    return keras.Model(inputs, outputs, name=f"ds_cnn_{size}")


def _masking_layer():
    import keras
    from keras import ops

    class FeatureMasking(keras.layers.Layer):
        """Zeroes one random run of up to 8 frames and one of up to 2 coefficients per example
        (SpecAugment), so the model cannot lean on any single part of the input."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seeds = keras.random.SeedGenerator(1234)

        def call(self, x, training=None):
            if not training:
                return x
            batch, frames, coeffs = ops.shape(x)[0], x.shape[1], x.shape[2]

            def draw(high):
                return keras.random.randint((batch, 1, 1, 1), 0, high, seed=self.seeds)

            t0, tw, f0, fw = draw(frames), draw(9), draw(coeffs), draw(3)
            t = ops.reshape(ops.arange(frames), (1, frames, 1, 1))
            f = ops.reshape(ops.arange(coeffs), (1, 1, coeffs, 1))
            mask = ops.logical_or(ops.logical_and(t >= t0, t < t0 + tw),
                                  ops.logical_and(f >= f0, f < f0 + fw))
            return ops.where(mask, ops.zeros_like(x), x)

    return FeatureMasking


def FeatureMasking():  # noqa: N802 - reads like the Keras layer it builds
    return _masking_layer()()


def compile_for_training(keras, model, cfg: KwsTrainConfig, examples: int, epochs: int) -> None:
    """Adam with the learning rate decaying to zero along a cosine over the epochs, and
    cross-entropy against labels smoothed by cfg.label_smoothing (the targets: one_hot)."""
    steps = int(np.ceil(examples / cfg.batch_size)) * epochs
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps)),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[labels]


def dataset_folder_of(cfg: KwsTrainConfig) -> Path:
    """Where the config's dataset lives (whether or not it has been generated yet)."""
    return Path(cfg.dataset) if cfg.dataset else dataset_folder("kws", _synthetic(cfg))


def _synthetic(cfg: KwsTrainConfig) -> KwsConfig:
    return KwsConfig(clips_per_class=cfg.clips_per_class, silence_clips=cfg.clips_per_class // 2,
                     seed=cfg.seed)


def prepare_dataset(cfg: KwsTrainConfig, progress: bool):
    """The dataset the config trains on, and its folder: the synthetic set (generated once,
    then read from the cache) or an imported one."""
    if cfg.dataset:
        return load(Path(cfg.dataset)), Path(cfg.dataset)
    return make_kws(_synthetic(cfg), progress=progress), dataset_folder_of(cfg)


def train(cfg: KwsTrainConfig = KwsTrainConfig(), runs_root: Path | None = None,
          progress: bool = True) -> TrainedRun:
    """Trains, converts to int8, checks in TFLM, and writes a run folder."""
    start = time.monotonic()
    keras = keras_session(cfg.seed)
    spec = cfg.frontend()
    data, folder = prepare_dataset(cfg, progress)
    q = dataset_features(data, folder, spec)
    x = dequantize(q, spec.scale, spec.input_zero_point)[..., None]
    y = data.labels.astype(np.int32)
    tr, va, te = (data.split == 0), (data.split == 1), (data.split == 2)
    model = build_model(cfg.size, spec.shape, len(data.classes), augment=True, **cfg.architecture())
    compile_for_training(keras, model, cfg, int(tr.sum()), cfg.epochs)
    targets = one_hot(y, len(data.classes))
    model.fit(x[tr], targets[tr], validation_data=(x[va], targets[va]), epochs=cfg.epochs,
              batch_size=cfg.batch_size, verbose=fit_verbosity(progress), shuffle=True)
    float_pred = model.predict(x[te], batch_size=256, verbose=0).argmax(axis=1)
    inference = build_model(cfg.size, spec.shape, len(data.classes), batch_size=1, **cfg.architecture())
    inference.set_weights(model.get_weights())
    tflite = to_int8_tflite(inference, q[tr][..., None], spec.scale, spec.input_zero_point, seed=cfg.seed)
    rep = report(tflite)
    tflm_out = TflmModel(tflite).run(q[te])
    lite_out = run_tflite(tflite, q[te])
    metrics = {
        "app": "kws", "classes": data.classes, "test_examples": int(te.sum()),
        "float_acc": float(np.mean(float_pred == y[te])),
        "int8_tflite_acc": float(np.mean(lite_out.argmax(axis=1) == y[te])),
        "int8_tflm_acc": float(np.mean(tflm_out.argmax(axis=1) == y[te])),
        "tflm_vs_tflite_mismatched_samples": int(np.sum(np.any(tflm_out != lite_out, axis=1))),
        "model": asdict(rep), "train_convert_s": round(time.monotonic() - start, 1),
        "dataset": str(folder), "frontend": spec.as_dict(),
        "trained_on": data.meta.get("source", str(folder)),
        "tested_on": data.meta.get("test_voices", "its test split"),
    }
    run = save_run("kws", cfg, model, tflite, metrics, runs_root)
    confusion_png(y[te], tflm_out.argmax(axis=1), data.classes, run.folder / "confusion.png",
                  f"KWS int8 in TFLM: {metrics['int8_tflm_acc']:.1%} on {int(te.sum())} test clips")
    return run
