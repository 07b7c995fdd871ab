"""What the training apps share: a seeded Keras session, the run folder, the plots."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyml.train.config import to_toml
from tinyml.train.run import new_run_dir, write_metrics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@dataclass
class TrainedRun:
    folder: Path
    metrics: dict

    @property
    def tflite(self) -> Path:
        return self.folder / "model_int8.tflite"


def fit_verbosity(progress: bool) -> int:
    """Keras's live progress bar on a terminal, one line per epoch in a log, nothing if asked."""
    import sys

    if not progress:
        return 0
    return 1 if sys.stdout.isatty() else 2


def keras_session(seed: int):
    """Keras with every seed set and deterministic ops: the same config trains the same model."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return keras


def save_run(app: str, cfg, model, tflite: bytes, metrics: dict, root: Path | None) -> TrainedRun:
    folder = new_run_dir(app, root)
    model.save(folder / "model.keras")
    (folder / "model_int8.tflite").write_bytes(tflite)
    (folder / "config.toml").write_text(to_toml(cfg))
    write_metrics(folder, metrics)
    return TrainedRun(folder, metrics)


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display here, nor on most build machines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_png(truth: np.ndarray, pred: np.ndarray, classes: list[str], path: Path, title: str):
    plt = pyplot()
    n = len(classes)
    matrix = np.zeros((n, n), dtype=int)
    np.add.at(matrix, (truth, pred), 1)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def roc_png(fpr: np.ndarray, tpr: np.ndarray, auc: float, point: tuple[float, float], path: Path,
            title: str):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.scatter([point[0]], [point[1]], color="red", zorder=3, label="threshold")
    ax.set_xlabel("false-alarm rate")
    ax.set_ylabel("detection rate")
    ax.legend(loc="lower right")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
