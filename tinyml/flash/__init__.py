"""Stage 7: flash. Puts a firmware on a board: PlatformIO upload for real boards (avrdude for
the Arduino Mega, `avrdude.py`), QEMU or a host process for emulated ones (which then stay
running, serving their UART at a URL)."""

from tinyml.flash.emulator import RunningBoard, start_board
from tinyml.flash.upload import check_port, upload

__all__ = ["RunningBoard", "check_port", "start_board", "upload"]
