"""`tinyml info`: ask a running firmware who it is."""

import click

from tinyml.link import open_device


@click.command("info")
@click.option("--port", "-p", required=True,
              help="pyserial URL of the board: /dev/ttyACM0, socket://127.0.0.1:PORT, rfc2217://...")
@click.option("--baud", default=115200, show_default=True)
@click.option("--timeout", default=2.0, show_default=True, help="Seconds to wait for each answer.")
def command(port: str, baud: int, timeout: float) -> None:
    """Print what the firmware on PORT says about itself: protocol, firmware version, board,
    build id, app, buffer sizes.

    \b
    Example:
      tinyml info --port socket://127.0.0.1:4321
    """
    with open_device(port, baud=baud, timeout=timeout) as device:
        info = device.info()
        for key, value in info.items():
            click.echo(f"{key:<10} {value}")
        if info.get("app") == "vibration" and info.get("protocol") == "1":
            from tinyml.calibrate import device_state
            from tinyml.errors import DeviceError, TinymlError

            try:
                state = device_state(device)
            except DeviceError:
                raise
            except TinymlError:  # firmware from before calibration
                click.echo(f"{'calibrated':<10} cannot be: rebuild and flash this firmware")
                return
            said = {0: "no (built-in levels)", 1: "yes", 2: "on trial (not stored)"}.get(state.state, "?")
            click.echo(f"{'calibrated':<10} {said}, "
                       f"threshold {state.threshold:.6g}")
