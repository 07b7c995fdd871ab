"""Vibration: a dense autoencoder trained on normal windows only (the anomaly model), and a
small fault classifier for machines with labelled faults.

Both models see each window relative to its machine's normal level (tinyml.features.normalize):
a level per simulated machine in training, the level `tinyml calibrate` measures on the machine a
board is bolted to, and until then the training machines' average (metrics["normal_level"]).

The anomaly score is the mean squared reconstruction error of the int8 features, computed
from the int8 model's output as the device does; the threshold is set on normal validation
windows for the configured false-alarm rate. Validation and test machines are normalised by
their own normal windows, as calibration would; benchmarks/vibration_real.py calibrates on one
stretch of a machine's running and scores the next.

    from tinyml.train import vibration
    run = vibration.train()
    print(run.metrics["int8_tflm_auc"])
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from tinyml.convert.tflite import dequantize, report, run_tflite, to_int8_tflite
from tinyml.convert.tflm import TflmModel
from tinyml.datasets import VibrationConfig, dataset_folder, load, make_vibration
from tinyml.datasets.store import split_problem
from tinyml.errors import TinymlError
from tinyml.features import dataset_features
from tinyml.features.normalize import ZERO_POINT, normal_level, normalize
from tinyml.train.common import TrainedRun, fit_verbosity, keras_session, roc_png, save_run
from tinyml.train.config import VibrationTrainConfig

__all__ = ["VibrationTrainConfig", "anomaly_scores", "build_autoencoder", "build_classifier", "roc",
           "train"]


def build_autoencoder(features: int = 48, hidden: int = 24, bottleneck: int = 8):
    import keras
    from keras import layers

    inputs = keras.Input(shape=(features,))
    x = layers.Dense(hidden, activation="relu")(inputs)
    x = layers.Dense(bottleneck, activation="relu")(x)
    x = layers.Dense(hidden, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(features)(x), name="vibration_autoencoder")


def build_classifier(features: int = 48, classes: int = 7, hidden: int = 32):
    """Normal vs each fault type, for machines whose faults have been seen and labelled."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(features,))
    x = layers.Dense(hidden, activation="relu")(inputs)
    x = layers.Dense(hidden, activation="relu")(x)
    return keras.Model(inputs, layers.Softmax()(layers.Dense(classes)(x)), name="fault_classifier")


def _fault_classifier(keras, cfg, q, x, labels, tr, va, te, spec, n_classes, normal_class, groups, progress):
    """Trains the classifier on all labelled training windows; returns (tflite, metrics)."""
    model = build_classifier(q.shape[1], n_classes)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[tr], labels[tr], validation_data=(x[va], labels[va]), epochs=cfg.epochs,
              batch_size=cfg.batch_size, verbose=fit_verbosity(progress), shuffle=True,
              callbacks=[keras.callbacks.EarlyStopping(patience=8, restore_best_weights=True)])
    tflite = to_int8_tflite(model, q[tr], spec.scale, ZERO_POINT, seed=cfg.seed)
    float_acc = float(np.mean(model.predict(x[te], verbose=0).argmax(axis=1) == labels[te]))
    outputs = TflmModel(tflite).run(q[te])
    tflm_acc = float(np.mean(outputs.argmax(axis=1) == labels[te]))
    return tflite, {"float_acc": float_acc, "int8_tflm_acc": tflm_acc,
                    "fault_type_acc": fault_type_accuracy(outputs, labels[te], groups, normal_class),
                    "fault_type_window_acc": fault_type_accuracy(
                        outputs, labels[te], [np.array([i]) for i in np.flatnonzero(labels[te] != normal_class)],
                        normal_class),
                    "fault_type_alarms": len(groups),
                    "model": asdict(report(tflite))}


ALARM_WINDOWS = 3  # anomalous windows in a row that raise an alarm (the firmware's default)


def most_likely_fault(outputs: np.ndarray, normal_class: int) -> np.ndarray:
    """The fault class each int8 classifier output (or sum of outputs) ranks first, "normal"
    left out, the first of equal scores: as apps/vibration picks it."""
    scores = outputs.astype(np.int32).copy()
    scores[:, normal_class] = np.iinfo(np.int32).min
    return scores.argmax(axis=1)


