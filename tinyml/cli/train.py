"""`tinyml train`, `tinyml convert`, `tinyml evaluate`: models, their int8 form, their scores."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinyml.errors import TinymlError
from tinyml.train.config import KwsTrainConfig, VibrationTrainConfig, load_config
from tinyml.train.run import read_metrics


def summary(metrics: dict) -> list[str]:
    model = metrics["model"]
    lines = []
    if metrics["app"] == "kws":
        lines.append(f"accuracy      float {metrics['float_acc']:.2%}   int8 TFLite "
                     f"{metrics['int8_tflite_acc']:.2%}   int8 TFLM {metrics['int8_tflm_acc']:.2%}"
                     f"   ({metrics['test_examples']} test clips, unheard voices)")
    else:
        lines.append(f"ROC AUC       float {metrics['float_auc']:.3f}   int8 TFLite "
                     f"{metrics['int8_tflite_auc']:.3f}   int8 TFLM {metrics['int8_tflm_auc']:.3f}")
        if "classifier" in metrics:
            c = metrics["classifier"]
            lines.append(f"classifier    float {c['float_acc']:.2%}   int8 TFLM {c['int8_tflm_acc']:.2%} "
                         f"(normal + 6 fault types, {c['model']['parameters']:,} parameters)")
        lines.append(f"threshold     {metrics['threshold']:.4g}: false alarms "
                     f"{metrics['false_alarm_rate']:.1%}, detection {metrics['detection_rate']:.1%} "
                     f"(by severity {metrics['detection_rate_by_severity']})")
    lines.append(f"TFLM vs TFLite int8 outputs differ on {metrics['tflm_vs_tflite_mismatched_samples']} "
                 "test samples (TFLM is the reference)")
    lines.append(f"model         {model['size_bytes']:,} B .tflite, {model['parameters']:,} parameters, "
                 f"{model['macs']:,} MACs, TFLM arena {model['tflm_arena_bytes']:,} B")
    lines.append("ops           " + ", ".join(f"{k} x{v}" for k, v in model["ops"].items()))
    lines.append(f"time          {metrics['train_convert_s']:.0f} s to train and convert")
    return lines


@click.command("train")
@click.argument("app", type=click.Choice(["kws", "vibration"]))
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="A TOML file of settings (see a run's config.toml); options below override it.")
@click.option("--epochs", type=int)
@click.option("--size", type=click.Choice(["default", "small"]), help="KWS model size.")
@click.option("--seed", type=int)
@click.option("--dataset", help="A dataset folder (e.g. an imported one) instead of the synthetic set.")
@click.option("--runs", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Where run folders go.")
def train_command(app, config_path, epochs, size, seed, dataset, runs) -> None:
    """Train a model, convert it to int8 TFLite, check it in TFLite Micro, and write a run
    folder: model.keras, model_int8.tflite, metrics.json, a PNG (confusion matrix or ROC),
    config.toml.

    \b
    Examples:
      tinyml train kws
      tinyml train kws --size small --epochs 20
      tinyml train vibration --dataset datasets/cache/cwru
    """
    # the config is checked before anything is imported, generated or trained
    if app == "kws":
        cfg = load_config(KwsTrainConfig, config_path, epochs=epochs, size=size, seed=seed, dataset=dataset)
        from tinyml.train import kws as trainer
    else:
        if size:
            raise TinymlError("--size is for kws; the vibration model's size is hidden/bottleneck in --config")
        cfg = load_config(VibrationTrainConfig, config_path, epochs=epochs, seed=seed, dataset=dataset)
        from tinyml.train import vibration as trainer
    run = trainer.train(cfg, runs_root=runs)
    click.secho(f"Run: {run.folder}", bold=True)
    for line in summary(run.metrics):
        click.echo("  " + line)


@click.command("evaluate")
@click.argument("run", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print metrics.json as it is.")
def evaluate_command(run: Path, as_json: bool) -> None:
    """Show a run's metrics: float, TFLite int8 and TFLM int8 side by side."""
    try:
        metrics = read_metrics(run)
    except (OSError, ValueError):
        raise TinymlError(f"{run} has no metrics.json: is it a run folder from `tinyml train`?") from None
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
        return
    click.secho(str(run), bold=True)
    for line in summary(metrics):
        click.echo("  " + line)


@click.command("convert")
@click.argument("run", type=click.Path(path_type=Path, exists=True, file_okay=False))
def convert_command(run: Path) -> None:
    """Check a run's int8 model in TFLite Micro again and print its report (size, parameters,
    MACs, ops, smallest arena). Models TFLM cannot run are refused with the reason."""
    from dataclasses import asdict

    from tinyml.convert.tflite import report

    path = run / "model_int8.tflite"
    if not path.is_file():
        raise TinymlError(f"{run} has no model_int8.tflite: train one with `tinyml train`")
    rep = asdict(report(path.read_bytes()))
    for key, value in rep.items():
        click.echo(f"  {key:<17} {value}")
