"""`tinyml validate`: the run's test split through the board, checked byte for byte."""

import sys
from pathlib import Path

import click

from tinyml.boards import load_board
from tinyml.validate import validate

EXIT_DISAGREES = 3  # 1 is any TinymlError (tinyml.cli.main), 2 a usage error (click)


@click.command("validate")
@click.option("--run", "-r", "run_dir", required=True, type=click.Path(path_type=Path, exists=True),
              help="Training run folder (runs/kws-... or runs/vibration-...).")
@click.option("--board", "-b", "board_id", required=True, help="Board id, from `tinyml boards`.")
@click.option("--port", "-p", help="A running board's pyserial URL (/dev/ttyACM0, "
              "socket://127.0.0.1:PORT). Emulated boards: omit it and tinyml starts them. Real "
              "boards: omit it when `tinyml ports` shows exactly one.")
@click.option("--limit", "-n", type=int, help="Validate this many test samples, spread over the "
              "split [default: all].")
@click.option("--raw", is_flag=True, help="Send raw sensor windows through the device's own "
              "front-end (slower: 32 KB per KWS clip) instead of the int8 features.")
@click.option("--jobs", "-j", type=int, help="Emulated boards: instances run side by side "
              "[default: 3 for QEMU].")
@click.option("--min-agreement", default=1.0, show_default=True, type=click.FloatRange(0, 1),
              help="Exit with 3 when fewer samples than this have output bytes identical to TFLM.")
@click.option("--flash", "do_flash", is_flag=True, help="Real boards: upload the app first.")
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Report folder "
              "[default: RUN/validate-BOARD].")
def command(run_dir: Path, board_id: str, port: str | None, limit: int | None, raw: bool,
            jobs: int | None, min_agreement: float, do_flash: bool, out: Path | None) -> None:
    """Send the run's test split through the board and compare every output with TFLite Micro.

    Reports the share of samples whose int8 outputs are byte for byte TFLM's (the first
    mismatch is saved for debugging), the accuracy (kws) or AUC and alarm rates (vibration)
    on the device, the device's own latency per stage, throughput and memory, as JSON and
    HTML. Refuses a device whose model is not the run's. A validation that stops early keeps
    a partial report, and the next one with the same options resumes from its samples.

    \b
    Examples:
      tinyml validate --run runs/kws-20261122-071513 --board emu-cortex-m4 --limit 500
      tinyml validate --run runs/vibration-... --board nano33ble --port /dev/ttyACM0 --flash

    \b
    Exit codes:
      0  every sample validated, agreement at least --min-agreement
      1  the board, its link or an input failed (a partial report is kept; run again to resume)
      2  usage error: a missing or invalid option
      3  agreement below --min-agreement: the board disagrees with TFLM
    """
    board = load_board(board_id)
    result = validate(run_dir, board, port=port, limit=limit, raw=raw, jobs=jobs, out_dir=out,
                      flash=do_flash)
    s = result.summary
    click.echo(f"{s['samples']} samples on {board.id} ({s['input']} in), {s['samples_per_s']:.1f} "
               f"samples/s: {s['agreement']:.2%} identical to TFLM ({s['mismatched_samples']} differ)")
    if s["app"] == "kws":
        click.echo(f"accuracy on the device {s['device_accuracy']:.2%} (host int8 "
                   f"{s['host_accuracy']:.2%})")
    else:
        click.echo(f"AUC on the device {s['device_auc']:.4f}; at threshold {s['threshold']:.4g}: "
                   f"false alarms {s['false_alarm_rate']:.2%}, detection {s['detection_rate']:.2%}"
                   + (f" (normalised: {s['normalised']})" if s.get("normalised") else ""))
    for stage, stats in s["latency"].items():
        click.echo(f"latency {stage:<9}{stats['min']:>14,.0f} min {stats['median']:>14,.0f} median "
                   f"{stats['max']:>14,.0f} max ({s['latency_unit']})")
    for event in s["link"]["events"]:
        click.echo(f"note: {event}")
    click.echo(f"Report: {result.html} (and {result.json.name})")
    if result.first_mismatch:
        click.echo(f"First mismatching sample saved to {result.first_mismatch}")
    if s["agreement"] < min_agreement:
        click.secho(f"Agreement {s['agreement']:.2%} is below --min-agreement {min_agreement:.2%}.",
                    fg="red", err=True)
        sys.exit(EXIT_DISAGREES)
