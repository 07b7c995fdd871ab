"""Training benchmark: both default models trained and converted on this machine (2 cores),
with the int8 models scored in TFLite Micro on the test split.

The synthetic datasets and their features are prepared first (timed as *.prepare_s: dataset
generation and the reference front-end, cached afterwards); *.train_convert_s is then the
training, int8 conversion and TFLM evaluation of `tinyml train` with default settings.

Run: .venv/bin/python -m benchmarks.train   (writes benchmarks/results/train.json)
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from tinyml.datasets import KwsConfig, VibrationConfig, dataset_folder, make_kws, make_vibration
from tinyml.features import dataset_features
from tinyml.train import KwsTrainConfig, VibrationTrainConfig, kws, vibration

from benchmarks import write_results



def prepare(kind: str, config, make) -> float:
    start = time.monotonic()
    dataset_features(make(config, progress=False), dataset_folder(kind, config))
    return round(time.monotonic() - start, 1)


def main() -> None:
    results: dict = {}
    k_cfg, v_cfg = KwsTrainConfig(), VibrationTrainConfig()
    results["kws.prepare_s"] = prepare(
        "kws", KwsConfig(clips_per_class=k_cfg.clips_per_class,
                         silence_clips=k_cfg.clips_per_class // 2, seed=k_cfg.seed), make_kws)
    results["vibration.prepare_s"] = prepare(
        "vibration", VibrationConfig(normal_windows=v_cfg.normal_windows, seed=v_cfg.seed),
        make_vibration)
    with tempfile.TemporaryDirectory(prefix="tinyml-runs-") as runs:
        k = kws.train(k_cfg, runs_root=Path(runs), progress=False).metrics
        v = vibration.train(v_cfg, runs_root=Path(runs), progress=False).metrics
    results.update({
        "kws.float_acc": k["float_acc"], "kws.int8_tflite_acc": k["int8_tflite_acc"],
        "kws.int8_tflm_acc": k["int8_tflm_acc"], "kws.train_convert_s": k["train_convert_s"],
        "kws.test_clips": k["test_examples"], "kws.tflm_arena_bytes": k["model"]["tflm_arena_bytes"],
        "vibration.float_auc": v["float_auc"], "vibration.int8_tflm_auc": v["int8_tflm_auc"],
        "vibration.false_alarm_rate": v["false_alarm_rate"],
        "vibration.detection_rate": v["detection_rate"],
        "vibration.detection_rate_by_severity": v["detection_rate_by_severity"],
        "vibration.train_convert_s": v["train_convert_s"],
        "_method": f"{os.cpu_count()} cores, default configs, seed 0; accuracy and AUC on the "
                   "test split (KWS: voices never heard in training; vibration: unseen machines), "
                   "int8 models run in the tflite-micro interpreter",
    })
    write_results("train", results)


if __name__ == "__main__":
    main()
