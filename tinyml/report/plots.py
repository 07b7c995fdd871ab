"""The report's plots, one function each, written as PNG files. The confusion matrix and ROC
curve are the training stage's own (tinyml.train.common), drawn here from the board's answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.train.common import confusion_png, pyplot, roc_png  # noqa: F401 - the report's too


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
    return path


def per_class_rate(classes: list[str], rates: list[float], path: Path, title: str, ylabel: str) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3))
    ax.bar(classes, rates, color="#3465a4")
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=60)
    return _save(fig, path)


def per_class_accuracy(truth: np.ndarray, pred: np.ndarray, classes: list[str], path: Path) -> Path:
    acc = [float(np.mean(pred[truth == i] == i)) if np.any(truth == i) else 0.0 for i in range(len(classes))]
    return per_class_rate(classes, acc, path, "Accuracy per class, on the device", "accuracy")


def score_distribution(groups: dict[str, np.ndarray], path: Path, xlabel: str,
                       threshold: float | None = None) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3))
    values = np.concatenate([v for v in groups.values() if len(v)])
    bins = np.linspace(values.min(), values.max(), 40) if len(values) else 10
    for (name, v), color in zip(groups.items(), ("#4e9a06", "#cc0000", "#3465a4")):
        ax.hist(v, bins=bins, alpha=0.6, label=f"{name} ({len(v)})", color=color)
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("samples")
    ax.legend()
    ax.set_title("Score distribution, on the device")
    return _save(fig, path)


def memory_map(rows: list[tuple[str, int, int]], flash_limit: int, ram_limit: int, path: Path) -> Path:
    """Flash and RAM of the board by part, as stacked bars against the board's size."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(7, 4))
    colors = plt.get_cmap("tab20").colors
    for ax, index, limit, name in ((axes[0], 1, flash_limit, "flash"), (axes[1], 2, ram_limit, "RAM")):
        left = 0
        for k, row in enumerate(rows):
            size = row[index]
            if size:
                ax.barh(0, size, left=left, color=colors[k % len(colors)], label=row[0])
                left += size
        ax.barh(0, max(limit - left, 0), left=left, color="#eee")
        ax.set_xlim(0, limit)
        ax.set_yticks([])
        ax.xaxis.set_major_formatter(lambda v, _: f"{v / 1024:,.0f} KiB")
        ax.set_title(f"{name}: {left:,} of {limit:,} bytes ({100 * left / limit:.1f}%)", fontsize=9)
    handles, labels = axes[1].get_legend_handles_labels()
    h0, l0 = axes[0].get_legend_handles_labels()
    seen = dict(zip(l0 + labels, h0 + handles))
    fig.legend(seen.values(), seen.keys(), loc="lower center", ncol=4, fontsize=7)
    fig.subplots_adjust(bottom=0.3, hspace=0.9)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def latency(ticks: dict[str, np.ndarray], unit: str, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3))
    for (name, values), color in zip(ticks.items(), ("#3465a4", "#f57900")):
        if len(values) and np.any(values):
            ax.hist(values, bins=30, alpha=0.7, label=name, color=color)
    ax.set_xlabel(unit)
    ax.set_ylabel("inferences")
    ax.set_title("Latency measured on the board")
    ax.legend()
    return _save(fig, path)


def features(examples: np.ndarray, titles: list[str], path: Path, xlabel: str, ylabel: str) -> Path:
    """The front-end's output for a few examples (MFCC frames, or band energies per axis)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(examples), figsize=(3 * len(examples), 3), squeeze=False)
    for ax, example, title in zip(axes[0], examples, titles):
        ax.imshow(np.asarray(example, dtype=float).T, aspect="auto", origin="lower", cmap="magma")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    return _save(fig, path)
