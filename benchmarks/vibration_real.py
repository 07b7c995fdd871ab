"""Vibration on machines no training machine resembles, calibrated and not.

The default vibration model (`tinyml train vibration`, simulation only) is taken to machines
made for this benchmark: bearings no training machine has (6207, 6302, 7205 angular contact),
their own running speed, resonance, damping, mounting and sensor gain. Per machine:
  - calibration: the first `--calibrate-seconds` (60) of normal running, through the
    front-end, give its normal levels and the threshold for `--false-alarm-rate` (1 %);
  - then `--normal-seconds` (20) more normal running and faults of every type and severity
    (`--fault-windows` per type and severity) are scored against that threshold.
Uncalibrated figures use the firmware's built-in levels (the training machines' average) and
the run's threshold, as a board straight from `tinyml flash` would.

fault_type_acc: the fault classifier (int8, TFLM) over the synthetic test split, as training
measured it (the host int8 pipeline; the device's copy is checked bit for bit by the tests).

Calibration here runs on the host (Python front-end and TFLM): bit-identical to the device's
front-end and model by test (tests/test_calibrate.py calibrates an emulated board the same way).

Run: .venv/bin/python -m benchmarks.vibration_real   (writes benchmarks/results/vibration_real.json)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import write_results


def machine_windows(rng, machine, label: str, severity: int, n: int) -> np.ndarray:
    from tinyml.datasets.vibration_synth import window

    return np.stack([window(rng, machine, label, severity) for _ in range(n)])


def score_machine(run_dir: Path, metrics: dict, machine: dict, rng, args) -> dict:
    from tinyml.calibrate import calibrate_on_host, host_scores
    from tinyml.datasets.vibration_synth import CLASSES, RATE, SEVERITIES, WINDOW
    from tinyml.features.normalize import normalize
    from tinyml.firmware.apps import frontend_spec, host_features, raw_windows

    spec = frontend_spec("vibration", metrics)
    per_second = RATE / WINDOW

    def raw(label, severity, n):
        return raw_windows("vibration", machine_windows(rng, machine, label, severity, n)[:, :spec.axes], spec)

    calib = raw("normal", 0, int(args.calibrate_seconds * per_second))
    normal = raw("normal", 0, int(args.normal_seconds * per_second))
    faults = {(c, s): raw(c, s, args.fault_windows) for c in CLASSES[1:] for s in SEVERITIES}
    cal = calibrate_on_host(run_dir, calib, args.false_alarm_rate)
    default = np.asarray(metrics["normal_level"], dtype=np.int16)

    def scores(windows, levels):
        q = host_features("vibration", windows, spec).reshape(len(windows), -1)
        return host_scores(run_dir, normalize(q, levels))

    out = {}
    for name, levels, threshold in (("calibrated", cal.levels, cal.threshold),
                                    ("uncalibrated", default, float(metrics["threshold"]))):
        by_fault = {f"{c}/{s}": float(np.mean(scores(w, levels) > threshold)) for (c, s), w in faults.items()}
        out[name] = {"detection": float(np.mean(list(by_fault.values()))),
                     "false_alarm": float(np.mean(scores(normal, levels) > threshold)),
                     "threshold": threshold, "detection_by_fault": by_fault}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.vibration_real", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--run", type=Path, help="a vibration run folder [default: train the default model]")
    parser.add_argument("--machines", type=int, default=8, help="unseen machines [default: 8]")
    parser.add_argument("--calibrate-seconds", type=float, default=60.0)
    parser.add_argument("--normal-seconds", type=float, default=20.0)
    parser.add_argument("--fault-windows", type=int, default=20, help="per fault type and severity [default: 20]")
    parser.add_argument("--false-alarm-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the results file")
    args = parser.parse_args(argv)

    import json

    from tinyml.datasets.vibration_synth import UNSEEN_BEARINGS, machine
    from tinyml.train import VibrationTrainConfig, vibration

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tinyml-runs-") as tmp:
        run_dir = args.run or vibration.train(VibrationTrainConfig(), runs_root=Path(tmp), progress=False).folder
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
        rng = np.random.default_rng(args.seed)
        machines = [machine(rng, UNSEEN_BEARINGS) for _ in range(args.machines)]
        per_machine = []
        for i, m in enumerate(machines):
            result = score_machine(Path(run_dir), metrics, m, rng, args)
            result["machine"] = {"shaft_hz": round(m["shaft_hz"], 2), "resonance_hz": round(m["resonance_hz"], 1),
                                 "damping": round(m["damping"], 4), "bearing": vars(m["bearing"]) if hasattr(m["bearing"], "__dict__") else str(m["bearing"])}
            per_machine.append(result)
            print({k: round(v, 2) for k, v in result["calibrated"]["detection_by_fault"].items()})
            print(f"machine {i}: calibrated det {result['calibrated']['detection']:.3f} "
                  f"fa {result['calibrated']['false_alarm']:.3f}; uncalibrated det "
                  f"{result['uncalibrated']['detection']:.3f} fa {result['uncalibrated']['false_alarm']:.3f}", flush=True)
    mean = lambda k, f: float(np.mean([r[k][f] for r in per_machine]))  # noqa: E731
    results = {
        "calibrated_detection": mean("calibrated", "detection"),
        "calibrated_false_alarm": mean("calibrated", "false_alarm"),
        "uncalibrated_detection": mean("uncalibrated", "detection"),
        "uncalibrated_false_alarm": mean("uncalibrated", "false_alarm"),
        "fault_type_acc": metrics["classifier"]["int8_tflm_acc"],
        "synthetic_test_auc": metrics["int8_tflm_auc"],
        "machines": per_machine,
        "seconds": round(time.monotonic() - start, 1),
        "_method": (f"{args.machines} unseen machines (seed {args.seed}); calibration on {args.calibrate_seconds:g} s "
                    f"of normal running, then {args.normal_seconds:g} s of normal and {args.fault_windows} windows per "
                    f"fault type and severity; per-window figures at the calibrated threshold for "
                    f"{args.false_alarm_rate:g} false alarms; {os.cpu_count()} cores"),
    }
    if args.no_write:
        print(json.dumps({k: v for k, v in results.items() if k != "machines"}, indent=2))
    else:
        write_results("vibration_real", results)


if __name__ == "__main__":
    main()
