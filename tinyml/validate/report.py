"""What a validation found, as numbers (JSON) and as a page (HTML with an inline latency plot)."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
from pathlib import Path

import numpy as np

from tinyml.boards import Board
from tinyml.link import frame as fr
from tinyml.tools.fs import atomic_file
from tinyml.validate.hil import DeviceResults, Samples


def _stats(values: np.ndarray) -> dict:
    return {"min": float(np.min(values)), "median": float(np.median(values)), "max": float(np.max(values))}


def done_part(samples: Samples, results: DeviceResults) -> tuple[Samples, DeviceResults]:
    """The samples the device answered, and its answers: all of them unless a run gave up."""
    done = results.done
    if done is None or done.all():
        return samples, results
    return (dataclasses.replace(samples, inputs=samples.inputs[done], features=samples.features[done],
                                labels=samples.labels[done], host_outputs=samples.host_outputs[done]),
            dataclasses.replace(results, outputs=results.outputs[done], scores=results.scores[done],
                                feature_ticks=results.feature_ticks[done],
                                model_ticks=results.model_ticks[done], done=done[done]))


def summarize(samples: Samples, results: DeviceResults, board: Board, run_metrics: dict) -> dict:
    """The validation's figures: agreement with TFLM, quality on the device, latency, memory."""
    same = np.all(results.outputs == samples.host_outputs, axis=1)
    per_tick = float(results.info.get("timer_per_tick", board.timer.per_tick))
    unit = results.info.get("timer_unit", board.timer.unit)
    summary = {
        "app": samples.app, "board": board.id, "samples": int(len(same)),
        "input": "raw" if samples.kind == fr.INPUT_RAW else "features",
        "agreement": float(np.mean(same)) if len(same) else 0.0,
        "mismatched_samples": int(np.sum(~same)),
        "samples_per_s": round(results.sent / results.seconds, 2) if results.seconds else 0.0,
        "seconds": round(results.seconds, 2),
        "latency_unit": unit, "timer_per_tick": per_tick,
        "latency": {"model": _stats(results.model_ticks * per_tick)},
        "memory": {k: int(results.info[k]) for k in ("arena", "weights", "input_bytes", "raw_bytes",
                                                     "rx_buffer") if k in results.info},
        "device": {k: results.info.get(k) for k in ("firmware", "board", "build", "model")},
        "link": {"resends": results.resends, "emulator_restarts": results.restarts,
                 "resumed_samples": results.resumed, "events": results.events},
        "classes": samples.classes,
    }
    if samples.kind == fr.INPUT_RAW:
        summary["latency"]["features"] = _stats(results.feature_ticks * per_tick)
        summary["latency"]["total"] = _stats((results.feature_ticks + results.model_ticks) * per_tick)
    if samples.app == "kws":
        summary["device_accuracy"] = float(np.mean(results.outputs.argmax(axis=1) == samples.labels))
        summary["host_accuracy"] = float(np.mean(samples.host_outputs.argmax(axis=1) == samples.labels))
    else:
        from tinyml.train.vibration import roc

        normal = samples.labels == samples.classes.index("normal")
        summary["normal_label"] = samples.classes.index("normal")
        threshold = float(run_metrics["threshold"])
        scores = results.scores
        summary["device_auc"] = roc(scores[normal], scores[~normal])[2] if normal.any() and (~normal).any() else None
        summary["threshold"] = threshold
        summary["normalised"] = samples.normalised
        summary["false_alarm_rate"] = float(np.mean(scores[normal] > threshold)) if normal.any() else None
        summary["detection_rate"] = float(np.mean(scores[~normal] > threshold)) if (~normal).any() else None
    return summary


def save_device_outputs(samples: Samples, results: DeviceResults, out_dir: Path) -> Path:
    """What the board answered, per sample, for reports: outputs, scores, ticks, labels."""
    path = Path(out_dir) / "device_outputs.npz"
    np.savez_compressed(path, outputs=results.outputs, scores=results.scores, labels=samples.labels,
                        feature_ticks=results.feature_ticks, model_ticks=results.model_ticks,
                        host_outputs=samples.host_outputs, features=samples.features)
    return path


def save_first_mismatch(samples: Samples, results: DeviceResults, out_dir: Path) -> Path | None:
    """The first sample whose output bytes differ, with both outputs, for debugging."""
    differ = np.flatnonzero(np.any(results.outputs != samples.host_outputs, axis=1))
    if len(differ) == 0:
        return None
    i = int(differ[0])
    path = Path(out_dir) / "first_mismatch.npz"
    np.savez(path, index=i, input=samples.inputs[i], features=samples.features[i],
             device_output=results.outputs[i], host_output=samples.host_outputs[i],
             label=samples.labels[i])
    return path


def _latency_png(results: DeviceResults, unit: str, per_tick: float, out_dir: Path) -> str:
    from tinyml.report.plots import latency

    ticks = {"model": results.model_ticks * per_tick}
    if results.feature_ticks.any():
        ticks["front-end"] = results.feature_ticks * per_tick
    path = latency(ticks, unit, Path(out_dir) / "latency.png")
    return base64.b64encode(path.read_bytes()).decode()


def write_report(summary: dict, results: DeviceResults, out_dir: Path) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "validation.json"
    with atomic_file(json_path) as staging:
        staging.write_text(json.dumps(summary, indent=2) + "\n")
    rows = []
    for key, value in summary.items():
        if key in ("latency", "memory", "device", "link"):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:.4g}"
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>")
    png = _latency_png(results, summary["latency_unit"], summary["timer_per_tick"], out_dir)
    partial = "" if summary.get("complete", True) else \
        f" of {summary['samples_planned']} (partial: the validation stopped early)"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tinyml validation: {html.escape(summary['app'])} on {html.escape(summary['board'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}th{{text-align:left;padding-right:1em}}
td,th{{border-bottom:1px solid #ddd;padding:.2em .5em}}</style></head><body>
<h1>{html.escape(summary['app'])} on {html.escape(summary['board'])}</h1>
<p>{summary['samples']} test samples{partial}; {summary['agreement']:.2%} with output bytes identical to TFLite Micro.</p>
<table>{''.join(rows)}</table>
<h2>Latency</h2><img alt="latency histogram" src="data:image/png;base64,{png}">
</body></html>
"""
    html_path = out_dir / "validation.html"
    with atomic_file(html_path) as staging:
        staging.write_text(page)
    return json_path, html_path
