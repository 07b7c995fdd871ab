"""A keyword-spotting run scored on any data: its int8 model in TFLite Micro, through the run's
own front-end, on a tinyml dataset folder or a Speech Commands folder as published.

    from tinyml.train.evaluate import evaluate_on
    result = evaluate_on("runs/kws-20250101-120000", "speech-commands-test")
    print(result["accuracy"], result["false_accept_rate"])

Each evaluation is also written into the run, as RUN/evaluations/<dataset>.json
(<dataset>-<split>.json for a split other than the dataset's default), where the run's report
finds it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.tools.fs import atomic_file

NON_KEYWORDS = ("_silence_", "_unknown_")  # what a false accept is made of
SPLIT_CHOICES = ("test", "all")
CHUNK = 256  # clips per TFLM call between progress updates


def _kws_run(run: Path) -> dict:
    from tinyml.train.run import read_metrics

    try:
        metrics = read_metrics(run)
    except (OSError, ValueError):
        raise TinymlError(f"{run} has no metrics.json: is it a run folder from `tinyml train`?") from None
    if metrics.get("app") != "kws":
        raise TinymlError(f"{run} is a {metrics.get('app')} run: --dataset scores keyword-spotting runs")
    if not (run / "model_int8.tflite").is_file():
        raise TinymlError(f"{run} has no model_int8.tflite: train one with `tinyml train kws`")
    return metrics


def _dataset(value: str | Path, split: str | None, progress: bool):
    """(dataset, its folder for the feature cache or None, split, the default split): a downloaded
    dataset by name, a tinyml dataset folder, or a Speech Commands folder, read for `split`."""
    from tinyml.datasets import import_speech_commands, load
    from tinyml.datasets.download import PUBLISHED, named
    from tinyml.datasets.kws_synth import KEYWORDS
    from tinyml.datasets.speech_commands import LISTS

    folder = named(str(value)) if str(value) in PUBLISHED else Path(value)
    if not folder.is_dir():
        raise TinymlError(f"no dataset at {folder}: give a tinyml dataset folder, a Speech Commands folder, "
                          f"or {' / '.join(PUBLISHED)} once downloaded")
    if (folder / "meta.json").is_file():
        data = load(folder)
        if data.kind != "kws":
            raise TinymlError(f"{folder} is a {data.kind} dataset: a keyword-spotting run needs kws clips")
        default = "test" if np.any(data.split == 2) else "all"
        if split == "test" and default != "test":
            raise TinymlError(f"{folder} has no test clips: use --split all")
        return data, folder, split or default, default
    if not any((folder / k).is_dir() for k in KEYWORDS):
        raise TinymlError(f"{folder} is neither a tinyml dataset (no meta.json) nor a Speech Commands "
                          f"folder (no folder per keyword: {', '.join(KEYWORDS)})")
    default = "test" if any((folder / name).is_file() for name in LISTS) else "all"  # no lists: all test
    split = split or default
    data = import_speech_commands(folder, progress=progress, only="test" if split == "test" else None)
    return data, None, split, default


def _features(data, folder: Path | None, spec) -> np.ndarray:
    """int8 features as training computed them (cached beside a dataset folder); a run with a
    front-end other than the default one (normalised or not) gets its own, uncached."""
    from dataclasses import replace

    from tinyml.features import MfccSpec, dataset_features, kws_features

    default = replace(spec, normalize="none") == MfccSpec()
    return dataset_features(data, folder, spec) if default else kws_features(data.x, spec)


def _rate(hits: np.ndarray) -> float | None:
    return float(np.mean(hits)) if hits.size else None


def scores(truth: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict:
    """Accuracy (overall, per class, on keyword clips), the confusion matrix, and the false
    accepts: _silence_ and _unknown_ clips taken for a keyword."""
    n = len(classes)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (truth, pred), 1)
    keyword = np.array([c not in NON_KEYWORDS for c in classes])
    said, taken = keyword[truth], keyword[pred]
    return {
        "clips": int(truth.size), "classes": list(classes),
        "accuracy": _rate(pred == truth),
        "keyword_accuracy": _rate(pred[said] == truth[said]), "keyword_clips": int(said.sum()),
        "false_accept_rate": _rate(taken[~said]), "false_accepts": int(taken[~said].sum()),
        "non_keyword_clips": int((~said).sum()),
        "per_class_accuracy": {c: _rate(pred[truth == i] == i) for i, c in enumerate(classes)},
        "confusion": confusion.tolist(),
    }


def evaluate_on(run: str | Path, dataset: str | Path, split: str | None = None,
                progress: bool = False) -> dict:
    """The run's int8 model (in TFLM) scored on `dataset`: a tinyml dataset folder, a Speech
    Commands folder (a folder per word; with or without its lists), or speech-commands /
    speech-commands-test once downloaded. `split` is "test" or "all" [default: the test split
    of a dataset that has one, else all]. Written to RUN/evaluations/ too; returns the scores."""
    from tqdm import tqdm

    from tinyml.convert.tflm import TflmModel
    from tinyml.datasets.store import digest
    from tinyml.firmware.apps import frontend_spec

    run = Path(run)
    if split not in (None, *SPLIT_CHOICES):
        raise TinymlError(f"split must be {' or '.join(SPLIT_CHOICES)}, not {split!r}")
    metrics = _kws_run(run)
    data, folder, split, default = _dataset(dataset, split, progress)
    source = folder or Path(dataset)
    classes = metrics.get("classes", data.classes)
    if data.classes != classes:
        raise TinymlError(f"{source} has the classes {', '.join(data.classes)}; {run} was trained on "
                          f"{', '.join(classes)}")
    spec = frontend_spec("kws", metrics)
    if data.sample_rate != spec.sample_rate:
        raise TinymlError(f"{source} is sampled at {data.sample_rate} Hz; {run}'s front-end takes "
                          f"{spec.sample_rate} Hz")
    keep = data.split == 2 if split == "test" else np.ones(len(data.x), dtype=bool)
    features = _features(data, folder, spec)[keep]
    model = TflmModel(run / "model_int8.tflite")
    if int(np.prod(model.input["shape"])) != int(np.prod(spec.shape)) or \
            int(np.prod(model.output["shape"])) != len(classes):
        raise TinymlError(f"{run}/model_int8.tflite takes {list(model.input['shape'])} and gives "
                          f"{list(model.output['shape'])}: not {spec.shape} features in, {len(classes)} "
                          "classes out (a model from another run?)")
    outputs = [model.run(features[i:i + CHUNK]) for i in tqdm(
        range(0, len(features), CHUNK), desc="int8 model in TFLM", unit="batch", disable=not progress)]
    pred = np.concatenate(outputs).argmax(axis=1)
    name = Path(source).resolve().name
    path = run / "evaluations" / (f"{name}.json" if split == default else f"{name}-{split}.json")
    result = {"dataset": name, "path": str(Path(source).resolve()), "split": split,
              **scores(data.labels[keep].astype(int), pred, classes),
              "model_sha256": digest(run / "model_int8.tflite"), "file": str(path)}
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    return result
