"""One candidate: its int8 model before training (for the cost check), a short training with
early stopping and a pruning hook, and its int8 score on the validation split.

Training follows tinyml.train's recipe for the app (the same model builders, optimiser,
augmentation and int8 conversion), on a shorter schedule; the score is the int8 model's in
TFLite Micro: accuracy (kws) or the anomaly AUC of normal vs faulty windows (vibration).
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from tinyml.tune.space import candidate_config, config_class


@contextlib.contextmanager
def quiet_output(enabled: bool = True):
    """TensorFlow's converter prints to the process's stdout and stderr (from C++ too): hidden
    from a progress display by pointing both descriptors at /dev/null meanwhile."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


@dataclass
class TuneData:
    """The dataset a study trains on, its features per front-end computed once (and cached
    beside the dataset, shared by every worker on the machine)."""
    app: str
    dataset: object
    folder: Path
    _features: dict = field(default_factory=dict)

    @classmethod
    def load(cls, app: str, base, progress: bool = False) -> "TuneData":
        from tinyml.train import kws, vibration

        data, folder = (kws if app == "kws" else vibration).prepare_dataset(base, progress)
        return cls(app, data, Path(folder))

    def features(self, spec) -> np.ndarray:
        from tinyml.features import dataset_features

        if spec not in self._features:
            self._features[spec] = dataset_features(self.dataset, self.folder, spec)
        return self._features[spec]

    @property
    def classes(self) -> int:
        return len(self.dataset.classes)

    def spec(self, cfg):
        """The candidate's front-end on this data: vibration sets bring their own axis count
        (as tinyml.train.vibration takes it)."""
        spec = cfg.frontend()
        if self.app == "vibration":
            spec = replace(spec, axes=int(self.dataset.x.shape[1]))
        return spec


def inference_model(app: str, cfg, spec, classes: int):
    """The batch-1 Keras model the int8 conversion takes (untrained)."""
    if app == "kws":
        from tinyml.train.kws import build_model

        return build_model(cfg.size, spec.shape, classes, batch_size=1, **cfg.architecture())
    from tinyml.train.vibration import build_autoencoder

    return build_autoencoder(spec.axes * spec.bands, cfg.hidden, cfg.bottleneck)


def untrained_tflite(app: str, params: dict, base=None, classes: int = 12, quiet: bool = True,
                     spec=None) -> bytes:
    """The candidate's int8 model with its initial weights: the shapes, and so the arena,
    weights and instructions, of the trained one (calibrated on random features)."""
    from tinyml.convert.tflite import to_int8_tflite
    from tinyml.train.common import keras_session

    cfg = candidate_config(base or config_class(app)(), params)
    spec = spec or cfg.frontend()
    with quiet_output(quiet):  # importing TensorFlow prints to stderr from C++
        keras_session(cfg.seed)
    model = inference_model(app, cfg, spec, classes)
    shape = (32, *spec.shape, 1) if app == "kws" else (32, spec.axes * spec.bands)
    features = np.random.default_rng(cfg.seed).integers(-128, 128, size=shape, dtype=np.int8)
    with quiet_output(quiet):
        return to_int8_tflite(model, features, spec.scale, spec.zero_point, samples=32, seed=cfg.seed)


class Hopeless(Exception):
    """Raised by the pruning hook: the trial is not worth finishing."""


@dataclass
class Scored:
    tflite: bytes
    val_metric: float        # int8 in TFLM on the validation split
    test_metric: float
    curve: list[float]       # the float model's validation metric after each epoch
    epochs: int


