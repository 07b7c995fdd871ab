"""Builds a rendered firmware project with PlatformIO and measures it against the board."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tinyml.boards import Board
from tinyml.errors import TinymlError
from tinyml.firmware import budget
from tinyml.firmware.apps import AppFirmware, LiveSettings, prepare_app
from tinyml.firmware.budget import Budget
from tinyml.firmware.render import AppParts, render_project
from tinyml.tools import proc

BUILD_TIMEOUT_S = 900
FLASH_SECTIONS = (".isr_vector", ".text", ".rodata", ".ARM.exidx", ".data")
RAM_SECTIONS = (".data", ".bss", ".noinit", ".stack")


@dataclass
class BuildResult:
    board: Board
    project_dir: Path
    firmware: Path
    build_id: str
    size_output: str = ""
    sections: dict[str, int] = field(default_factory=dict)

    @property
    def flash_used(self) -> int:
        return sum(self.sections.get(s, 0) for s in FLASH_SECTIONS)

    @property
    def ram_used(self) -> int:
        """Static RAM: data, bss and the stack the linker script reserves (AVR: stack not included)."""
        return sum(self.sections.get(s, 0) for s in RAM_SECTIONS)


def parse_size_sysv(output: str) -> dict[str, int]:
    """Section sizes from `size -A -d` (System V format)."""
    sections = {}
    for line in output.splitlines():
        match = re.match(r"^(\.\S+)\s+(\d+)\s+\d+", line)
        if match:
            sections[match.group(1)] = int(match.group(2))
    return sections


def _platform_installed(name: str) -> bool:
    from platformio.package.manager.platform import PlatformPackageManager

    return PlatformPackageManager().get_package(name) is not None


def pio_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "platformio", *args]


def build_firmware(board: Board, out_dir: Path, app: str = "skeleton",
                   parts: AppParts | None = None, build_flags: str = "") -> BuildResult:
    """Renders and builds the firmware for `board` in out_dir (a PlatformIO project)."""
    out_dir = Path(out_dir).resolve()
    build_id = render_project(board, out_dir, app, parts, build_flags)
    if board.needs_internet and not _platform_installed(board.platformio["platform"]):
        raise TinymlError(
            f"rendered the {board.id} project in {out_dir}, but building it needs PlatformIO's "
            f"'{board.platformio['platform']}' platform, which is downloaded on first use: on a "
            f"machine with internet run `pio run -d {out_dir} -t upload`.")
    result = proc.run(pio_command("run", "-d", str(out_dir), "-e", board.env),
                      timeout=BUILD_TIMEOUT_S, what=f"building firmware for {board.id}")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise TinymlError(f"PlatformIO could not build the {board.id} firmware in {out_dir}:\n{tail}")
    program = "program" if board.arch == "host" else "firmware.elf"
    firmware = out_dir / ".pio" / "build" / board.env / program
    built = BuildResult(board=board, project_dir=out_dir, firmware=firmware, build_id=build_id)
    measure(built)
    return built


def measure(built: BuildResult) -> None:
    """Fills in the size tool's figures (`arm-none-eabi-size`, `avr-size`, `size`)."""
    tool = built.board.size_tool
    berkeley = proc.run([tool, "-B", "-d", str(built.firmware)], timeout=60, what="measuring size")
    sysv = proc.run([tool, "-A", "-d", str(built.firmware)], timeout=60, what="measuring size")
    built.size_output = berkeley.stdout.strip()
    built.sections = parse_size_sysv(sysv.stdout)


@dataclass
class AppBuild:
    """An app firmware for one board: its parts, the budget before and after building."""
    firmware: AppFirmware
    estimate: Budget
    project_dir: Path
    build_id: str
    built: BuildResult | None = None  # None when only rendered
    budget: Budget | None = None    # measured from the map file after building


def prepare_within_budget(app: str, run_dir: Path, board: Board, work_dir: Path,
                          live: LiveSettings | None = None,
                          capture: bool = False) -> tuple[AppFirmware, Budget]:
    """The app's parts and their estimated budget; refuses (TinymlError) what cannot fit."""
    firmware = prepare_app(app, run_dir, board, work_dir, live or LiveSettings(), capture=capture)
    estimate = budget.estimate(firmware, board)
    budget.check(estimate)
    return firmware, estimate


def build_app(app: str, run_dir: Path, board: Board, out_dir: Path, render_only: bool = False,
              live: LiveSettings | None = None, capture: bool = False) -> AppBuild:
    """The `app` firmware (kws, vibration) of a training run for `board`: compiles the model,
    checks the memory budget (refusing what cannot fit), renders, and builds unless
    render_only. capture: kws keeps a one-clip buffer for `tinyml capture` (prepare_app)."""
    out_dir = Path(out_dir).resolve()
    firmware, estimate = prepare_within_budget(app, run_dir, board, out_dir / ".tinyml", live, capture)
    if render_only:
        build_id = render_project(board, out_dir, app, firmware.parts)
        return AppBuild(firmware, estimate, out_dir, build_id)
    built = build_firmware(board, out_dir, app, firmware.parts)
    map_file = built.firmware.with_name("program.map" if board.arch == "host" else "firmware.map")
    measured = budget.measured(firmware, board, map_file) if map_file.is_file() else None
    if measured is not None and board.arch != "host":
        budget.check(measured)
    return AppBuild(firmware, estimate, out_dir, built.build_id, built, measured)
