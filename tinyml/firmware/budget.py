"""The memory budget of an app firmware: flash and RAM by part, against the board's limits.

Before building, `estimate` adds up what the parts are known to need (model weights and arena
from the compiler, the app's buffers, the link's buffers, the board's stack, and a typical
code size), so a firmware that cannot fit is refused before a long build. After building,
`measured` reads the same parts off the linker's map file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tinyml.boards import Board, list_boards
from tinyml.errors import TinymlError
from tinyml.firmware.apps import AppFirmware
from tinyml.firmware.mapfile import object_sizes

# Code of the kernels, front-end, link and start-up, measured on the emulated builds and rounded
# up; boards on an Arduino core add the core (ARDUINO_CORE_BYTES).
TYPICAL_CODE_BYTES = {"arm": 16_000, "avr": 24_000, "host": 0, "xtensa": 64_000}
# (flash, RAM) of the Arduino core itself: on AVR, Debian's core 1.8.7 as linked into the
# megaatmega2560 firmware (main(), init() and the Timer0 clock, HardwareSerial, Print: 1,518 B of
# flash and 184 B of RAM with its default 64-byte Serial rings, read off the vibration app's
# map), rounded up; a board's build_flags that enlarge the rings add their bytes. Other cores
# (ESP32, mbed, RP2040) are not built here, so their RAM is a generous guess.
ARDUINO_CORE_BYTES = {"avr": (2_048, 256)}
ARDUINO_CORE_DEFAULT = (0, 24_000)
AVR_SERIAL_RINGS = {"SERIAL_RX_BUFFER_SIZE": 64, "SERIAL_TX_BUFFER_SIZE": 64}  # the core's defaults
# The library PlatformIO compiles the framework's core into (its objects, in the map file).
ARDUINO_CORE_LIBRARY = "libFrameworkArduino.a("


@dataclass
class Budget:
    board: Board
    app: str
    rows: list[tuple[str, int, int]] = field(default_factory=list)  # (part, flash, RAM)
    measured: bool = False

    @property
    def flash(self) -> int:
        return sum(r[1] for r in self.rows)

    @property
    def ram(self) -> int:
        return sum(r[2] for r in self.rows)

    def fits(self) -> bool:
        return self.flash <= self.board.flash_bytes and self.ram <= self.board.ram_bytes

    def table(self) -> str:
        """The budget as a table a person reads before flashing."""
        kind = "measured from the linker map" if self.measured else "estimated before building"
        lines = [f"Memory budget of {self.app} on {self.board.id} ({kind}):",
                 f"  {'part':<22}{'flash':>10}{'RAM':>10}"]
        for part, flash, ram in self.rows:
            lines.append(f"  {part:<22}{flash:>10,}{ram:>10,}")
        lines.append(f"  {'total':<22}{self.flash:>10,}{self.ram:>10,}")
        if self.board.arch != "host":
            lines.append(f"  {'board':<22}{self.board.flash_bytes:>10,}{self.board.ram_bytes:>10,}"
                         f"   ({100 * self.flash / self.board.flash_bytes:.1f}% flash, "
                         f"{100 * self.ram / self.board.ram_bytes:.1f}% RAM)")
        return "\n".join(lines)


def _link_ram(board: Board) -> int:
    """Receive buffer and reply payload (tinyml_device.c; replies are encoded straight to the port)."""
    return board.serial.rx_buffer + board.serial.tx_payload


def estimate(firmware: AppFirmware, board: Board) -> Budget:
    compiled = firmware.compiled
    rows = [("model weights", compiled.weights_bytes, 0),
            ("model arena", 0, firmware.arena_bytes),
            ("app buffers", 0, sum(firmware.buffers.values())),
            ("front-end tables", _frontend_table_bytes(firmware), 0),
            ("serial link", 0, _link_ram(board)),
            ("stack", 0, board.memory.stack_bytes),
            ("code (typical)", TYPICAL_CODE_BYTES.get(board.arch, 32_000), 0)]
    if firmware.classifier is not None:
        rows.insert(1, ("classifier weights", firmware.classifier.weights_bytes, 0))
    if "arduino" in board.ports:
        rows.append(("Arduino core", *arduino_core_bytes(board)))
    if firmware.replay_bytes:
        rows.insert(4, ("replay recording", firmware.replay_bytes, 0))
    return Budget(board, firmware.app, rows)


def arduino_core_bytes(board: Board) -> tuple[int, int]:
    """(flash, RAM) the board's Arduino core is expected to take, its Serial rings included."""
    flash, ram = ARDUINO_CORE_BYTES.get(board.arch, ARDUINO_CORE_DEFAULT)
    if board.arch == "avr":
        for flag in board.platformio.get("build_flags", []):
            name, _, value = flag.removeprefix("-D").partition("=")
            if name in AVR_SERIAL_RINGS and value.isdigit():
                ram += int(value) - AVR_SERIAL_RINGS[name]
    return flash, ram


