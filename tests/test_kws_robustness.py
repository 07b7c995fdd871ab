"""benchmarks/kws_robustness.py: its command line, its silence probe, and a partial run that
updates only what it measures, each figure under the recipe it was measured on. (The trainings
themselves are the benchmark's: minutes each, never run by the suite.)"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import kws_robustness

OLD_RECIPE = {"engines": ["espeak-ng", "festival"], "recipe": 3}


def test_help_names_the_partial_runs_and_trains_nothing():
    done = subprocess.run([sys.executable, "-m", "benchmarks.kws_robustness", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for option in ("--engines ENGINES", "--skip-left-out", "--skip-default", "real_dev_acc",
                   "left_out.ENGINE.acc", "--normalize", "--label-smoothing", "--seeds SEEDS", "by_seed"):
        assert option in done.stdout


def test_silence_probe_spans_digital_zero_to_loud_noise():
    clips = kws_robustness.silence_probe()
    rms = np.sqrt(np.mean(clips.astype(np.float64) ** 2, axis=1))
    assert clips.shape == (1 + 3 * len(kws_robustness.NOISE_RMS_LSB), 16000)
    assert rms[0] == 0
    for i, level in enumerate(kws_robustness.NOISE_RMS_LSB):
        assert np.allclose(rms[1 + 3 * i:4 + 3 * i], level, rtol=0.15), level


def test_unknown_false_accepts_count_only_other_words_taken_for_keywords():
    classes = kws_robustness.CLASSES  # ten keywords, then _silence_ and _unknown_
    confusion = np.zeros((12, 12), dtype=int)
    confusion[11, [0, 9, 10, 11]] = [2, 1, 3, 14]  # other words: 2 "down", 1 "yes", 3 silence
    confusion[0, 11] = 5  # keywords taken for other words are not false accepts
    scores = {"classes": classes, "confusion": confusion.tolist()}
    assert kws_robustness._unknown_false_accept(scores) == 3 / 20


def test_a_partial_run_keeps_the_other_figures_under_their_own_recipe(tmp_path, monkeypatch):
    """The layout before per-entry recipes (left_out_recipe, or the top-level recipe) reads as
    each entry's recipe; an unreadable file is a fresh start, not a crash."""
    monkeypatch.setattr(kws_robustness, "RESULTS", tmp_path)
    assert kws_robustness._earlier() == {}
    (tmp_path / "kws_robustness.json").write_text("{torn")
    assert kws_robustness._earlier() == {}
    earlier = {"recipe": {"engines": ["espeak-ng"], "recipe": 5}, "real_dev_acc": 0.8,
               "left_out_recipe": OLD_RECIPE,
               "left_out": {"espeak-ng": {"acc": 0.4, "test_clips": 9},
                            "festival": {"acc": 0.7, "test_clips": 9, "recipe": {"recipe": 4}}}}
    (tmp_path / "kws_robustness.json").write_text(json.dumps(earlier))
    kept = kws_robustness._earlier()
    assert "left_out_recipe" not in kept and kept["real_dev_acc"] == 0.8
    assert kept["recipe"] == {"engines": ["espeak-ng"], "recipe": 5}
    assert kept["left_out"] == {"espeak-ng": {"acc": 0.4, "test_clips": 9, "recipe": OLD_RECIPE},
                                "festival": {"acc": 0.7, "test_clips": 9, "recipe": {"recipe": 4}}}


