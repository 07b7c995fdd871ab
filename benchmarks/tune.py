"""Tune benchmark: what `tinyml tune` finds within a trial budget, against the default models.

kws on the Nano 33 BLE (256 KB RAM, ~1 MB flash, 64 MHz) with a 50 ms latency budget: the
default DS-CNN is also trained on the tuner's schedule (outside the budget: its estimate is
about 74 ms there), and the tuner's Pareto front is compared with it:
  kws.best_instructions_vs_default  the fewest instructions (relative to the default's) of a
                                    candidate at least as accurate as the default
  kws.best_acc_minus_default        the best accuracy gain (a fraction) of a candidate with no
                                    more instructions than the default
vibration on the Arduino Mega (8 KB RAM): the best AUC that fits. Both with the trial count,
the wall time and, for the front, the instruction estimate's error against QEMU's count.

Run: .venv/bin/python -m benchmarks.tune [--trials 40] [--vibration-trials 20]
     (writes benchmarks/results/tune.json after each part, keeping the other part's keys when
     one is skipped; 40 kws trials take hours on 2 cores; --work DIR keeps the studies, and
     the same command with the same --work resumes an interrupted one)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from tinyml.tools.fs import atomic_file

from benchmarks import RESULTS


def _front_errors(result) -> dict:
    errors = [r["qemu"]["error"] for r in result.pareto if "qemu" in r]
    return {"qemu_checked": len(errors),
            "qemu_max_abs_error": max((abs(e) for e in errors), default=None)}


def tune_kws(args, work: Path) -> dict:
    from tinyml.boards import load_board
    from tinyml.train import KwsTrainConfig
    from tinyml.tune import TuneSettings, run_tune
    from tinyml.tune.cost import candidate_cost
    from tinyml.tune.trial import TuneData, train_candidate

    base = KwsTrainConfig(clips_per_class=args.clips_per_class)
    settings = TuneSettings("kws", args.kws_board, base, trials=args.trials, max_latency_ms=args.max_latency_ms,
                            run_dir=work / "tune-kws", progress=not args.quiet)
    start = time.monotonic()
    result = run_tune(settings)
    tune_s = time.monotonic() - start
    print("training the default model on the same schedule ...", flush=True)
    data = TuneData.load("kws", base)
    default = train_candidate("kws", base, data, settings.epochs)
    cost = candidate_cost("kws", default.tflite, base.frontend(), load_board(args.kws_board), work / "default", None)
    acc, instr = default.val_metric, cost.instructions
    done = [r for r in result.rows if r["status"] == "complete"]
    as_good = [r["cost"]["instructions"] / instr for r in done if r["val_metric"] >= acc]
    no_slower = [r["val_metric"] - acc for r in done if r["cost"]["instructions"] <= instr]
    return {
        "kws.board": args.kws_board, "kws.max_latency_ms": args.max_latency_ms,
        "kws.clips_per_class": args.clips_per_class, "kws.trial_epochs": settings.epochs,
        "kws.trials": len([r for r in result.rows if r["state"] in ("COMPLETE", "PRUNED")]),
        "kws.statuses": json.loads((result.folder / "report.json").read_text())["statuses"],
        "kws.wall_s": round(tune_s, 1),
        "kws.default_val_acc": acc, "kws.default_instructions": instr,
        "kws.best_instructions_vs_default": round(min(as_good), 4) if as_good else None,
        "kws.best_acc_minus_default": round(max(no_slower), 4) if no_slower else None,
        "kws.pareto": [{"trial": r["number"], "val_acc": r["val_metric"], "test_acc": r["test_metric"],
                        "instructions": r["cost"]["instructions"], "latency_ms": r["cost"]["latency_ms"],
                        "ram_bytes": r["cost"]["ram_bytes"], "params": r["params"],
                        "qemu_error": r.get("qemu", {}).get("error")} for r in result.pareto],
        **{f"kws.{k}": v for k, v in _front_errors(result).items()},
    }


def tune_vibration(args, work: Path) -> dict:
    from tinyml.train import VibrationTrainConfig
    from tinyml.tune import TuneSettings, run_tune

    settings = TuneSettings("vibration", args.vibration_board, VibrationTrainConfig(), trials=args.vibration_trials,
                            run_dir=work / "tune-vibration", progress=not args.quiet)
    start = time.monotonic()
    result = run_tune(settings)
    best = max(result.pareto, key=lambda r: r["val_metric"], default=None)
    return {
        "vibration.board": args.vibration_board,
        "vibration.trials": len([r for r in result.rows if r["state"] in ("COMPLETE", "PRUNED")]),
        "vibration.wall_s": round(time.monotonic() - start, 1),
        "vibration.best_val_auc": best["val_metric"] if best else None,
        "vibration.best_test_auc": best["test_metric"] if best else None,
        "vibration.best": {"trial": best["number"], "params": best["params"], "ram_bytes": best["cost"]["ram_bytes"],
                           "flash_bytes": best["cost"]["flash_bytes"]} if best else None,
        **{f"vibration.{k}": v for k, v in _front_errors(result).items()},
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40, help="kws trials (default 40)")
    parser.add_argument("--vibration-trials", type=int, default=20, help="vibration trials (default 20)")
    parser.add_argument("--kws-board", default="nano33ble")
    parser.add_argument("--max-latency-ms", type=float, default=50.0)
    parser.add_argument("--vibration-board", default="megaatmega2560",
                        help="default: the Arduino Mega 2560 with the Arduino core (its RAM counted)")
    parser.add_argument("--clips-per-class", type=int, default=2000, help="of the synthetic keyword set")
    parser.add_argument("--skip-kws", action="store_true")
    parser.add_argument("--skip-vibration", action="store_true")
    parser.add_argument("--work", type=Path, help="keep the tune folders here (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=RESULTS / "tune.json", help="results file")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    results = _previous(args.out)  # a part run alone keeps the other part's figures
    results["_method"] = (f"{os.cpu_count()} cores; `tinyml tune` (Optuna multi-objective TPE, SQLite), "
                          "validation scores of the int8 models in TFLite Micro after the tuner's short schedule; "
                          "instructions: the calibrated estimate, checked on the Pareto front in QEMU "
                          "(-icount shift=0) where the board's core has an emulated twin")
    with tempfile.TemporaryDirectory(prefix="tinyml-tune-bench-") as tmp:
        work = args.work or Path(tmp)
        for part, skip, run in (("kws", args.skip_kws, tune_kws), ("vibration", args.skip_vibration, tune_vibration)):
            if skip:
                continue
            results = {k: v for k, v in results.items() if not k.startswith(part + ".")}
            results.update(run(args, work))
            with atomic_file(args.out) as tmp_file:
                tmp_file.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    print(json.dumps(results, indent=2))


def _previous(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


if __name__ == "__main__":
    main()
