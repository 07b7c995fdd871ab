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

fault_type_acc: of the alarms in the synthetic test split (machines unseen in training, each
normalised by its own normal windows; an alarm is 3 faulty windows in a row of one machine,
fault and severity), the share whose fault the board names: the classifier's int8 outputs
summed over the alarm's windows, as the firmware's live mode does. The classifier runs on an
emulated board (`--board`, both models in one firmware and one arena), the host int8 pipeline
(TFLM) beside it (fault_type_acc_host), the windows whose outputs differ between the two
(fault_type_mismatched) and the per-window figure (fault_type_window_acc).

mega_*: the vibration firmware with both models and calibration for the Arduino Mega
(emu-arduino-mega), measured from the linker map (RAM includes its 1 KB stack).

Calibration here runs on the host (Python front-end and TFLM): bit-identical to the device's
front-end and model by test (tests/test_calibrate.py calibrates an emulated board the same way).

Run: .venv/bin/python -m benchmarks.vibration_real   (writes benchmarks/results/vibration_real.json)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import asdict
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


def fault_types_on_board(run_dir: Path, metrics: dict, board_id: str) -> dict:
    """The classifier on every faulty test window, on an emulated board and in TFLM."""
    from tinyml.boards import load_board
    from tinyml.convert.tflm import TflmModel
    from tinyml.datasets.store import load
    from tinyml.features import dataset_features
    from tinyml.firmware import build_app
    from tinyml.firmware.apps import frontend_spec
    from tinyml.flash import start_board
    from tinyml.link import frame as fr
    from tinyml.link import open_device
    from tinyml.train.vibration import alarm_groups, fault_type_accuracy, machines_of, normalise_by_machine

    data = load(Path(metrics["dataset"]))
    q = dataset_features(data, Path(metrics["dataset"]), frontend_spec("vibration", metrics)).reshape(len(data.x), -1)
    normal_class = metrics["classes"].index("normal")
    rows = np.flatnonzero((data.split == 2) & (data.labels != normal_class))
    features = normalise_by_machine(data, q)[0][rows]
    host = TflmModel(Path(run_dir) / "classifier_int8.tflite").run(features)
    board = load_board(board_id)
    with tempfile.TemporaryDirectory(prefix="tinyml-vib-") as work:
        built = build_app("vibration", Path(run_dir), board, Path(work))
        with start_board(board, built.built.firmware) as running, open_device(running.url, timeout=10) as device:
            rx = int(device.info()["rx_buffer"])
            device_out = np.zeros_like(host)
            for i, f in enumerate(features):
                device.load(fr.INPUT_FEATURES, f.tobytes(), rx)
                device_out[i] = device.fault()[2]
    labels = data.labels[rows]
    severity = np.asarray(data.meta["severity"])[rows]
    groups = alarm_groups(labels, machines_of(data)[rows], severity, normal_class)
    singles = [np.array([i]) for i in range(len(rows))]
    return {"fault_type_acc": fault_type_accuracy(device_out, labels, groups, normal_class),
            "fault_type_acc_host": fault_type_accuracy(host, labels, groups, normal_class),
            "fault_type_window_acc": fault_type_accuracy(device_out, labels, singles, normal_class),
            "fault_type_alarms": len(groups),
            "fault_type_mismatched": int(np.sum(np.any(device_out != host, axis=1))),
            "fault_type_windows": len(rows), "fault_type_board": board_id}


def mega_budget(run_dir: Path) -> dict:
    """RAM and flash of the vibration firmware (both models, calibration) for the Arduino Mega,
    measured from the linker map."""
    from tinyml.boards import load_board
    from tinyml.firmware import build_app

    with tempfile.TemporaryDirectory(prefix="tinyml-mega-") as work:
        budget = build_app("vibration", run_dir, load_board("emu-arduino-mega"), Path(work)).budget
    return {"mega_ram_bytes": budget.ram, "mega_flash_bytes": budget.flash,
            "mega_ram_by_part": {part: ram for part, _, ram in budget.rows}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.vibration_real", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--run", type=Path, help="a vibration run folder [default: train the default model]")
    parser.add_argument("--machines", type=int, default=8, help="unseen machines [default: 8]")
    parser.add_argument("--calibrate-seconds", type=float, default=60.0)
    parser.add_argument("--normal-seconds", type=float, default=20.0)
    parser.add_argument("--fault-windows", type=int, default=20, help="per fault type and severity [default: 20]")
    parser.add_argument("--false-alarm-rate", type=float, default=0.05,
                        help="calibration's target per window [default: 0.05, the goal's operating point]")
    parser.add_argument("--board", default="emu-cortex-m4",
                        help="the emulated board the fault classifier runs on [default: emu-cortex-m4]; "
                             "none: the host int8 figure only")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the results file")
    args = parser.parse_args(argv)

    from tinyml.datasets.vibration_synth import UNSEEN_BEARINGS, machine
    from tinyml.train import VibrationTrainConfig, vibration

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tinyml-runs-") as tmp:
        run_dir = args.run or vibration.train(VibrationTrainConfig(), runs_root=Path(tmp), progress=False).folder
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
        rng = np.random.default_rng(args.seed)
        machines = [machine(rng, UNSEEN_BEARINGS) for _ in range(args.machines)]
        faults = (fault_types_on_board(Path(run_dir), metrics, args.board) if args.board != "none" else
                  {"fault_type_acc": metrics["classifier"]["fault_type_acc"], "fault_type_board": "none (host int8)"})
        faults.update(mega_budget(Path(run_dir)))
        per_machine = []
        for i, m in enumerate(machines):
            result = score_machine(Path(run_dir), metrics, m, rng, args)
            result["machine"] = {"shaft_hz": round(m["shaft_hz"], 2), "resonance_hz": round(m["resonance_hz"], 1),
                                 "damping": round(m["damping"], 4), "bearing": asdict(m["bearing"])}
            per_machine.append(result)
            print(f"machine {i}: calibrated det {result['calibrated']['detection']:.3f} "
                  f"fa {result['calibrated']['false_alarm']:.3f}; uncalibrated det "
                  f"{result['uncalibrated']['detection']:.3f} fa {result['uncalibrated']['false_alarm']:.3f}", flush=True)
    mean = lambda k, f: float(np.mean([r[k][f] for r in per_machine]))  # noqa: E731
    results = {
        "calibrated_detection": mean("calibrated", "detection"),
        "calibrated_false_alarm": mean("calibrated", "false_alarm"),
        "uncalibrated_detection": mean("uncalibrated", "detection"),
        "uncalibrated_false_alarm": mean("uncalibrated", "false_alarm"),
        **faults,
        "synthetic_test_auc": metrics["int8_tflm_auc"],
        "machines": per_machine,
        "seconds": round(time.monotonic() - start, 1),
        "_method": (f"{args.machines} unseen machines (seed {args.seed}); calibration on {args.calibrate_seconds:g} s "
                    f"of normal running, then {args.normal_seconds:g} s of normal and {args.fault_windows} windows per "
                    f"fault type and severity; per-window figures at the calibrated threshold for "
                    f"{args.false_alarm_rate:g} false alarms (calibration on the host: Python front-end and "
                    f"TFLM, bit-identical to the board's by test); {os.cpu_count()} cores"),
    }
    if args.no_write:
        print(json.dumps({k: v for k, v in results.items() if k != "machines"}, indent=2))
    else:
        write_results("vibration_real", results)


if __name__ == "__main__":
    main()