@pytest.mark.parametrize("options, key, settings", [
    (["--normalize", "window_mean"], "normalize=window_mean", ("window_mean", 0.0)),
    (["--label-smoothing", "0.1", "--normalize", "window_mean"], "label_smoothing=0.1,normalize=window_mean",
     ("window_mean", 0.1)),
    (["--label-smoothing", "0.1"], "label_smoothing=0.1", ("none", 0.1)),
])
def test_another_recipe_goes_under_variants_and_keeps_the_default_figures(tmp_path, monkeypatch, options, key,
                                                                          settings):
    """--normalize / --label-smoothing train that recipe (the config reaches both trainings)
    and write its figures beside the default's, never over them, named by what differs."""
    monkeypatch.setattr(kws_robustness, "RESULTS", tmp_path)
    written = {}
    monkeypatch.setattr(kws_robustness, "write_results", lambda name, results: written.update(
        {name: json.loads(json.dumps(results))}))
    seen = []
    monkeypatch.setattr(kws_robustness, "_default_model", lambda cfg, runs, seeds: seen.append(
        ("default", cfg.normalize, cfg.label_smoothing, seeds)) or {"real_dev_acc": 0.9})
    monkeypatch.setattr(kws_robustness, "left_out", lambda engine, cfg, runs: seen.append(
        (engine, cfg.normalize, cfg.label_smoothing)) or {"acc": 0.6})
    earlier = {"recipe": {"recipe": 5}, "real_dev_acc": 0.78, "left_out": {"pico": {"acc": 0.5, "recipe": {}}}}
    (tmp_path / "kws_robustness.json").write_text(json.dumps(earlier))
    monkeypatch.setattr(sys, "argv", ["kws_robustness", *options, "--engines", "pico", "--seeds", "2"])
    kws_robustness.main()
    out = written["kws_robustness"]
    assert seen == [("default", *settings, 2), ("pico", *settings)]
    assert out["real_dev_acc"] == 0.78 and out["left_out"] == earlier["left_out"]
    assert list(out["variants"]) == [key]
    variant = out["variants"][key]
    assert variant["real_dev_acc"] == 0.9
    assert (variant["recipe"]["normalize"], variant["recipe"]["label_smoothing"]) == settings
    assert variant["left_out"]["pico"]["acc"] == 0.6


@pytest.mark.parametrize("options, error", [
    (["--label-smoothing", "0.9"], "label_smoothing must be a number at least 0 and at most 0.5, not 0.9"),
    (["--seeds", "0"], "--seeds must be 1 to 10 trainings, not 0"),
    (["--seeds", "11"], "--seeds must be 1 to 10 trainings, not 11"),
])
def test_the_default_recipe_is_no_variant_and_a_bad_setting_is_one_line(options, error):
    from tinyml.train import KwsTrainConfig

    assert kws_robustness.variant(KwsTrainConfig()) == ""
    done = subprocess.run([sys.executable, "-m", "benchmarks.kws_robustness", *options],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1].endswith("error: " + error)


def test_the_default_models_figures_are_the_mean_over_seeds_and_silence_adds_up():
    one = {"synthetic_test_acc": 0.86, "silence_clips": 25, "silence_false_accepts": 1,
           "silence_taken_for": ["up"], "real_dev_acc": 0.78, "real_dev_keywords_acc": 0.74,
           "real_dev_unknown_false_accept": 0.18, "real_dev_clips": 249,
           "real_dev_per_class_acc": {"go": 0.5, "_silence_": None}}
    two = {**one, "synthetic_test_acc": 0.88, "silence_false_accepts": 0, "silence_taken_for": [],
           "real_dev_acc": 0.84, "real_dev_keywords_acc": 0.80, "real_dev_unknown_false_accept": 0.12,
           "real_dev_per_class_acc": {"go": 0.75, "_silence_": None}}
    mean = kws_robustness._mean([{"seed": 0, **one}, {"seed": 1, **two}])
    assert mean["synthetic_test_acc"] == pytest.approx(0.87) and mean["real_dev_acc"] == pytest.approx(0.81)
    assert mean["real_dev_keywords_acc"] == pytest.approx(0.77)
    assert mean["real_dev_unknown_false_accept"] == pytest.approx(0.15)
    assert mean["real_dev_acc_range"] == [0.78, 0.84] and mean["real_dev_clips"] == 249
    assert (mean["silence_clips"], mean["silence_false_accepts"], mean["silence_taken_for"]) == (50, 1, ["up"])
    assert mean["real_dev_per_class_acc"] == {"go": pytest.approx(0.625), "_silence_": None}
    assert "seed" not in mean
    without_real = kws_robustness._mean([{k: v for k, v in one.items() if not k.startswith("real")}])
    assert set(without_real) == {"synthetic_test_acc", "silence_clips", "silence_false_accepts",
                                 "silence_taken_for"}