def alarm_groups(labels: np.ndarray, machines: np.ndarray, severity: np.ndarray, normal_class: int,
                 size: int = ALARM_WINDOWS) -> list[np.ndarray]:
    """Faulty windows in runs of `size` (same machine, fault and severity, in order): the
    windows of one alarm, whose classifier outputs the device sums before it names the fault."""
    groups = []
    for key in sorted(set(zip(machines.tolist(), labels.tolist(), severity.tolist()))):
        if key[1] == normal_class:
            continue
        rows = np.flatnonzero((machines == key[0]) & (labels == key[1]) & (severity == key[2]))
        groups += [rows[i:i + size] for i in range(0, len(rows) - size + 1, size)]
    return groups


def fault_type_accuracy(outputs: np.ndarray, labels: np.ndarray, groups: list[np.ndarray],
                        normal_class: int) -> float:
    """The share of alarms (groups of windows) whose fault the summed classifier outputs name."""
    if not groups:
        return 0.0
    sums = np.stack([outputs[g].astype(np.int32).sum(axis=0) for g in groups])
    return float(np.mean(most_likely_fault(sums, normal_class) == labels[[g[0] for g in groups]]))


def anomaly_scores(inputs_q: np.ndarray, outputs_q: np.ndarray, in_q: tuple, out_q: tuple) -> np.ndarray:
    """Mean squared difference between the features and their reconstruction (real units)."""
    a = dequantize(inputs_q.reshape(len(inputs_q), -1), *in_q)
    b = dequantize(outputs_q.reshape(len(outputs_q), -1), *out_q)
    return np.mean((a - b) ** 2, axis=1)


def roc(scores_normal: np.ndarray, scores_fault: np.ndarray):
    """(false-alarm rates, detection rates, AUC) over all thresholds."""
    scores = np.concatenate([scores_normal, scores_fault])
    truth = np.concatenate([np.zeros(len(scores_normal)), np.ones(len(scores_fault))])
    order = np.argsort(-scores, kind="stable")
    truth = truth[order]
    tpr = np.concatenate([[0.0], np.cumsum(truth) / max(truth.sum(), 1)])
    fpr = np.concatenate([[0.0], np.cumsum(1 - truth) / max((1 - truth).sum(), 1)])
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def machines_of(data) -> np.ndarray:
    """The machine of each window: the groups of a set whose groups are machines (the synthetic
    one); one machine for imported recordings, whose groups are files."""
    if data.groups is not None and data.meta.get("groups") == "machine":
        return np.asarray(data.groups)
    return np.zeros(len(data.labels), dtype=np.int32)


