"""`tinyml capture`: raw sensor data from a board into a dataset folder (a data forwarder)."""

from pathlib import Path

import click

from tinyml.link import open_device


@click.command("capture")
@click.option("--port", "-p", required=True,
              help="pyserial URL of the board running a kws or vibration firmware: /dev/ttyACM0, "
                   "socket://127.0.0.1:PORT (an emulated board), rfc2217://...")
@click.option("--label", "-l", required=True,
              help="What is recorded: a word (yes, _unknown_) or a vibration class (normal, outer_race ...).")
@click.option("--count", "-n", type=int, help="kws: this many one-second clips of the label.")
@click.option("--seconds", "-s", type=float, help="vibration: this many seconds of recording.")
@click.option("--out", "-o", "folder", type=click.Path(path_type=Path), default=Path("datasets/captured"),
              show_default=True, help="The dataset folder; the same command again resumes it.")
@click.option("--speaker", default="me", show_default=True,
              help="kws: who speaks (the Speech Commands speaker id: letters and digits).")
@click.option("--machine", default="machine", show_default=True,
              help="vibration: which machine (part of the file names; letters and digits).")
@click.option("--segment-seconds", type=float, default=10.0, show_default=True,
              help="vibration: seconds per recording file.")
@click.option("--pause", type=float, default=1.0, show_default=True,
              help="kws: seconds before each clip, to say the word again.")
@click.option("--baud", default=115200, show_default=True)
@click.option("--timeout", default=2.0, show_default=True, help="Seconds to wait for each answer.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(port: str, label: str, count: int | None, seconds: float | None, folder: Path, speaker: str,
            machine: str, segment_seconds: float, pause: float, baud: int, timeout: float,
            no_progress: bool) -> None:
    """Record the board's own sensor into the --out folder, in the layouts the importers
    read: one-second clips as Speech Commands folders (kws firmware), recordings as CSV files
    that `tinyml datasets import capture` cuts in time (vibration firmware). Every file's
    sha256 is kept in the folder's capture.json; running the same command again captures only
    what is missing.

    \b
    Examples:
      tinyml capture --port /dev/ttyACM0 --label yes --count 20
      tinyml capture --port /dev/ttyACM0 --label _unknown_ --count 50 --speaker anna
      tinyml capture --port /dev/ttyUSB0 --label normal --seconds 60 --machine pump1
      tinyml datasets import capture datasets/captured -o datasets/cache/pump1
    """
    from tinyml.datasets.capture import capture

    with open_device(port, baud=baud, timeout=timeout) as device:
        result = capture(device, folder, label, count=count, seconds=seconds, speaker=speaker, machine=machine,
                         segment_seconds=segment_seconds, pause_s=pause, progress=not no_progress)
    unit = "clips" if result.kind == "kws" else "s"
    again = f", {result.recaptured} damaged or missing captured again" if result.recaptured else ""
    click.echo(f"{label}: {result.done:.4g} {unit} in {folder} ({len(result.new_files)} new file(s), "
               f"{result.kept} kept{again})")
    if result.kind == "vibration" and result.pieces > len(result.new_files):
        click.echo(f"  the link was slower than the sensor: the new recordings are {result.pieces} pieces of "
                   "whole windows with gaps between them (a faster baud rate or native USB makes them whole)")
