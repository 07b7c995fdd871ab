"""Serial ports of this machine, and which board each one probably is (by USB VID:PID)."""

from __future__ import annotations

from dataclasses import dataclass

from tinyml.boards import Board, list_boards
from tinyml.errors import TinymlError

# USB vendors of boards and their USB-serial bridges: what a port is when no board file claims it.
VENDORS = {
    "2341": "Arduino", "2a03": "Arduino", "303a": "Espressif", "10c4": "Silicon Labs CP210x (ESP32 boards)",
    "1a86": "WCH CH340 (ESP32 and clone boards)", "0403": "FTDI", "2e8a": "Raspberry Pi",
    "0483": "STMicroelectronics (ST-Link)", "1366": "SEGGER J-Link", "0d28": "Arm DAPLink",
}


@dataclass
class PortInfo:
    device: str
    vid_pid: str          # "2341:805a", or "" when not a USB port
    description: str
    boards: list[str]     # board ids whose usb_ids list this VID:PID

    @property
    def vendor(self) -> str:
        return VENDORS.get(self.vid_pid.split(":")[0], "") if self.vid_pid else ""


def list_ports(boards: list[Board] | None = None) -> list[PortInfo]:
    """Every serial port pyserial finds, with its guessed boards."""
    from serial.tools import list_ports as lp

    boards = boards if boards is not None else list_boards()
    found = []
    for port in sorted(lp.comports(), key=lambda p: p.device):
        vid_pid = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None else ""
        found.append(PortInfo(port.device, vid_pid, port.description or "",
                              [b.id for b in boards if vid_pid and vid_pid in b.usb_ids]))
    return found


def find_port(board: Board, ports: list[PortInfo] | None = None) -> str:
    """The one port that looks like `board`; a clear error for none or several."""
    ports = list_ports() if ports is None else ports
    matches = [p for p in ports if board.id in p.boards]
    if len(matches) == 1:
        return matches[0].device
    if not matches:
        seen = ", ".join(f"{p.device} ({p.vid_pid or 'no USB id'})" for p in ports) or "none"
        raise TinymlError(f"no serial port looks like {board.id} ({board.name}, USB ids "
                          f"{', '.join(board.usb_ids) or 'unknown'}); ports found: {seen}. "
                          "Plug it in, or name the port with --port.")
    choices = ", ".join(f"{p.device} ({p.description})" for p in matches)
    raise TinymlError(f"{len(matches)} ports look like {board.id} ({board.name}): {choices}. "
                      "Choose one with --port.")
