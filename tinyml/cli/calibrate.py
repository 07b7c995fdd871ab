"""`tinyml calibrate`: fit a vibration model to the machine a board is bolted to."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from tinyml.errors import TinymlError


def _recording_windows(path: Path, spec, seconds: float) -> tuple[np.ndarray, str]:
    from tinyml.calibrate import windows_of
    from tinyml.datasets.capture import read_recording

    frames, rate, g = read_recording(path)
    if rate != spec.sample_rate or np.float32(g) != np.float32(spec.g_per_count):
        raise TinymlError(f"{path} was recorded at {rate} Hz, {g:g} g per count; the model takes "
                          f"{spec.sample_rate} Hz, {spec.g_per_count:g} g per count: record it with the "
                          "board and sensor the model was trained for")
    frames = frames[:int(seconds * rate)]
    return windows_of(frames, spec.axes, spec.window), f"{len(frames) / rate:.4g} s of {path.name}"


@click.command("calibrate")
@click.option("--run", "run_dir", type=click.Path(path_type=Path),
              help="The vibration training run the board's firmware was built from (runs/vibration-...). "
                   "Needed without --port; with it, checked to be the model on the board.")
@click.option("--port", "-p", help="pyserial URL of the board running the vibration firmware: the "
                                   "calibration runs through its front-end and model and is stored there.")
@click.option("--recording", type=click.Path(path_type=Path, dir_okay=False),
              help="A recording of the machine running normally (a `tinyml capture` CSV) instead of "
                   "the board's sensor.")
@click.option("--seconds", type=float, default=60.0, show_default=True,
              help="Seconds of normal running to calibrate on (the first of the recording).")
@click.option("--false-alarm-rate", type=float, default=0.01, show_default=True,
              help="The share of normal windows allowed above the threshold.")
@click.option("--out", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the calibration here as JSON [default: RUN/calibration.json with --run].")
@click.option("--baud", default=115200, show_default=True)
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for each answer.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def command(run_dir: Path | None, port: str | None, recording: Path | None, seconds: float,
            false_alarm_rate: float, out: Path | None, baud: int, timeout: float, no_progress: bool) -> None:
    """Fit the vibration model to one machine without retraining: SECONDS of it running
    normally give each feature's normal level and the alarm threshold for the false-alarm
    rate. The model stays the one trained on simulation.

    With --port the board does the work (its front-end, its model, its scores) on its own
    sensor, or on --recording sent to it, and keeps the result: in EEPROM on an Arduino Mega,
    in flash on the Nano 33 BLE, ESP32 and Pico, in RAM until reset on emulated boards.
    `tinyml info` shows it. Without --port the host does the same with the bit-identical
    Python front-end and TFLM, for --run and --recording, and prints the calibrate() call for
    an exported Arduino library.

    \b
    Examples:
      tinyml calibrate --port /dev/ttyACM0 --seconds 60
      tinyml calibrate --port socket://127.0.0.1:4321 --recording normal_0.csv
      tinyml calibrate --run runs/vibration-... --recording datasets/captured/normal/pump1_0.csv
    """
    from tinyml.calibrate import calibrate_on_device, calibrate_on_host, windows_of
    from tinyml.firmware.apps import frontend_spec, read_run

    if not seconds > 0:
        raise TinymlError(f"--seconds {seconds:g}: give more than 0")
    if not 0.0 < false_alarm_rate < 1.0:
        raise TinymlError(f"--false-alarm-rate {false_alarm_rate:g} is not in (0, 1): give e.g. 0.01")
    if port is None and (run_dir is None or recording is None):
        raise TinymlError("without --port, calibration runs on the host: give --run RUN and --recording FILE")
    metrics = read_run(run_dir, "vibration") if run_dir is not None else None
    if out is None and run_dir is not None:
        out = Path(run_dir) / "calibration.json"
    if port is None:
        spec = frontend_spec("vibration", metrics)
        raw, source = _recording_windows(recording, spec, seconds)
        cal = calibrate_on_host(run_dir, raw, false_alarm_rate, source)
        where = "on the host"
    else:
        from tinyml.datasets.capture import record
        from tinyml.features.spec import SpectrumSpec
        from tinyml.link import open_device

        with open_device(port, baud=baud, timeout=timeout) as device:
            info = device.info()
            if info.get("app") != "vibration":
                raise TinymlError(f"the firmware at {port} is the {info.get('app') or 'unknown'} app: calibration "
                                  "is for vibration firmware (`tinyml flash --app vibration --run RUN`)")
            if run_dir is not None:
                from tinyml.validate.hil import model_hash

                if info.get("model") != model_hash(run_dir):
                    raise TinymlError(f"the board at {port} runs model {info.get('model')}, not {run_dir}'s "
                                      f"({model_hash(run_dir)}): flash that run, or give the run it was built from")
            spec = frontend_spec("vibration", metrics) if metrics else SpectrumSpec(
                axes=int(info.get("axes", 3)), window=int(info.get("window", 256)))
            if recording is not None:
                raw, source = _recording_windows(recording, spec, seconds)
            else:
                frames, pieces, rate, _ = record(device, seconds)
                starts = np.cumsum([0] + pieces[:-1])
                raw = np.concatenate([windows_of(frames[s:s + n], spec.axes, spec.window)
                                      for s, n in zip(starts, pieces)] or [np.zeros((0, spec.axes, spec.window))])
                source = f"{len(frames) / rate:.4g} s of the board's sensor"
            cal = calibrate_on_device(device, raw.astype(np.int16), false_alarm_rate, source,
                                      progress=not no_progress)
        store = {"eeprom": "EEPROM", "flash": "flash"}.get(info.get("calibration", ""))
        where = (f"on the board at {port}, stored in its {store} (kept through resets and power-off)" if store else
                 f"on the board at {port}, kept in its RAM (until reset or power-off: calibrate again then)")
    click.echo(f"calibrated {where}: {cal.windows} windows ({cal.source}), threshold {cal.threshold:.6g} "
               f"for {false_alarm_rate:g} false alarms")
    if out is not None:
        cal.save(out)
        click.echo(f"wrote {out}")
    if port is None:
        click.echo("for an exported Arduino library:\n"
                   f"  static const int16_t levels[{len(cal.levels)}] = {{{', '.join(map(str, cal.levels))}}};\n"
                   f"  detector.calibrate(levels, {float(np.float32(cal.threshold))!r}f);")