def normalise_by_machine(data, q_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(every window's int8 features minus its machine's normal level (machines_of), the default
    level): a machine with no normal windows gets the default, the training machines' average."""
    machines = machines_of(data)
    normal = data.labels == data.classes.index("normal")
    own = {int(m): normal_level(q_raw[(machines == m) & normal]) for m in np.unique(machines[normal])}
    trained = [own[m] for m in sorted(own) if np.any((machines == m) & (data.split == 0))]
    default = np.round(np.mean(trained or list(own.values()), axis=0)).astype(np.int16)
    return normalize(q_raw, np.stack([own.get(int(m), default) for m in machines])), default


def dataset_folder_of(cfg: VibrationTrainConfig) -> Path:
    """Where the config's dataset lives (whether or not it has been generated yet)."""
    return Path(cfg.dataset) if cfg.dataset else dataset_folder("vibration", _synthetic(cfg))


def _synthetic(cfg: VibrationTrainConfig) -> VibrationConfig:
    return VibrationConfig(normal_windows=cfg.normal_windows, seed=cfg.seed)


def prepare_dataset(cfg: VibrationTrainConfig, progress: bool):
    """The dataset the config trains on, and its folder: the synthetic set (generated once,
    then read from the cache) or an imported one."""
    if cfg.dataset:
        return load(Path(cfg.dataset)), Path(cfg.dataset)
    return make_vibration(_synthetic(cfg), progress=progress), dataset_folder_of(cfg)


def train(cfg: VibrationTrainConfig = VibrationTrainConfig(), runs_root: Path | None = None,
          progress: bool = True) -> TrainedRun:
    start = time.monotonic()
    data, folder = prepare_dataset(cfg, progress)
    problem = split_problem(data)
    if problem:
        raise TinymlError(f"{folder}: {problem}: the anomaly model learns normal windows (train), sets its "
                          "threshold on them (val) and is scored against the faults (test); import the set "
                          "again (`tinyml datasets import cwru` splits each recording in time) or give its "
                          "split normal windows in every part and every class in test")
    keras = keras_session(cfg.seed)
    spec = replace(cfg.frontend(), axes=int(data.x.shape[1]))  # an axis per channel the set has (CWRU: 1-2)
    q_raw = dataset_features(data, folder, spec).reshape(len(data.x), -1)
    normal = data.labels == data.classes.index("normal")
    q, default_level = normalise_by_machine(data, q_raw)
    x = dequantize(q, spec.scale, ZERO_POINT)
    tr, va, te = (data.split == 0), (data.split == 1), (data.split == 2)
    model = build_autoencoder(q.shape[1], cfg.hidden, cfg.bottleneck)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="mse")
    model.fit(x[tr & normal], x[tr & normal], validation_data=(x[va & normal], x[va & normal]),
              epochs=cfg.epochs, batch_size=cfg.batch_size, verbose=fit_verbosity(progress),
              shuffle=True, callbacks=[keras.callbacks.EarlyStopping(patience=8, restore_best_weights=True)])
    tflite = to_int8_tflite(model, q[tr & normal], spec.scale, ZERO_POINT, seed=cfg.seed)
    rep = report(tflite)
    tflm = TflmModel(tflite)
    out_q = tuple(float(v) if i == 0 else int(v) for i, v in enumerate(
        (tflm.output["quantization_parameters"]["scales"][0],
         tflm.output["quantization_parameters"]["zero_points"][0])))
    in_q = (spec.scale, ZERO_POINT)

    def int8_scores(rows, runner):
        return anomaly_scores(q[rows], runner(q[rows]), in_q, out_q)

    val_normal = int8_scores(va & normal, tflm.run)
    threshold = float(np.quantile(val_normal, 1 - cfg.false_alarm_rate))
    test_normal, test_fault = int8_scores(te & normal, tflm.run), int8_scores(te & ~normal, tflm.run)
    fpr, tpr, auc = roc(test_normal, test_fault)
    float_scores = np.mean((model.predict(x[te], verbose=0) - x[te]) ** 2, axis=1)
    _, _, float_auc = roc(float_scores[normal[te]], float_scores[~normal[te]])
    lite = run_tflite(tflite, q[te])
    tflm_te = tflm.run(q[te])
    severity_all = np.asarray(data.meta.get("severity", np.zeros(len(data.x))))
    severity = severity_all[te & ~normal]
    detection_by_severity = {str(int(s)): float(np.mean(test_fault[severity == s] > threshold))
                             for s in np.unique(severity)}
    metrics = {
        "app": "vibration", "test_normal": int((te & normal).sum()), "test_faults": int((te & ~normal).sum()),
        "float_auc": float_auc, "int8_tflm_auc": auc,
        "int8_tflite_auc": roc(*np.split(anomaly_scores(q[te], lite, in_q, out_q)[np.argsort(~normal[te], kind="stable")],
                                         [int((te & normal).sum())]))[2],
        "threshold": threshold, "output_quantization": list(out_q),
        "false_alarm_rate": float(np.mean(test_normal > threshold)),
        "detection_rate": float(np.mean(test_fault > threshold)),
        "detection_rate_by_severity": detection_by_severity,
        "tflm_vs_tflite_mismatched_samples": int(np.sum(np.any(tflm_te != lite, axis=1))),
        "model": asdict(rep), "train_convert_s": round(time.monotonic() - start, 1),
        "dataset": str(folder), "frontend": spec.as_dict(),
        "classes": list(data.classes),
        "normal_level": [int(v) for v in default_level], "input_quantization": list(in_q),
        "normalization": "each window minus its machine's normal level (per-feature int8 mean of "
                         "its normal windows); the default level is the training machines' average",
    }
    labels = data.labels.astype(np.int32)
    classifier_tflite, metrics["classifier"] = _fault_classifier(
        keras, cfg, q, x, labels, tr, va, te, spec, len(data.classes), data.classes.index("normal"),
        alarm_groups(labels[te], machines_of(data)[te], severity_all[te], data.classes.index("normal")), progress)
    metrics["train_convert_s"] = round(time.monotonic() - start, 1)
    run = save_run("vibration", cfg, model, tflite, metrics, runs_root)
    (run.folder / "classifier_int8.tflite").write_bytes(classifier_tflite)
    far, det = metrics["false_alarm_rate"], metrics["detection_rate"]
    roc_png(fpr, tpr, auc, (far, det), run.folder / "roc.png",
            f"Vibration anomaly, int8 in TFLM: AUC {auc:.3f}")
    return run
