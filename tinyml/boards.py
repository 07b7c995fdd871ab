"""Board definitions: one TOML file per board in `boards/` (format in boards/README.md)."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tinyml.errors import TinymlError
from tinyml.paths import BOARDS_DIR


@dataclass(frozen=True)
class Serial:
    baud: int
    rx_buffer: int
    tx_payload: int


@dataclass(frozen=True)
class Memory:
    stack_bytes: int
    flash_origin: int = 0
    ram_origin: int = 0


@dataclass(frozen=True)
class Timer:
    """What the firmware's timer_ticks() counts: `unit` (instructions, us, cycles) per tick."""
    unit: str
    per_tick: str

    @property
    def per_tick_value(self) -> float:
        return float(self.per_tick)


# Ports that keep one record through power-off (the vibration app's calibration), and what they
# keep it in; a board with one gets TINYML_STORE defined.
STORE_PORTS = {"avr_eeprom": "eeprom", "arduino_flash": "flash"}


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    core: str
    arch: str
    clock_hz: int
    flash_bytes: int
    ram_bytes: int
    emulated: bool
    sensors: tuple[str, ...]
    serial: Serial
    memory: Memory
    platformio: dict
    flash: dict
    ports: tuple[str, ...]
    size_tool: str
    timer: Timer
    defines: dict = field(default_factory=dict)
    usb_ids: tuple[str, ...] = ()
    sensors_by_input: dict = field(default_factory=dict)  # "audio"/"motion" -> sensors/ folder

    @property
    def env(self) -> str:
        """The PlatformIO environment that builds this board."""
        return self.platformio["env"]

    @property
    def needs_internet(self) -> bool:
        return bool(self.platformio.get("needs_internet", False))

    @property
    def timer_ps_per_tick(self) -> int:
        """One timer tick in picoseconds: instructions count as 1 ns (QEMU's -icount shift=0)."""
        unit, per_tick = self.timer.unit, self.timer.per_tick_value
        if unit == "instructions":
            return round(per_tick * 1_000)
        if unit == "cycles":
            return round(per_tick * 1e12 / self.clock_hz)
        return round(per_tick * 1_000_000)  # us, emulated-us

    @property
    def store(self) -> str | None:
        """Where the firmware keeps its calibration through power-off ("eeprom", "flash"), or
        None: in RAM until reset."""
        return next((STORE_PORTS[p] for p in self.ports if p in STORE_PORTS), None)

    def sensor_port(self, kind: str) -> str:
        """The sensors/ folder that reads `kind` (audio, motion); "replay" when the board has none."""
        return self.sensors_by_input.get(kind, "replay")

    @property
    def flash_method(self) -> str:
        """qemu, native or platformio: what `tinyml flash` does when given no serial port."""
        return self.flash["method"]

    @property
    def upload_method(self) -> str | None:
        """How the real board is written through a serial port: "platformio", "avrdude" (a
        board that also runs in QEMU when no port is given), or None for emulators only."""
        if self.flash_method == "platformio":
            return "platformio"
        return self.flash.get("upload")


def _parse(path: Path) -> Board:
    try:
        raw = tomllib.loads(path.read_text())
        firmware = raw["firmware"]
        return Board(
            id=path.stem,
            name=raw["name"],
            core=raw["core"],
            arch=raw["arch"],
            clock_hz=int(raw["clock_hz"]),
            flash_bytes=int(raw["flash_bytes"]),
            ram_bytes=int(raw["ram_bytes"]),
            emulated=bool(raw["emulated"]),
            sensors=tuple(raw.get("sensors", ())),
            serial=Serial(**raw["serial"]),
            memory=Memory(**firmware.get("memory", {})),
            platformio=dict(raw["platformio"]),
            flash=dict(raw["flash"]),
            ports=tuple(firmware["ports"]),
            size_tool=firmware["size_tool"],
            timer=Timer(**firmware["timer"]),
            defines={**({"TINYML_STORE": "1"} if set(firmware["ports"]) & set(STORE_PORTS) else {}),
                     **firmware.get("defines", {})},
            usb_ids=tuple(i.lower() for i in raw.get("usb_ids", ())),  # as pyserial's, lower case
            sensors_by_input=dict(firmware.get("sensors", {})),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise TinymlError(f"board file {path} is invalid ({exc!r}); "
                          "see boards/README.md for the format") from None


def board_ids(boards_dir: Path = BOARDS_DIR) -> list[str]:
    return sorted(p.stem for p in boards_dir.glob("*.toml"))


def load_board(board_id: str, boards_dir: Path = BOARDS_DIR) -> Board:
    """The board called `board_id`, or an error that lists the known ones."""
    path = boards_dir / f"{board_id}.toml"
    if not path.is_file():
        known = board_ids(boards_dir)
        close = difflib.get_close_matches(board_id, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise TinymlError(f"unknown board '{board_id}'.{hint} Known boards: {', '.join(known)} "
                          "(`tinyml boards` describes them).")
    return _parse(path)


def list_boards(boards_dir: Path = BOARDS_DIR) -> list[Board]:
    return [load_board(b, boards_dir) for b in board_ids(boards_dir)]
