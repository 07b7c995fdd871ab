"""Keyword spotting on speech the model never trained on.

- leave-one-engine-out: for each speech engine, the default recipe trained without it and
  tested on that engine's speech alone (`left_out.ENGINE.acc`);
- the default model (`tinyml train kws` defaults): its synthetic test accuracy, and, when
  ../shared/real-speech-dev/ is beside the clone, its accuracy on those 249 real Speech Commands
  clips (`real_dev_acc`, `real_dev_keywords_acc`, `real_dev_unknown_false_accept`; measured
  only: nothing trains or tunes on them);
- silence and noise at every level from digital zero to loud (`silence_false_accepts`: clips
  taken for a keyword, out of `silence_clips`).

The default model is trained --seeds times (training seeds 0, 1, ...: the same data, other
initial weights and batch order); its figures are the mean over those models (silence: the
clips of all of them), each model's in `by_seed`: one training's real-speech figure moves by
several points with the seed alone. A left-out engine is one training (seed 0).

Run: .venv/bin/python -m benchmarks.kws_robustness [--engines espeak-ng,piper] [--skip-left-out | --skip-default]
     [--seeds N] [--normalize window_mean] [--label-smoothing S] (the recipe with other settings: their
     figures go under variants."normalize=window_mean", variants."label_smoothing=0.1", ...)
     (writes benchmarks/results/kws_robustness.json; about 10 minutes per training on 2 cores:
     80 minutes with the defaults, 3 seeds and 5 engines)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from benchmarks import RESULTS, write_results
from tinyml.datasets import KwsConfig, audio, dataset_folder, make_kws, utterances
from tinyml.datasets.kws_synth import CLASSES, KEYWORDS
from tinyml.errors import TinymlError
from tinyml.features.spec import NORMALIZE
from tinyml.train import KwsTrainConfig, kws
from tinyml.train.evaluate import evaluate_on

REAL_DEV = Path(__file__).resolve().parents[2] / "shared" / "real-speech-dev"
NOISE_RMS_LSB = [1, 3, 10, 30, 100, 300, 1000, 3000]


def silence_probe(seed: int = 0) -> np.ndarray:
    """Digital zero, and white, pink and brown noise at RMS levels from 1 LSB to 3000 LSB."""
    rng = np.random.default_rng(seed)
    clips = [np.zeros(audio.CLIP, dtype=np.int16)]
    for rms in NOISE_RMS_LSB:
        for exponent in (0.0, 1.0, 2.0):
            clips.append(audio.to_int16(audio.coloured_noise(rng, audio.CLIP, exponent) * rms / 32767))
    return np.stack(clips)


def silence_false_accepts(run: Path) -> dict:
    from tinyml.convert.tflm import TflmModel
    from tinyml.features import kws_features
    from tinyml.firmware.apps import frontend_spec, read_run

    spec = frontend_spec("kws", read_run(run, "kws"))
    pred = TflmModel(run / "model_int8.tflite").run(kws_features(silence_probe(), spec)).argmax(axis=1)
    taken = [CLASSES[p] for p in pred if CLASSES[p] in KEYWORDS]
    return {"silence_clips": int(pred.size), "silence_false_accepts": len(taken),
            "silence_taken_for": sorted(set(taken))}


def left_out(engine: str, cfg: KwsTrainConfig, runs: Path) -> dict:
    """The default recipe without `engine` in training; its speech alone as the test split."""
    data_cfg = KwsConfig(clips_per_class=cfg.clips_per_class, silence_clips=cfg.clips_per_class // 2,
                         seed=cfg.seed, test_engine=engine)
    make_kws(data_cfg, progress=False)
    folder = dataset_folder("kws", data_cfg)
    metrics = kws.train(replace(cfg, dataset=str(folder)), runs_root=runs, progress=False).metrics
    return {"acc": metrics["int8_tflm_acc"], "test_clips": metrics["test_examples"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--engines", default=",".join(KwsConfig().engines),
                        help="the engines to leave out one at a time (comma-separated); the "
                             "others keep their last figures, each under the recipe it was "
                             "measured on")
    parser.add_argument("--skip-left-out", action="store_true",
                        help="only the default model (synthetic test, real speech, silence)")
    parser.add_argument("--skip-default", action="store_true",
                        help="only the left-out engines; the default model's figures stay")
    parser.add_argument("--seeds", type=int, default=3,
                        help="train the default model this many times, seeds 0, 1, ... (1-10) "
                             "[default: 3]")
    parser.add_argument("--runs", type=Path,
                        help="keep the trained runs in this folder (default: a temporary one)")
    parser.add_argument("--normalize", choices=NORMALIZE, default=KwsTrainConfig().normalize,
                        help="the front-end's normalisation [default: the training default's]")
    parser.add_argument("--label-smoothing", type=float, default=KwsTrainConfig().label_smoothing,
                        help="training's label smoothing [default: the training default's]")
    args = parser.parse_args()
    try:
        cfg = KwsTrainConfig(normalize=args.normalize, label_smoothing=args.label_smoothing)
    except TinymlError as e:
        parser.error(str(e))
    if not 1 <= args.seeds <= 10:
        parser.error(f"--seeds must be 1 to 10 trainings, not {args.seeds}")
    recipe = {"engines": list(KwsConfig().engines), "recipe": KwsConfig().recipe, "epochs": cfg.epochs,
              "normalize": cfg.normalize, "label_smoothing": cfg.label_smoothing}
    results = _earlier()
    target = results if not variant(cfg) else results.setdefault("variants", {}).setdefault(variant(cfg), {})
    with tempfile.TemporaryDirectory(prefix="tinyml-runs-") as tmp:
        runs = args.runs or Path(tmp)
        if not args.skip_default:
            target.update(_default_model(cfg, runs, args.seeds), recipe=recipe)
            write_results("kws_robustness", results)  # each training takes minutes: keep what is done
        if not args.skip_left_out:
            target.setdefault("left_out", {})
            for engine in args.engines.split(","):
                target["left_out"][engine] = {**left_out(engine, cfg, runs), "recipe": recipe}
                write_results("kws_robustness", results)


def variant(cfg: KwsTrainConfig) -> str:
    """The settings where cfg differs from the training defaults ("" for none), as the key its
    figures go under: "label_smoothing=0.1,normalize=window_mean"."""
    default = KwsTrainConfig()
    return ",".join(sorted(f"{f.name}={getattr(cfg, f.name)}" for f in fields(cfg)
                           if getattr(cfg, f.name) != getattr(default, f.name)))


def _default_model(cfg: KwsTrainConfig, runs: Path, seeds: int = 1) -> dict:
    """The recipe trained `seeds` times on one dataset: the mean of its models' figures."""
    results = {"speech_cache": "warm" if utterances.folder().is_dir() else "cold",
               "_method": f"{os.cpu_count()} cores, `tinyml train kws` defaults, training seeds 0 to "
                          f"{seeds - 1} on the seed-0 dataset, figures the mean over the {seeds} "
                          "models (silence: all their clips), each in by_seed; accuracies of the "
                          "int8 model in the tflite-micro interpreter; default_train_s (seed 0) "
                          "includes making the dataset (its words from the speech cache when warm)"}
    start = time.monotonic()
    runs_by_seed = [kws.train(cfg, runs_root=runs, progress=False)]  # what `tinyml train kws` makes
    results["default_train_s"] = round(time.monotonic() - start, 1)
    folder = str(kws.dataset_folder_of(cfg))
    for seed in range(cfg.seed + 1, cfg.seed + seeds):
        runs_by_seed.append(kws.train(replace(cfg, seed=seed, dataset=folder), runs_root=runs, progress=False))
    by_seed = []
    for seed, run in enumerate(runs_by_seed, start=cfg.seed):
        by_seed.append({"seed": seed, **_scores(run)})
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in by_seed[-1].items()
                                          if isinstance(v, float)), file=sys.stderr, flush=True)
    results.update(_mean(by_seed))
    results["by_seed"] = [{k: v for k, v in one.items() if k != "real_dev_per_class_acc"} for one in by_seed]
    if not REAL_DEV.is_dir():
        results["real_dev"] = f"not measured: {REAL_DEV} is not beside this clone"
    return results


