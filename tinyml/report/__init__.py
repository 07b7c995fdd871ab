"""The run report: one self-contained HTML page (PNGs inlined, and written beside it) from the
artifacts every stage left in the run folder: training metrics, the firmware's memory budget and
layer table, and what the board answered during validation."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

from tinyml.report import plots

REPORT = "report.html"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _table(rows: list[list], head: list[str]) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + f"</tr>{cells}</table>"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _feature_examples(device, metrics: dict, classes: list[str]) -> tuple[np.ndarray, list[str]]:
    """Up to three test examples of different classes, shaped as the front-end makes them."""
    spec = metrics["frontend"]
    shape = (1 + (spec["clip_samples"] - spec["window"]) // spec["stride"], spec["coefficients"]) \
        if "coefficients" in spec else (spec["axes"], spec["bands"])
    picked, seen = [], set()
    for i, label in enumerate(device["labels"]):
        if int(label) not in seen:
            seen.add(int(label))
            picked.append(i)
        if len(picked) == 3:
            break
    examples = np.stack([device["features"][i].reshape(shape) for i in picked])
    return examples, [classes[int(device["labels"][i])] for i in picked]


def _evaluations(run_dir: Path, out: Path) -> str:
    """The section for RUN/evaluations/*.json (`tinyml evaluate RUN --dataset DIR`): a row per
    evaluation and its confusion matrix; nothing when there is none."""
    from tinyml.errors import warn

    rows, figures = [], []
    for path in sorted((run_dir / "evaluations").glob("*.json")):
        try:
            result = json.loads(path.read_text())
            confusion = np.array(result["confusion"], dtype=int)
            rows.append([result["dataset"], result["split"], result["clips"], _pct(result["accuracy"]),
                         _pct(result["keyword_accuracy"]), f"{_pct(result['false_accept_rate'])} "
                         f"({result['false_accepts']} of {result['non_keyword_clips']})"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            warn(f"{path} is unreadable ({exc}): left out of the report")
            continue
        true, pred = np.nonzero(confusion)  # the clips back from their counts, for the plot helper
        counts = confusion[true, pred]
        png = out / f"evaluation-{path.stem}.png"
        plots.confusion_png(np.repeat(true, counts), np.repeat(pred, counts), result["classes"], png,
                            f"int8 in TFLM on {result['dataset']} ({result['split']}): "
                            f"{_pct(result['accuracy'])} of {result['clips']} clips")
        figures.append(_img(png, f"Confusion matrix on {result['dataset']} ({result['split']}), int8 in TFLM"))
    if not rows:
        return ""
    return ("<h2>Evaluations</h2><p>The int8 model in TFLite Micro on other data "
            "(<code>tinyml evaluate RUN --dataset DIR</code>); a false accept is a _silence_ or "
            "_unknown_ clip taken for a keyword.</p>"
            + _table(rows, ["dataset", "split", "clips", "accuracy", "keyword accuracy", "false accepts"])
            + "".join(figures))


def build_report(run_dir: Path, board_id: str) -> Path:
    """Writes RUN/report.html and its PNGs (RUN/report/); returns the page's path."""
    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    firmware_dir = run_dir / f"firmware-{board_id}"
    validation_dir = run_dir / f"validate-{board_id}"
    budget = json.loads((firmware_dir / "budget.json").read_text())
    layers = json.loads((firmware_dir / "layers.json").read_text())
    validation = json.loads((validation_dir / "validation.json").read_text())
    device = np.load(validation_dir / "device_outputs.npz")
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    app = metrics["app"]
    figures = []
    labels, outputs, scores = device["labels"], device["outputs"], device["scores"]
    if app == "kws":
        classes = validation["classes"]
        pred = outputs.argmax(axis=1)
        plots.confusion_png(labels, pred, classes, out / "confusion.png",
                            f"On the device: {validation['device_accuracy']:.1%} of {len(labels)} test clips")
        figures.append(_img(out / "confusion.png", "Confusion matrix, on the device"))
        figures.append(_img(plots.per_class_accuracy(labels, pred, classes, out / "per_class.png"),
                            "Accuracy per class, on the device"))
        top = np.sort(outputs.astype(float), axis=1)[:, -1]
        figures.append(_img(plots.score_distribution({"right": top[pred == labels], "wrong": top[pred != labels]},
                                                     out / "scores.png", "top int8 output (softmax, quantized)"),
                            "Top-class score of right and wrong answers"))
        quality = [["float (Keras)", _pct(metrics["float_acc"])], ["int8 TFLite", _pct(metrics["int8_tflite_acc"])],
                   ["int8 TFLite Micro", _pct(metrics["int8_tflm_acc"])],
                   [f"int8 on {board_id}", _pct(validation["device_accuracy"])]]
        if "trained_on" in metrics:
            quality += [["trained on", metrics["trained_on"]], ["tested on", metrics["tested_on"]]]
    else:
        from tinyml.train.vibration import roc

        normal = labels == validation.get("normal_label", 0)
        fpr, tpr, auc = roc(scores[normal], scores[~normal])
        point = (validation["false_alarm_rate"], validation["detection_rate"])
        plots.roc_png(fpr, tpr, auc, point, out / "roc.png", f"On the device: AUC {auc:.3f}")
        figures.append(_img(out / "roc.png", "ROC curve, on the device"))
        classes = validation["classes"]
        flagged = [float(np.mean(scores[labels == i] > validation["threshold"])) if np.any(labels == i) else 0.0
                   for i in range(len(classes))]
        figures.append(_img(plots.per_class_rate(classes, flagged, out / "per_class.png",
                                                 "Flagged as anomalous, per class, on the device",
                                                 "share flagged"),
                            "Alarm rate per class (for normal: the false-alarm rate)"))
        figures.append(_img(plots.score_distribution({"normal": scores[normal], "fault": scores[~normal]},
                                                     out / "scores.png", "anomaly score (reconstruction error)",
                                                     validation["threshold"]),
                            "Anomaly scores of normal and faulty windows"))
        calibrated = "normal_level" in metrics  # each test machine normalised by its own normal windows
        host = " (test machines calibrated)" if calibrated else ""
        board = f" ({validation['normalised']})" if validation.get("normalised") else ""
        quality = [["float AUC (Keras)" + host, f"{metrics['float_auc']:.4f}"],
                   ["int8 TFLM AUC" + host, f"{metrics['int8_tflm_auc']:.4f}"]]
        if calibrated:
            quality += [["false alarms / detection, int8 TFLM" + host,
                         f"{_pct(metrics['false_alarm_rate'])} / {_pct(metrics['detection_rate'])}"]]
        if "fault_type_acc" in metrics.get("classifier", {}):
            quality += [["fault type named after an alarm, int8", _pct(metrics["classifier"]["fault_type_acc"])]]
        quality += [[f"int8 AUC on {board_id}" + board, f"{validation['device_auc']:.4f}"],
                    ["false alarms at threshold" + board, _pct(validation["false_alarm_rate"])],
                    ["detection at threshold" + board, _pct(validation["detection_rate"])]]
    quality.append(["outputs identical to TFLM", _pct(validation["agreement"])])
    rows = [tuple(r) for r in budget["rows"]]
    if budget["flash_limit"]:
        figures.append(_img(plots.memory_map(rows, budget["flash_limit"], budget["ram_limit"], out / "memory.png"),
                            f"Memory map of {board_id}"))
    ticks = {"model": device["model_ticks"] * validation_per_tick(validation)}
    if device["feature_ticks"].any():
        ticks["front-end"] = device["feature_ticks"] * validation_per_tick(validation)
    figures.append(_img(plots.latency(ticks, validation["latency_unit"], out / "latency.png"),
                        "Latency measured on the board"))
    if "features" in device.files:
        examples, titles = _feature_examples(device, metrics, validation["classes"])
        figures.append(_img(plots.features(examples, titles, out / "features.png",
                                           "frame" if app == "kws" else "axis",
                                           "MFCC" if app == "kws" else "band"),
                            "The front-end's int8 features for a few test examples"))
    model = metrics["model"]
    facts = [["parameters", f"{model['parameters']:,}"], ["MACs per inference", f"{model['macs']:,}"],
             ["model file", f"{model['size_bytes']:,} B"], ["TFLM arena", f"{model['tflm_arena_bytes']:,} B"],
             ["tinyml arena", f"{budget['arena']:,} B"],
             ["flash used", f"{sum(r[1] for r in rows):,} of {budget['flash_limit']:,} B"],
             ["RAM used", f"{sum(r[2] for r in rows):,} of {budget['ram_limit']:,} B"],
             ["model latency (median)", f"{validation['latency']['model']['median']:,.0f} {validation['latency_unit']}"],
             ["validation throughput", f"{validation['samples_per_s']:.1f} samples/s"]]
    layer_rows = [[l["index"], l["opcode"], l["kernel"], "x".join(map(str, l["output_shape"])),
                   f"{l['macs']:,}", l["arena_offset"], "yes" if l["in_place"] else ""] for l in layers]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>tinyml report: {html.escape(app)} on {html.escape(board_id)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1.5em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .25em .8em; text-align: left; }}
figure {{ display: inline-block; margin: .5em; vertical-align: top; }}
figcaption {{ font-size: .85em; color: #555; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{html.escape(app)} on {html.escape(board_id)}</h1>
<p>Run <code>{html.escape(run_dir.name)}</code>: {validation['samples']} test samples sent to the board,
{_pct(validation['agreement'])} of them with output bytes identical to TFLite Micro.</p>
<h2>Quality</h2>{_table(quality, ["model", "score"])}
{_evaluations(run_dir, out)}
<h2>Model and board</h2>{_table(facts, ["", ""])}
<h2>Plots</h2>{''.join(figures)}
<h2>Layers</h2>{_table(layer_rows, ["#", "op", "kernel", "output", "MACs", "arena offset", "in place"])}
</body></html>
"""
    path = run_dir / REPORT
    path.write_text(page)
    return path


def validation_per_tick(validation: dict) -> float:
    return float(validation.get("timer_per_tick", 1.0))
