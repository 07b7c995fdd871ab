"""Fits the instruction estimate (tinyml.tune.cost) to counts measured in QEMU.

Models drawn from the tuner's search spaces (DS-CNNs on the MFCC shapes it tries, the
vibration autoencoders), untrained (instruction counts depend on shapes, and on the output
stage the weights allow, which is a count of its own), are compiled and run by the bench
firmware on the emulated Cortex-M4 and M55 with each operator timed; per kernel, a
non-negative least-squares fit of instructions on the kernel's counts. Every third model is
compiled with the general output stage only, so both stages are measured. Every third is
also run without the per-operator timing, which measures what the timing itself adds to each
operator (it is taken off before fitting) and what invoke() spends outside the operators.

    .venv/bin/python -m tinyml.tune.calibrate [--models N]   # writes tinyml/tune/calibration.py

About 15 minutes on 2 cores (about 4 s per model and board; 72 models by default).
"""

from __future__ import annotations

import argparse
import json
import pprint
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from tinyml.tools.fs import atomic_file

BOARDS = {"cortex-m4": "emu-cortex-m4", "cortex-m55": "emu-cortex-m55"}
OUT = Path(__file__).with_name("calibration.py")
INPUTS = 2


def sample_models(count: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """(description, int8 .tflite) of `count` models from the search spaces, about 2/3 DS-CNNs."""
    from tinyml.tune.space import SPACES, sample_params
    from tinyml.tune.trial import untrained_tflite

    rng = np.random.default_rng(seed)
    models = []
    for i in range(count):
        app = "kws" if i % 3 != 2 else "vibration"
        params = sample_params(SPACES[app], rng)
        models.append((f"{app} {json.dumps(params, sort_keys=True)}", untrained_tflite(app, params)))
    return models


def measure(models, boards: dict[str, str], work: Path) -> dict[str, list[dict]]:
    """Per core: for each model, its kernel calls' counts, measured instructions per operator
    and the invoke() total."""
    from tinyml.boards import load_board
    from tinyml.tune.cost import kernel_calls
    from tinyml.tflite.model import read_tflite
    from tinyml.validate.bench import run_on_board

    rows: dict[str, list[dict]] = defaultdict(list)
    for n, (what, tflite) in enumerate(models):
        model = read_tflite(tflite)
        shape = model.tensor(model.inputs[0]).shape
        inputs = np.random.default_rng(n).integers(-128, 128, size=(INPUTS, *shape[1:]), dtype=np.int8)
        narrow = n % 3 != 1
        for core, board_id in boards.items():
            run = run_on_board(tflite, load_board(board_id), inputs, work / f"{n}-{core}", profile=True,
                               narrow_requant=narrow)
            calls = kernel_calls(tflite)
            if not narrow:
                for call in calls:
                    if "out_narrow" in call.counts:
                        call.counts["out_wide"] += call.counts["out_narrow"]
                        call.counts["out_narrow"] = 0
            row = {"model": what, "narrow": narrow, "total": int(np.median(run.instructions)),
                   "ops": [(c.function, c.counts, run.op_instructions.get(c.index, 0)) for c in calls]}
            if n % 3 == 0:
                plain = run_on_board(tflite, load_board(board_id), inputs, work / f"{n}-{core}-plain",
                                     narrow_requant=narrow)
                row["plain_total"] = int(np.median(plain.instructions))
            rows[core].append(row)
            print(f"{core} {n + 1}/{len(models)}: {int(np.median(run.instructions)):,} instructions  {what}",
                  flush=True)
    return rows


def recount(rows: list[dict]) -> list[dict]:
    """The rows with their kernels' counts computed again (after op_counts changed), from the
    models they describe: the same seeded models, so no emulator run is needed."""
    from tinyml.tune.cost import kernel_calls
    from tinyml.tune.trial import untrained_tflite

    out = []
    for n, row in enumerate(rows):
        app, params = row["model"].split(" ", 1)
        calls = kernel_calls(untrained_tflite(app, json.loads(params)))
        if not row.get("narrow", n % 3 != 1):
            for call in calls:
                if "out_narrow" in call.counts:
                    call.counts["out_wide"] += call.counts["out_narrow"]
                    call.counts["out_narrow"] = 0
        assert [c.function for c in calls] == [f for f, _, _ in row["ops"]], row["model"]
        out.append({**row, "ops": [(c.function, c.counts, m) for c, (_, _, m) in zip(calls, row["ops"])]})
    return out


def fit(rows: list[dict]) -> dict:
    """Per kernel, non-negative coefficients on its counts, plus `invoke` (what invoke() spends
    outside the kernels), by one least-squares fit of relative errors over every operator's
    count and every model's total (totals weigh more: one timer quantum, not one per
    operator); and the in-sample error of the whole estimate."""
    from scipy.optimize import nnls

    plain = [r for r in rows if "plain_total" in r]
    # What timing each operator adds (two timer reads and a call), measured on the models run both ways.
    overhead = float(np.median([(r["total"] - r["plain_total"]) / len(r["ops"]) for r in plain])) if plain else 0.0
    columns = sorted({(f, k) for r in rows for f, counts, _ in r["ops"] for k in counts}) + [("invoke", "call")]
    index = {c: i for i, c in enumerate(columns)}

    def total_of(row) -> float:
        return row.get("plain_total", row["total"] - overhead * len(row["ops"]))

    equations, targets, weights = [], [], []
    for row in rows:
        whole = np.zeros(len(columns))
        whole[index[("invoke", "call")]] = 1.0
        for function, counts, measured in row["ops"]:
            op = np.zeros(len(columns))
            for k, v in counts.items():
                op[index[(function, k)]] = v
            whole += op
            target = max(measured - overhead, 1.0)
            equations.append(op), targets.append(target), weights.append(1.0 / max(target, 400.0))
        equations.append(whole), targets.append(total_of(row)), weights.append(4.0 / total_of(row))
    a = np.array(equations) * np.array(weights)[:, None]
    b = np.array(targets) * np.array(weights)
    scale = np.maximum(np.abs(a).max(axis=0), 1e-12)  # conditioned columns, coefficients scaled back
    solution, _ = nnls(a / scale, b)
    coefficients = solution / scale
    kernels: dict[str, dict[str, float]] = defaultdict(dict)
    for (function, k), c in zip(columns, coefficients):
        if function != "invoke" and c > 0:
            kernels[function][k] = float(round(c, 6))
    table = {"kernels": dict(kernels), "invoke": int(round(coefficients[index[("invoke", "call")]])),
             "timing_overhead": round(overhead, 1)}
    errors = [estimate(table, row) / total_of(row) - 1 for row in rows]
    table["models"] = len(rows)
    table["max_abs_error"] = round(float(np.max(np.abs(errors))), 4)
    table["median_abs_error"] = round(float(np.median(np.abs(errors))), 4)
    return table


def estimate(table: dict, row: dict) -> float:
    return table["invoke"] + sum(sum(table["kernels"].get(f, {}).get(k, 0.0) * v for k, v in counts.items())
                                 for f, counts, _ in row["ops"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=72, help="models drawn from the search spaces")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", nargs="+", choices=sorted(BOARDS), default=sorted(BOARDS),
                        help="cores to measure (the others keep their table)")
    parser.add_argument("--rows", type=Path, help="keep the measurements in this JSON file; when it "
                        "exists, fit it again without measuring")
    parser.add_argument("--recount", action="store_true", help="with --rows: the kernels' counts computed "
                        "again from the models (after the estimate's counts changed)")
    args = parser.parse_args(argv)
    if args.rows is not None and args.rows.is_file():
        rows = json.loads(args.rows.read_text())
        if args.recount:
            rows = {core: recount(core_rows) for core, core_rows in rows.items()}
    else:
        models = sample_models(args.models, args.seed)
        with tempfile.TemporaryDirectory(prefix="tinyml-calibrate-") as tmp:
            rows = measure(models, {c: BOARDS[c] for c in args.cores}, Path(tmp))
        if args.rows is not None:
            with atomic_file(args.rows) as tmp_file:
                tmp_file.write_text(json.dumps(rows))
    try:
        from tinyml.tune.calibration import TABLES as previous
    except ImportError:
        previous = {}
    tables = {**previous, **{core: {**fit(core_rows), "board": BOARDS[core]} for core, core_rows in rows.items()}}
    text = ('"""Instruction figures per kernel, fitted by `python -m tinyml.tune.calibrate` to QEMU\'s\n'
            'per-operator counts (-icount shift=0) of models from the tuner\'s search spaces. Generated:\n'
            'do not edit."""\n\nTABLES = ' + pprint.pformat(tables, width=100, sort_dicts=True) + "\n")
    with atomic_file(OUT) as tmp:
        tmp.write_text(text)
    for core, table in tables.items():
        print(f"{core}: {table['models']} models, estimate within {table['max_abs_error']:.1%} "
              f"(median {table['median_abs_error']:.1%}) of QEMU's count")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