def _scores(run) -> dict:
    scores = {"synthetic_test_acc": run.metrics["int8_tflm_acc"], **silence_false_accepts(run.folder)}
    if REAL_DEV.is_dir():
        real = evaluate_on(run.folder, REAL_DEV, "all")
        scores.update({"real_dev_acc": real["accuracy"],
                       "real_dev_keywords_acc": real["keyword_accuracy"],
                       "real_dev_unknown_false_accept": _unknown_false_accept(real),
                       "real_dev_clips": real["clips"],
                       "real_dev_per_class_acc": real["per_class_accuracy"]})
    return scores


def _mean(by_seed: list[dict]) -> dict:
    """Accuracies averaged over the models; silence clips and false accepts added up."""
    first = by_seed[0]
    out = {k: float(np.mean([one[k] for one in by_seed])) for k, v in first.items()
           if isinstance(v, float)}
    out["silence_clips"] = sum(one["silence_clips"] for one in by_seed)
    out["silence_false_accepts"] = sum(one["silence_false_accepts"] for one in by_seed)
    out["silence_taken_for"] = sorted({c for one in by_seed for c in one["silence_taken_for"]})
    if "real_dev_clips" in first:
        out["real_dev_clips"] = first["real_dev_clips"]
        out["real_dev_acc_range"] = [min(one["real_dev_acc"] for one in by_seed),
                                     max(one["real_dev_acc"] for one in by_seed)]
        per_class = [one["real_dev_per_class_acc"] for one in by_seed]
        out["real_dev_per_class_acc"] = {c: None if per_class[0][c] is None else
                                         float(np.mean([p[c] for p in per_class])) for c in per_class[0]}
    return out


def _earlier() -> dict:
    """The last results, so that a partial run updates only what it measures: `recipe` names
    what the default model's figures come from, each left-out entry its own recipe."""
    try:
        earlier = json.loads((RESULTS / "kws_robustness.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(earlier, dict):
        return {}
    old_recipe = earlier.pop("left_out_recipe", earlier.get("recipe"))  # the layout before
    for entry in earlier.get("left_out", {}).values():
        entry.setdefault("recipe", old_recipe)
    return earlier


def _unknown_false_accept(scores: dict) -> float:
    """Real other words (_unknown_) taken for a keyword, from the confusion matrix."""
    classes, confusion = scores["classes"], np.array(scores["confusion"])
    row = confusion[classes.index("_unknown_")]
    return float(sum(row[classes.index(k)] for k in KEYWORDS) / max(row.sum(), 1))


if __name__ == "__main__":
    main()
