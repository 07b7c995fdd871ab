"""Pictures of a dataset: a few examples per class, as the front-end sees them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.datasets.store import Dataset


def examples_png(data: Dataset, path: Path, per_class: int = 3) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinyml.features import reference
    from tinyml.features.spec import SpectrumSpec

    def features_of(i: int) -> np.ndarray:
        if data.kind == "kws":
            return reference.mfcc(data.x[i][None])[0].T
        return reference.spectrum(reference.to_counts(data.x[i][None]), SpectrumSpec())[0]

    picks = {c: np.flatnonzero(data.labels == c)[:per_class] for c in range(len(data.classes))}
    images = {i: features_of(i) for p in picks.values() for i in p}
    every = np.concatenate([im.ravel() for im in images.values()]) if images else np.zeros(1)
    vmin, vmax = np.percentile(every, [1, 99])  # one colour scale, so classes compare
    fig, axes = plt.subplots(len(data.classes), per_class, figsize=(2.6 * per_class, 1.4 * len(data.classes)),
                             squeeze=False)
    for c, name in enumerate(data.classes):
        for k in range(per_class):
            ax = axes[c][k]
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(name, rotation=0, ha="right", fontsize=8)
            if k >= picks[c].size:
                continue
            ax.imshow(images[picks[c][k]], aspect="auto", origin="lower", cmap="magma",
                      vmin=vmin, vmax=vmax)
    fig.suptitle(f"{data.kind}: examples per class (front-end features)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
