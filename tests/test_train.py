"""Training and int8 conversion, quickly: small configs that still have to learn something,
checked in the real TFLite Micro interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tinyml.convert.tflite import report, run_tflite
from tinyml.convert.tflm import TflmModel
from tinyml.errors import TinymlError
from tinyml.tflite import read_tflite
from tinyml.train import KwsTrainConfig, VibrationTrainConfig
from tinyml.train.config import load_config

pytestmark = pytest.mark.slow


def test_quick_kws_trains_converts_and_runs_in_tflm(quick_kws_run):
    run = quick_kws_run
    m = run.metrics
    # 12 classes: chance is 8%, always "unknown" (2.5x the clips of a keyword) 19%; a few
    # epochs on a small set already do far better
    assert m["float_acc"] > 0.3 and m["int8_tflm_acc"] > 0.3
    assert abs(m["int8_tflm_acc"] - m["float_acc"]) < 0.1
    for name in ("model.keras", "model_int8.tflite", "metrics.json", "confusion.png", "config.toml"):
        assert (run.folder / name).is_file(), name
    model = read_tflite(run.tflite.read_bytes())
    x = model.tensor(model.inputs[0])
    assert x.dtype == "int8" and x.quant() == (0.5, 48)  # the front-end's own quantization
    assert set(m["model"]["ops"]) <= {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE",
                                      "FULLY_CONNECTED", "SOFTMAX"}
    assert m["model"]["tflm_arena_bytes"] > 0 and m["model"]["macs"] > 100_000


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_keyword_training_loss_smooths_the_labels_as_configured(smoothing):
    """The loss kws training minimises: cross-entropy against 1 - s + s/12 for the labelled
    class and s/12 for each other one (label_smoothing s), checked on a made-up prediction."""
    import keras

    from tinyml.train.kws import build_model, compile_for_training, one_hot

    model = build_model("small", (49, 10), 12, channels=8, blocks=1)
    compile_for_training(keras, model, KwsTrainConfig(label_smoothing=smoothing), examples=100, epochs=1)
    predicted = np.full((1, 12), 0.5 / 11, dtype=np.float32)
    predicted[0, 3] = 0.5
    target = np.full(12, smoothing / 12)
    target[3] += 1 - smoothing
    expected = -np.sum(target * np.log(predicted[0]))
    got = float(model.loss(one_hot(np.array([3]), 12), predicted))
    assert got == pytest.approx(expected, rel=1e-5)
    assert one_hot(np.array([3, 0]), 12).argmax(axis=1).tolist() == [3, 0]


def test_quick_vibration_autoencoder_detects_faults(quick_vibration_run):
    run = quick_vibration_run
    m = run.metrics
    assert m["int8_tflm_auc"] > 0.85
    assert m["detection_rate_by_severity"]["3"] > m["detection_rate_by_severity"]["1"]
    assert (run.folder / "roc.png").is_file()
    assert m["model"]["ops"] == {"FULLY_CONNECTED": 4}
    assert m["model"]["parameters"] < 4000  # fits an Arduino Mega's flash many times over
    assert m["classifier"]["int8_tflm_acc"] > 0.6  # 7 classes: chance is 14%
    assert m["classifier"]["fault_type_alarms"] > 50 and m["classifier"]["fault_type_acc"] > 0.7  # of 6 faults
    assert m["input_quantization"] == [m["frontend"]["scale"], 0] and len(m["normal_level"]) == 48
    assert (run.folder / "classifier_int8.tflite").is_file()


def test_alarm_groups_are_runs_of_one_machine_fault_and_severity():
    from tinyml.train.vibration import alarm_groups, fault_type_accuracy

    labels = np.array([0, 1, 1, 1, 1, 2, 2, 2, 1, 1])
    machines = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    severity = np.array([0, 1, 1, 1, 1, 3, 3, 3, 1, 1])
    groups = alarm_groups(labels, machines, severity, normal_class=0, size=3)
    assert [g.tolist() for g in groups] == [[1, 2, 3], [5, 6, 7]]  # machine 1 has only 2 such windows
    outputs = np.full((10, 3), -128, dtype=np.int8)
    outputs[:, 0] = 127                  # "normal" is never the fault named
    outputs[[1, 2], 1], outputs[3, 2] = 10, 100   # summed: class 1 (20-128) beats class 2 (100-256)
    outputs[5:8, 1] = 0
    assert fault_type_accuracy(outputs, labels, groups, 0) == 0.5  # the first alarm right, the second not


def test_tflm_and_tflite_compared_sample_by_sample(tmp_path, data_dir):
    """The mismatch count in metrics.json is the real one: recount it here."""
    from tinyml.train import vibration

    run = vibration.train(VibrationTrainConfig(epochs=3, normal_windows=400), runs_root=tmp_path,
                          progress=False)
    data = run.tflite.read_bytes()
    inputs = np.random.default_rng(0).integers(-128, 128, size=(200, 48), dtype=np.int8)
    tflm, lite = TflmModel(data).run(inputs), run_tflite(data, inputs)
    assert tflm.shape == lite.shape == (200, 48)
    assert np.abs(tflm.astype(int) - lite).max() <= 2  # the two kernel sets differ by LSBs at most


def test_report_refuses_what_tflm_cannot_run():
    import model_zoo

    with pytest.raises(TinymlError, match=r"TFLite Micro cannot run this model.*CUSTOM\(BesselI0e\)"):
        report(model_zoo.custom_op_model())


def test_config_files_are_checked(tmp_path):
    good = tmp_path / "kws.toml"
    good.write_text('size = "small"\nepochs = 3\n')
    assert load_config(KwsTrainConfig, good, epochs=5) == KwsTrainConfig(size="small", epochs=5)
    bad = tmp_path / "bad.toml"
    bad.write_text("epochz = 3\n")
    with pytest.raises(TinymlError, match="unknown setting\\(s\\) epochz"):
        load_config(KwsTrainConfig, bad)
    with pytest.raises(TinymlError, match="size must be"):
        KwsTrainConfig(size="huge")


def test_cli_evaluate_reads_a_run(tmp_path):
    run = tmp_path / "vibration-x"
    run.mkdir()
    metrics = {"app": "vibration", "float_auc": 0.98, "int8_tflite_auc": 0.975, "int8_tflm_auc": 0.976,
               "threshold": 0.5, "false_alarm_rate": 0.01, "detection_rate": 0.9,
               "detection_rate_by_severity": {"1": 0.8}, "tflm_vs_tflite_mismatched_samples": 3,
               "model": {"size_bytes": 8600, "parameters": 2792, "macs": 2688,
                         "ops": {"FULLY_CONNECTED": 4}, "tflm_arena_bytes": 3272},
               "train_convert_s": 17.0}
    (run / "metrics.json").write_text(json.dumps(metrics))
    done = subprocess.run([sys.executable, "-m", "tinyml", "evaluate", str(run)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "int8 TFLM 0.976" in done.stdout and "TFLM arena 3,272 B" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "tinyml", "evaluate", str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "has no metrics.json" in missing.stderr
