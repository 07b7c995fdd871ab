"""Serial ports of this machine, which board each one probably is (by USB VID:PID), and the
check of a port URL before pyserial opens it."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from tinyml.boards import Board, list_boards
from tinyml.errors import TinymlError

# USB vendors of boards and their USB-serial bridges: what a port is when no board file claims it.
VENDORS = {
    "2341": "Arduino", "2a03": "Arduino", "303a": "Espressif", "10c4": "Silicon Labs CP210x (ESP32 boards)",
    "1a86": "WCH CH340 (ESP32 and clone boards)", "0403": "FTDI", "2e8a": "Raspberry Pi",
    "0483": "STMicroelectronics (ST-Link)", "1366": "SEGGER J-Link", "0d28": "Arm DAPLink",
}


URL_FORMS = ("Accepted forms: /dev/ttyACM0 or COM3 (a serial device), socket://HOST:PORT (an "
             "emulator's UART over TCP), rfc2217://HOST:PORT (a serial port shared over the network).")
PYSERIAL_SCHEMES = ("socket", "rfc2217", "loop", "spy", "alt", "hwgrep", "cp2110")
LOG_LEVELS = ("debug", "info", "warning", "error")
URL_OPTIONS = {"socket": {"logging"}, "rfc2217": {"logging", "ign_set_control", "poll_modem", "timeout"}}


def _url_problem(url: str) -> str | None:
    """What is wrong with a network URL, in words; None for a fine one or a device path
    (opening a path says whether it exists)."""
    if "://" not in url:
        return None
    scheme = url.split("://", 1)[0]
    if scheme not in PYSERIAL_SCHEMES:
        return f"pyserial knows no '{scheme}://' URLs"
    if scheme not in URL_OPTIONS:
        return None
    parts = urllib.parse.urlsplit(url)
    host, colon, port = parts.netloc.rpartition(":")
    if not colon:
        return "it has no port: add :PORT after the host"
    if not host:
        return f"it has no host before :{port}"
    if not (port.isdigit() and 0 < int(port) < 65536):
        return f"the port after the host must be a number from 1 to 65535, not {port!r}"
    if parts.path:
        return f"a {scheme}:// URL has no path ({parts.path!r})"
    for key, values in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items():
        if key not in URL_OPTIONS[scheme]:
            return (f"a {scheme}:// URL takes the options {', '.join(sorted(URL_OPTIONS[scheme]))}, "
                    f"not {key!r}")
        if key == "logging" and any(value not in LOG_LEVELS for value in values):
            return f"'logging' must be one of {', '.join(LOG_LEVELS)}"
    return None


def check_url(url: str) -> None:
    """Refuses a malformed port URL in one line, before pyserial does so with the text of its
    internals (`socket://host:abc` gives "'debug|info|warning|error'")."""
    problem = _url_problem(url)
    if problem:
        raise TinymlError(f"the serial port URL {url} is malformed: {problem}. {URL_FORMS}")


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
