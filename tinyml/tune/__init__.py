"""`tinyml tune`: the best model for a board, searched with Optuna over the network's shape
and the front-end, every candidate costed by our compiler before it is trained.

    from tinyml.tune import TuneSettings, run_tune, apply
    from tinyml.train import VibrationTrainConfig
    result = run_tune(TuneSettings("vibration", "emu-arduino-mega", VibrationTrainConfig(), trials=20))
    for row in result.pareto:
        print(row["number"], row["val_metric"], row["cost"]["instructions"])
    path, cfg = apply(result.folder, result.pareto[-1]["number"])   # a config for `tinyml train`
"""

from tinyml.tune.report import apply
from tinyml.tune.study import TuneResult, TuneSettings, run_tune

__all__ = ["TuneResult", "TuneSettings", "apply", "run_tune"]
