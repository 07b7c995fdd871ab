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
                     f"   ({metrics['test_examples']} test clips)")
        if "trained_on" in metrics:
            lines.append(f"data          trained on {metrics['trained_on']}; tested on "
                         f"{metrics['tested_on']}")
    else:
        lines.append(f"ROC AUC       float {metrics['float_auc']:.3f}   int8 TFLite "
                     f"{metrics['int8_tflite_auc']:.3f}   int8 TFLM {metrics['int8_tflm_auc']:.3f}")
        if "classifier" in metrics:
            c = metrics["classifier"]
            lines.append(f"classifier    float {c['float_acc']:.2%}   int8 TFLM {c['int8_tflm_acc']:.2%} "
                         f"(normal + 6 fault types, {c['model']['parameters']:,} parameters)")
            if "fault_type_acc" in c:
                lines.append(f"fault type    {c['fault_type_acc']:.2%} of {c['fault_type_alarms']} test alarms named "
                             f"right (3 windows' outputs summed, as the board does; one window: "
                             f"{c['fault_type_window_acc']:.2%})")
        lines.append(f"threshold     {metrics['threshold']:.4g}: false alarms "
                     f"{metrics['false_alarm_rate']:.1%}, detection {metrics['detection_rate']:.1%} "
                     f"(by severity {metrics['detection_rate_by_severity']})")
        if "normal_level" in metrics:
            lines.append("machines      test machines unseen in training, each normalised by its own normal "
                         "windows; a board needs `tinyml calibrate` on its machine for these figures")
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
@click.option("--dataset", help="A dataset folder (e.g. an imported one), or `speech-commands` once "
              "downloaded, instead of the synthetic set.")
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
      tinyml train kws --dataset speech-commands   # after `tinyml datasets download speech-commands`
    """
    # the config is checked before anything is imported, generated or trained
    if dataset is not None:
        from tinyml.datasets.download import dataset_folder

        dataset = str(dataset_folder(dataset, app))
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


def evaluation_lines(result: dict) -> list[str]:
    """Accuracy, keyword accuracy, false accepts, per class, and the confusion matrix."""

    def pct(v) -> str:
        return "-" if v is None else f"{v:.2%}"

    classes = result["classes"]
    lines = [f"accuracy      {pct(result['accuracy'])} of {result['clips']} clips (split {result['split']} "
             f"of {result['dataset']})",
             f"keywords      {pct(result['keyword_accuracy'])} of {result['keyword_clips']} keyword clips",
             f"false accepts {pct(result['false_accept_rate'])}: {result['false_accepts']} of "
             f"{result['non_keyword_clips']} _silence_/_unknown_ clips taken for a keyword"]
    per_class = [f"{c} {pct(result['per_class_accuracy'][c])}" for c in classes]
    for i in range(0, len(per_class), 6):
        lines.append(("per class     " if i == 0 else " " * 14) + "  ".join(per_class[i:i + 6]))
    short = [{"_silence_": "sil", "_unknown_": "unk"}.get(c, c) for c in classes]
    lines += ["confusion (rows: true class, columns: predicted)",
              " " * 10 + "".join(f"{c:>6}" for c in short)]
    lines += [f"{c:<10}" + "".join(f"{v:>6}" for v in row) for c, row in zip(classes, result["confusion"])]
    return lines


@click.command("evaluate")
@click.argument("run", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--dataset", help="Score the run's int8 model (in TFLite Micro) on this: a tinyml dataset "
              "folder, a Speech Commands folder (a folder per word, as published), or "
              "speech-commands / speech-commands-test once downloaded.")
@click.option("--split", type=click.Choice(["test", "all"]), help="With --dataset: its test split or all "
              "its clips [default: the test split of a dataset that has one, else all].")
@click.option("--json", "as_json", is_flag=True, help="Print metrics.json (with --dataset: the "
              "evaluation) as it is.")
def evaluate_command(run: Path, dataset: str | None, split: str | None, as_json: bool) -> None:
    """Show a run's metrics: float, TFLite int8 and TFLM int8 side by side. With --dataset,
    score its int8 model in TFLite Micro, through the run's own front-end, on other data:
    accuracy, per class, the confusion matrix and the false accepts (_silence_ and _unknown_
    clips taken for a keyword), written to RUN/evaluations/<dataset>.json, where the run's
    report shows it.

    \b
    Examples:
      tinyml evaluate runs/kws-20250101-120000
      tinyml evaluate runs/kws-20250101-120000 --dataset speech-commands-test
      tinyml evaluate runs/kws-20250101-120000 --dataset ~/speech_commands_v0.02 --split all
    """
    if dataset is not None:
        from tinyml.train.evaluate import evaluate_on

        result = evaluate_on(run, dataset, split, progress=not as_json)
        if as_json:
            click.echo(json.dumps(result, indent=2))
            return
        click.secho(f"{run} on {result['path']}", bold=True)
        for line in evaluation_lines(result):
            click.echo("  " + line)
        click.echo(f"Wrote {result['file']}")
        return
    if split is not None:
        raise TinymlError("--split is for --dataset: the run's own metrics are on its test split")
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
