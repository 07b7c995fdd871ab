"""`tinyml stream`: the device's always-listening loop on a recording, on the host."""

from pathlib import Path

import click

from tinyml.errors import TinymlError


@click.command("stream")
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("wav", type=click.Path(path_type=Path))
@click.option("--every", type=int, default=2, show_default=True,
              help="Run the model every this many 20 ms hops.")
@click.option("--average", type=int, default=3, show_default=True,
              help="Inferences whose outputs make a keyword's score.")
@click.option("--refractory-ms", type=int, default=1000, show_default=True,
              help="Nothing fires for this long after a detection.")
@click.option("--threshold", type=float, default=0.7, show_default=True,
              help="Every keyword's threshold, as a mean probability.")
@click.option("--target-fa-per-hour", type=float,
              help="Instead of --threshold: per-keyword thresholds chosen on the run's validation "
                   "split for at most this many false accepts per hour.")
@click.option("--dataset", type=click.Path(path_type=Path),
              help="Choose thresholds on this dataset's validation split [default: the run's].")
def command(run: Path, wav: Path, every: int, average: int, refractory_ms: int, threshold: float,
            target_fa_per_hour: float | None, dataset: Path | None) -> None:
    """Print what the device would detect on WAV (16-bit mono at the model's rate), with the
    time each detection fires: the streaming front-end, the model in TFLite Micro, the
    integer detector the firmware runs.

    \b
    Examples:
      tinyml stream runs/kws-... speech.wav
      tinyml stream runs/kws-... speech.wav --every 4 --target-fa-per-hour 1
    """
    from tinyml.datasets.audio import read_wav
    from tinyml.stream import DetectConfig, StreamModel, choose_thresholds, simulate
    from tinyml.stream.detect import IGNORED_CLASSES, probability_of

    if not 0.0 < threshold <= 1.0:
        raise TinymlError(f"--threshold {threshold} is not a probability: give one in (0, 1]")
    if target_fa_per_hour is not None and target_fa_per_hour < 0:
        raise TinymlError(f"--target-fa-per-hour {target_fa_per_hour} is negative: give 0 or more")
    config = DetectConfig(every=every, average=average, refractory_ms=refractory_ms)
    model = StreamModel.load(run)
    audio = read_wav(wav, model.spec.sample_rate)
    thresholds = model.default_thresholds(config, threshold)
    if target_fa_per_hour is not None:
        choice = choose_thresholds(model, config, target_fa_per_hour, dataset)
        thresholds, v = choice.thresholds, choice.validation
        shown = ", ".join(f"{c}>={probability_of(t, average, model.scale):.3f}"
                          for c, t in zip(model.classes, thresholds) if c not in IGNORED_CLASSES)
        click.echo(f"Thresholds for {target_fa_per_hour:g} false accepts/hour: {shown}")
        click.echo(f"  on {v.hours * 3600:.0f} s of validation clips: {v.false_accepts_per_hour:.1f} "
                   f"false accepts/hour, {v.misses} of {v.keywords} keywords missed")
    result = simulate(model, audio, config, thresholds)
    for detection in result.detections:
        click.echo(detection.line())
    hop_ms = model.spec.stride * 1000 // model.spec.sample_rate
    click.echo(f"{len(result.detections)} detection(s) in {result.duration_ms / 1000:.3f} s of audio: "
               f"{len(result.hops)} inferences, one every {every * hop_ms} ms")
