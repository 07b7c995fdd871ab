"""Always-listening keyword spotting: false accepts per hour and misses on long test streams,
and what listening costs on the device.

The model (the default kws model, trained first unless --run names one) listens with the
detector of tinyml.stream, which is the firmware's (tests: identical DETECT lines, counts and
output CRC in QEMU). Thresholds are chosen on the validation split back to back for
--target-fa-per-hour, then the detector runs on a long stream made from the test split
(tinyml.stream.streams: every test clip once, runs of other words, silences, noise between):
  false_accepts_per_hour, miss_rate     at the chosen thresholds
  detection_latency_ms                  keyword end to DETECT (median, 90th percentile)
  det                                   (false accepts/hour, miss rate) over one common threshold
                                        swept from 0.5 to 0.99 (plot: results/kws_stream_det.png)
On the emulated boards the same firmware replays its recording in live mode and reports the
instructions (QEMU -icount shift=0; instructions, not cycles) of its streaming front-end and
its model: frontend_instructions_per_hop, model_instructions_per_inference, and the real-time
factor at each board's clock (and at the Nano 33 BLE's 64 MHz with the M4's figures): the share
of the CPU listening takes, one instruction a cycle. app_ram_bytes: the M4 firmware's RAM
(from its map file, the stack's reservation included) without the model arena, which also holds
the front-end's FFT work between inferences; ram_bytes: all of it.

Run: .venv/bin/python -m benchmarks.kws_stream [--run runs/kws-...] (about an hour with training;
--device-only: the emulated boards alone, keeping the host figures)
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import RESULTS, write_results

BOARDS = {"emu-cortex-m4": "m4", "emu-cortex-m55": "m55"}
HOPS_PER_S = 50


def device_figures(run: Path, live, work: Path) -> dict:
    """Per board: the live-mode replay's front-end instructions per hop and model instructions
    per inference, and the M4 firmware's RAM without the arena."""
    from tinyml.boards import load_board
    from tinyml.firmware import build_app
    from tinyml.flash import start_board
    from tinyml.link.client import live_lines

    out: dict = {}
    for board_id, key in BOARDS.items():
        board = load_board(board_id)
        built = build_app("kws", run, board, work / board_id, live=live)
        with start_board(board, built.built.firmware, handshake=False) as running:
            line = live_lines(running.url, seconds=300)[-1]
        m = re.search(r"hops=(\d+) inferences=(\d+) crc=\d+ frontend_ticks=(\d+) model_ticks=(\d+)", line)
        hops, inferences, fe, model = (int(g) for g in m.groups())
        ns = board.timer_ps_per_tick / 1000
        out[f"frontend_instructions_per_hop.{key}"] = round(fe * ns / hops)
        out[f"model_instructions_per_inference.{key}"] = round(model * ns / inferences)
        if key == "m4":
            rows = {part: ram for part, _, ram in built.budget.rows}
            out["app_ram_bytes"] = built.budget.ram - rows.get("model arena", 0)
            out["ram_bytes"] = built.budget.ram  # all of it: what a board must have
            out["app_ram_parts"] = {p: r for p, r in rows.items() if r}
            out["arena_bytes"] = rows.get("model arena", 0)
    return out


def real_time_factors(figures: dict, every: int) -> dict:
    from tinyml.boards import load_board

    out = {}
    for board_id, key in [*BOARDS.items(), ("nano33ble", "m4")]:
        per_second = (figures[f"frontend_instructions_per_hop.{key}"] * HOPS_PER_S
                      + figures[f"model_instructions_per_inference.{key}"] * HOPS_PER_S / every)
        out[board_id] = round(per_second / load_board(board_id).clock_hz, 3)
    return out


def det_curve(model, outputs, hops, events, duration_ms, config) -> list[dict]:
    from tinyml.stream.detect import keyword_thresholds
    from tinyml.stream.evaluate import evaluate
    from tinyml.stream.simulate import replay

    points = []
    for p in np.round(np.arange(0.50, 0.995, 0.02), 2).tolist():
        thresholds = keyword_thresholds(model.classes, p, config.average, model.scale)
        found = replay(outputs, hops, model.classes, thresholds, config, model.scale, model.zero_point, model.spec)
        e = evaluate(found, events, duration_ms, config, model.spec)
        points.append({"threshold": p, "false_accepts_per_hour": round(e.false_accepts_per_hour, 3),
                       "false_accepts_per_hour_without_substitutions": round(e.other_false_accepts_per_hour, 3),
                       "miss_rate": round(e.miss_rate, 4)})
    return points