def _frontend_table_bytes(firmware: AppFirmware) -> int:
    spec = firmware.spec
    if firmware.app == "kws":
        floats = spec.window + spec.fft + spec.mel_bands * spec.coefficients + (spec.fft // 2 + 1)
        return 4 * floats + 4 * spec.mel_bands
    return 4 * (spec.window + spec.fft)


def check(budget: Budget) -> None:
    """Refuses a firmware that does not fit its board, naming the boards it would fit."""
    if budget.fits():
        return
    board = budget.board
    over = []
    if budget.ram > board.ram_bytes:
        over.append(f"{budget.ram:,} B of RAM where {board.id} has {board.ram_bytes:,}")
    if budget.flash > board.flash_bytes:
        over.append(f"{budget.flash:,} B of flash where {board.id} has {board.flash_bytes:,}")
    biggest = sorted(budget.rows, key=lambda r: -(r[2] if budget.ram > board.ram_bytes else r[1]))[:3]
    parts = ", ".join(f"{p} {(r if budget.ram > board.ram_bytes else f):,} B" for p, f, r in biggest)
    fitting = [b.id for b in list_boards() if b.flash_bytes >= budget.flash and b.ram_bytes >= budget.ram]
    where = (f"It fits {', '.join(fitting)}." if fitting else "No known board has room for it.")
    hint = ""
    without_model = budget.ram - sum(r for part, _, r in budget.rows if part.startswith("model"))
    if budget.app == "kws" and without_model > board.ram_bytes:
        hint = (f" No keyword model fits it: the rest of the firmware alone needs {without_model:,} B "
                f"of RAM. Boards this small can run the vibration app.")
    elif budget.app == "kws":
        hint = (" A smaller model may fit: `tinyml train kws --size small`; boards with little "
                "RAM can run the vibration app.")
    raise TinymlError(f"the {budget.app} firmware does not fit {board.id}: it needs "
                      f"{' and '.join(over)} (largest parts: {parts}). {where}{hint}")


def measured(firmware: AppFirmware, board: Board, map_file: Path) -> Budget:
    """The budget read off the linked firmware's map file. Every byte the linker placed counts,
    so on AVR the totals are avr-size's (flash: .text + .data, RAM: .data + .bss) plus the stack."""
    sizes = object_sizes(map_file, rodata_in_ram=board.arch == "avr")
    rows: dict[str, list[int]] = {}

    def add(part: str, flash: int, ram: int) -> None:
        row = rows.setdefault(part, [0, 0])
        row[0] += flash
        row[1] += ram

    for obj, s in sizes.items():
        text, rodata, data, bss = (s.get(k, 0) for k in ("text", "rodata", "data", "bss"))
        if obj == "model.o":
            add("model weights", rodata + data, data)
            add("model code", text, 0)
            add("model arena", 0, bss)
        elif obj == "classifier.o":
            add("classifier weights", rodata + data, data)
            add("model code", text, bss)
        elif obj == "tm_shared_arena.o":
            add("model arena", 0, data + bss)
        elif obj.startswith("tm_frontend"):
            add("front-end", text + rodata + data, data + bss)
        elif obj.startswith("tm_"):
            add("model code", text + rodata + data, data + bss)
        elif obj.startswith("app_"):
            add("app", text + rodata + data, data + bss)
        elif obj.startswith("sensor_replay"):
            add("replay recording", text + rodata + data, data + bss)
        elif obj.startswith(ARDUINO_CORE_LIBRARY):
            add("Arduino core", text + rodata + data, data + bss)
        elif obj.startswith(("tinyml_", "sensor_", "port_", "timer_", "startup_", "crt")) \
                or obj == "linker stubs":
            add("runtime and link", text + rodata + data, data + bss)
        else:
            add("C library", text + rodata + data, data + bss)
    add("stack", 0, board.memory.stack_bytes)
    return Budget(board, firmware.app, [(k, v[0], v[1]) for k, v in rows.items()], measured=True)