def _epoch_hook(keras, metric_of: Callable[[dict], float], curve: list, should_stop: Callable[[int, float], bool]):
    class Hook(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            value = float(metric_of(logs or {}))
            curve.append(value)
            if should_stop(epoch + 1, value):
                raise Hopeless(f"epoch {epoch + 1}: validation {value:.4f}")

    return Hook()


def train_candidate(app: str, cfg, data: TuneData, epochs: int,
                    should_stop: Callable[[int, float], bool] = lambda e, v: False,
                    quiet: bool = True) -> Scored:
    """Trains the candidate for at most `epochs` (early stopping on the validation metric),
    converts it to int8 and scores it in TFLM. should_stop(epoch, validation metric) is
    asked after every epoch; True raises Hopeless."""
    from tinyml.convert.tflite import dequantize, to_int8_tflite
    from tinyml.convert.tflm import TflmModel
    from tinyml.train.common import keras_session

    with quiet_output(quiet):
        keras = keras_session(cfg.seed)
    spec = data.spec(cfg)
    q = data.features(spec)
    ds = data.dataset
    tr, va, te = (ds.split == 0), (ds.split == 1), (ds.split == 2)
    curve: list[float] = []
    if app == "kws":
        from tinyml.train.kws import build_model, compile_for_training, one_hot

        x = dequantize(q, spec.scale, spec.input_zero_point)[..., None]
        y = ds.labels.astype(np.int32)
        targets = one_hot(y, data.classes)
        model = build_model(cfg.size, spec.shape, data.classes, augment=True, **cfg.architecture())
        compile_for_training(keras, model, cfg, int(tr.sum()), epochs)
        hook = _epoch_hook(keras, lambda logs: logs.get("val_accuracy", 0.0), curve, should_stop)
        model.fit(x[tr], targets[tr], validation_data=(x[va], targets[va]), epochs=epochs, batch_size=cfg.batch_size,
                  verbose=0, shuffle=True, callbacks=[
                      hook, keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=3,
                                                          restore_best_weights=True)])
        inference = inference_model(app, cfg, spec, data.classes)
        inference.set_weights(model.get_weights())
        with quiet_output(quiet):
            tflite = to_int8_tflite(inference, q[tr][..., None], spec.scale, spec.input_zero_point, seed=cfg.seed)
        tflm = TflmModel(tflite)
        val = float(np.mean(tflm.run(q[va]).argmax(axis=1) == y[va]))
        test = float(np.mean(tflm.run(q[te]).argmax(axis=1) == y[te]))
        return Scored(tflite, val, test, curve, len(curve))

    from tinyml.features.normalize import ZERO_POINT
    from tinyml.train.vibration import anomaly_scores, build_autoencoder, normalise_by_machine, roc

    normal = ds.labels == ds.classes.index("normal")
    q, _ = normalise_by_machine(ds, q.reshape(len(q), -1))  # each machine at its own level, as training does
    x = dequantize(q, spec.scale, ZERO_POINT)

    def float_auc(model, rows) -> float:
        errors = np.mean((model.predict(x[rows], verbose=0) - x[rows]) ** 2, axis=1)
        return roc(errors[normal[rows]], errors[~normal[rows]])[2]

    model = build_autoencoder(q.shape[1], cfg.hidden, cfg.bottleneck)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="mse")

    class ValAuc(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_auc"] = float_auc(self.model, va)

    hook = _epoch_hook(keras, lambda logs: logs["val_auc"], curve, should_stop)
    model.fit(x[tr & normal], x[tr & normal], validation_data=(x[va & normal], x[va & normal]),
              epochs=epochs, batch_size=cfg.batch_size, verbose=0, shuffle=True,
              callbacks=[ValAuc(), hook, keras.callbacks.EarlyStopping(
                  monitor="val_auc", mode="max", patience=5, restore_best_weights=True)])
    with quiet_output(quiet):
        tflite = to_int8_tflite(model, q[tr & normal], spec.scale, ZERO_POINT, seed=cfg.seed)
    tflm = TflmModel(tflite)
    qp = tflm.output["quantization_parameters"]
    out_q = (float(qp["scales"][0]), int(qp["zero_points"][0]))
    in_q = (spec.scale, ZERO_POINT)

    def int8_auc(rows) -> float:
        scores = anomaly_scores(q[rows], tflm.run(q[rows]), in_q, out_q)
        return roc(scores[normal[rows]], scores[~normal[rows]])[2]

    return Scored(tflite, int8_auc(va), int8_auc(te), curve, len(curve))