def plot_det(points: list[dict], chosen: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([p["false_accepts_per_hour"] for p in points], [100 * p["miss_rate"] for p in points], "o-", ms=3,
            label="one threshold for every keyword")
    ax.plot([p["false_accepts_per_hour_without_substitutions"] for p in points],
            [100 * p["miss_rate"] for p in points], "s--", ms=3,
            label="the same, keywords taken for another not counted")
    ax.plot([chosen["false_accepts_per_hour"]], [100 * chosen["miss_rate"]], "r*", ms=12,
            label="per-keyword thresholds (validation)")
    ax.set_xlabel("false accepts per hour")
    ax.set_ylabel("keywords missed (%)")
    ax.set_xscale("symlog", linthresh=1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("DET on the long test stream")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _every(hops_outputs, every: int, window_frames: int):
    hops, outputs = hops_outputs
    keep = (hops - window_frames) % every == 0
    return hops[keep], outputs[keep]


def _at_every(model, config, val_all, test_all, val_audio, val_events, stream, target: float) -> dict:
    """Thresholds chosen on the validation clips for `target` false accepts an hour, and the
    detector with them on the long test stream, with the model every config.every hops."""
    from tinyml.stream.detect import probability_of
    from tinyml.stream.evaluate import evaluate, events_taken, pick_thresholds, slack_ms
    from tinyml.stream.simulate import replay

    spec = model.spec
    val_ms = len(val_audio) * 1000 // spec.sample_rate
    vh, vo = _every(val_all, config.every, spec.frames)
    thresholds = pick_thresholds(vo, vh, val_events, model.classes, val_ms, target, config, model.scale,
                                 model.zero_point, spec)
    validation = evaluate(replay(vo, vh, model.classes, thresholds, config, model.scale, model.zero_point, spec),
                          val_events, val_ms, config, spec)
    th, to = _every(test_all, config.every, spec.frames)
    found = replay(to, th, model.classes, thresholds, config, model.scale, model.zero_point, spec)
    result = evaluate(found, stream.events, stream.duration_ms, config, spec)
    hits = events_taken(found, stream.events, slack_ms(config, spec))
    latencies = [d.ms - stream.events[i].end_ms for d, i in zip(found, hits) if i is not None]
    return {
        "chosen": {"false_accepts_per_hour": round(result.false_accepts_per_hour, 3),
                   "miss_rate": round(result.miss_rate, 4),
                   "substitutions": result.substitutions,
                   "false_accepts_per_hour_without_substitutions": round(result.other_false_accepts_per_hour, 3)},
        "evaluation": result,
        "thresholds": {c: round(probability_of(t, config.average, model.scale), 3)
                       for c, t in zip(model.classes, thresholds) if t is not None},
        "validation": {"hours": round(validation.hours, 3),
                       "false_accepts_per_hour": round(validation.false_accepts_per_hour, 3),
                       "miss_rate": round(validation.miss_rate, 4)},
        "latency": {"median": int(np.median(latencies)) if latencies else None,
                    "p90": int(np.percentile(latencies, 90)) if latencies else None},
        "det": det_curve(model, to, th, stream.events, stream.duration_ms, config),
    }


def _previous_results(name: str) -> dict:
    import json

    try:
        return json.loads((RESULTS / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {}


def _with_device_figures(results: dict, figures: dict, every: int) -> None:
    """The device figures, and the real-time factors they give at every K measured."""
    results.update(figures)
    results["real_time_factor"] = real_time_factors(figures, every)
    for k, row in results.get("by_every", {}).items():
        row["real_time_factor"] = real_time_factors(figures, int(k))


def _run_or_default(run: Path | None, root: Path) -> Path:
    """The kws run named, or the default model trained into root."""
    if run is not None:
        return run
    from tinyml.train import KwsTrainConfig, kws

    print("training the default kws model ...", flush=True)
    return kws.train(KwsTrainConfig(), runs_root=root, progress=False).folder


def _device_only(args) -> None:
    """The device figures measured again, written over those of the last full run; the
    detection figures stay that run's (the default model trains to the same weights)."""
    from tinyml.firmware.apps import LiveSettings

    results = _previous_results(args.results)
    if not results:
        raise SystemExit(f"--device-only updates benchmarks/results/{args.results}.json: run the full "
                         "benchmark first")
    with tempfile.TemporaryDirectory(prefix="tinyml-kws-stream-") as tmp:
        run = _run_or_default(args.run, Path(tmp) / "runs")
        figures = device_figures(Path(run), LiveSettings(every=args.every), Path(tmp) / "device")
    _with_device_figures(results, figures, args.every)
    results["device_only"] = "device figures measured again alone (--device-only); the rest from the last full run"
    write_results(args.results, results)


def _previous_device_figures(name: str) -> dict:
    old = _previous_results(name)
    keys = ("frontend_instructions_per_hop.", "model_instructions_per_inference.", "app_ram", "arena_bytes",
            "ram_bytes")
    return {k: v for k, v in old.items() if k.startswith(keys)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="a kws run folder [default: train the default model]")
    parser.add_argument("--target-fa-per-hour", type=float, default=1.0)
    parser.add_argument("--every", type=int, default=2, help="hops between inferences")
    parser.add_argument("--seed", type=int, default=0, help="of the long stream")
    parser.add_argument("--skip-device", action="store_true",
                        help="no emulated boards: keep the device figures already in the results")
    parser.add_argument("--device-only", action="store_true",
                        help="only the emulated boards (instructions, RAM): keep the host simulator's "
                             "figures already in the results (minutes instead of an hour)")
    parser.add_argument("--results", default="kws_stream", metavar="NAME",
                        help="write benchmarks/results/NAME.json and NAME_det.png (another model than "
                             "the default: kws_stream_window_mean for a normalize = \"window_mean\" run)")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_]+", args.results):
        parser.error(f"--results {args.results!r}: a file name of letters, digits and _ (no path)")
    if args.device_only:
        _device_only(args)
        return

    from tinyml.datasets.store import load
    from tinyml.firmware.apps import LiveSettings
    from tinyml.stream import StreamModel, model_outputs
    from tinyml.stream.evaluate import validation_stream
    from tinyml.stream.streams import long_stream

    with tempfile.TemporaryDirectory(prefix="tinyml-kws-stream-") as tmp:
        work = Path(tmp)
        run = _run_or_default(args.run, work / "runs")
        model = StreamModel.load(run)
        start = time.monotonic()
        data = load(Path(model.dataset))
        val_audio, val_events = validation_stream(data, "val")
        stream = long_stream(data, "test", seed=args.seed)
        # The model on every hop once; running it every K hops is a subset of these.
        val_all = model_outputs(model, val_audio, 1)
        test_all = model_outputs(model, stream.audio, 1)
        print(f"model outputs on {len(val_audio) / 16000 / 3600:.2f} h of validation clips and a "
              f"{stream.duration_ms / 3_600_000:.2f} h test stream", flush=True)
        by_every = {}
        for every in sorted({1, 2, 4, 8, args.every}):
            config = LiveSettings(every=every).detect_config()
            by_every[every] = _at_every(model, config, val_all, test_all, val_audio, val_events, stream,
                                        args.target_fa_per_hour)
        main_run = by_every[args.every]
        config = LiveSettings(every=args.every).detect_config()
        RESULTS.mkdir(parents=True, exist_ok=True)
        plot_det(main_run["det"], main_run["chosen"], RESULTS / f"{args.results}_det.png")
        results = {
            **main_run["chosen"],
            "keywords": main_run["evaluation"].keywords, "misses": main_run["evaluation"].misses,
            "false_accepts": main_run["evaluation"].false_accepts,
            "stream_hours": round(main_run["evaluation"].hours, 3), "stream_clips": stream.counts,
            "every_hops": config.every, "average": config.average,
            "refractory_ms": config.refractory_ms, "target_fa_per_hour": args.target_fa_per_hour,
            "thresholds": main_run["thresholds"], "validation": main_run["validation"],
            "detection_latency_ms": main_run["latency"], "det": main_run["det"],
            "by_every": {str(k): {**v["chosen"], "latency_ms": v["latency"]} for k, v in by_every.items()},
            "host_seconds": round(time.monotonic() - start, 1), "model": str(Path(run).name),
            "normalize": model.spec.normalize, "label_smoothing": _label_smoothing(Path(run)),
        }
        live = LiveSettings(every=args.every)
        if args.skip_device:  # the device figures of the last run stay, with the model they were of
            figures = _previous_device_figures(args.results)
        else:
            figures = device_figures(Path(run), live, work / "device")
        if figures:
            _with_device_figures(results, figures, config.every)
        results["_method"] = ("host simulator (tinyml.stream: streaming front-end, TFLM, the firmware's integer "
                              "detector) on a long stream of the test split (tinyml.stream.streams, seed "
                              f"{args.seed}); thresholds from the validation split; device figures from the "
                              "kws firmware's live mode in QEMU, instructions (-icount shift=0), not cycles")
        write_results(args.results, results)


def _label_smoothing(run: Path) -> float | None:
    """The run's training label smoothing: 0 for a run trained before the setting existed
    (its config.toml has none), None if the run has no readable config."""
    import tomllib

    try:
        return float(tomllib.loads((run / "config.toml").read_text()).get("label_smoothing", 0.0))
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    main()
