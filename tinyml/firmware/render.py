"""Renders a complete PlatformIO project for one board from firmware_templates/.

Files ending in .j2 are Jinja2 templates, rendered with the board and build settings; every
other file is copied as is. Shared code comes from src/, the app from apps/<app>/, the board's
port layers from ports/<name>/ and its sensor driver from sensors/<name>/. The build id is a hash of the rendered sources, so identical inputs give
identical firmware and `tinyml info` can tell which build a board runs.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from tinyml import __version__
from tinyml.boards import Board
from tinyml.paths import PIO_PLATFORM_DIR, TEMPLATES_DIR

# What each app is made of, besides the board's ports (paths relative to firmware_templates/).
APP_SOURCES = {
    "skeleton": ["src/*", "apps/skeleton/*"],
    "kws": ["src/*", "apps/kws/*"],
    "vibration": ["src/*", "apps/vibration/*"],
    "bench": ["src/tinyml_config.h.j2", "src/tinyml_port.h", "src/tinyml_timer.h",
              "src/tinyml_print.*", "src/tinyml_stack.c", "apps/bench/*"],
}
# The sensor input each app reads live; the board's [firmware.sensors] names the driver.
APP_SENSOR = {"kws": "audio", "vibration": "motion"}
APPS = ("skeleton", "kws", "vibration")  # the apps a user picks; "bench" is for benchmarks/
BUILD_ID_PLACEHOLDER = "@BUILD_ID@"


@dataclass
class AppParts:
    """What an app adds to the board's firmware: generated files for src/ (name -> text, or a
    path to copy), macros for tinyml_config.h, and lines for the info reply."""
    files: dict[str, str | Path] = field(default_factory=dict)
    defines: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    live_at_boot: bool = False


def _template_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _source_files(board: Board, app: str) -> list[Path]:
    """Template-relative paths of every file the board's firmware for `app` is made of."""
    files = []
    for pattern in APP_SOURCES[app]:
        files += sorted(p for p in TEMPLATES_DIR.glob(pattern) if p.is_file())
    for port in board.ports:
        folder = TEMPLATES_DIR / "ports" / port
        if not folder.is_dir():
            raise FileNotFoundError(f"firmware_templates has no port folder {folder}")
        files += sorted(p for p in folder.iterdir() if p.is_file())
    if app in APP_SENSOR:
        folder = TEMPLATES_DIR / "sensors" / board.sensor_port(APP_SENSOR[app])
        if not folder.is_dir():
            raise FileNotFoundError(f"firmware_templates has no sensor folder {folder}")
        files += sorted(p for p in folder.iterdir() if p.is_file())
    if "arduino" in board.ports:  # the Arduino core brings its own main()
        files = [f for f in files if f.name != "tinyml_main.c"]
    return [f.relative_to(TEMPLATES_DIR) for f in files]


def platformio_env(board: Board) -> dict[str, str]:
    """The [env:...] options of the board's PlatformIO environment."""
    pio = board.platformio
    options = {"board": pio["board"]}
    if pio["platform"] == "tinyml":
        options["platform"] = f"symlink://{PIO_PLATFORM_DIR}"
    else:
        options["platform"] = pio["platform"]
    if "framework" in pio:
        options["framework"] = pio["framework"]
    options["monitor_speed"] = str(board.serial.baud)
    if pio.get("lib_deps"):
        options["lib_deps"] = "\n    " + "\n    ".join(pio["lib_deps"])
    if pio.get("build_flags"):
        options["build_flags"] = " ".join(pio["build_flags"])
    return options


# Unoptimised code keeps every local in its frame: at -O0 the engine's kernels took 2,612 B of
# stack (conv_zoo on the M4, measured by the start-up's paint); optimised builds of every MLPerf
# Tiny model took at most 676.
UNOPTIMISED_STACK_FACTOR = 3


def stack_bytes(board: Board, build_flags: str = "") -> int:
    """The stack the linker reserves: the board's, for an optimised build."""
    unoptimised = "-O0" in build_flags.split()
    return board.memory.stack_bytes * (UNOPTIMISED_STACK_FACTOR if unoptimised else 1)


def render_sources(board: Board, src_dir: Path, app: str = "skeleton",
                   parts: AppParts | None = None, build_flags: str = "") -> str:
    """Writes the firmware sources into src_dir; returns the build id. build_flags: the
    extra compiler flags the build will use (an -O0 build reserves a larger stack)."""
    if app not in APP_SOURCES:
        raise ValueError(f"unknown app {app!r}; choose one of {', '.join(APP_SOURCES)}")
    parts = parts or AppParts()
    env = _template_env()
    context = {
        "board": board,
        "app": app,
        "firmware_version": __version__,
        "build_id": BUILD_ID_PLACEHOLDER,
        "port_defines": board.defines,
        "app_defines": parts.defines,
        "app_info": parts.info,
        "live_at_boot": parts.live_at_boot,
        "stack_bytes": stack_bytes(board, build_flags),
    }
    rendered: dict[str, str] = {}
    for rel in _source_files(board, app):
        if rel.suffix == ".j2":
            rendered[rel.with_suffix("").name] = env.get_template(rel.as_posix()).render(context)
        else:
            rendered[rel.name] = (TEMPLATES_DIR / rel).read_text()
    for name, content in parts.files.items():
        rendered[name] = content.read_text() if isinstance(content, Path) else content
    digest = hashlib.sha256()
    for name in sorted(rendered):
        digest.update(name.encode() + b"\0" + rendered[name].encode() + b"\0")
    build_id = digest.hexdigest()[:12]

    if src_dir.exists():
        shutil.rmtree(src_dir)
    src_dir.mkdir(parents=True)
    for name, text in rendered.items():
        (src_dir / name).write_text(text.replace(BUILD_ID_PLACEHOLDER, build_id))
    return build_id


def render_project(board: Board, out_dir: Path, app: str = "skeleton",
                   parts: AppParts | None = None, build_flags: str = "") -> str:
    """Writes platformio.ini and src/ for the board into out_dir; returns the build id."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    build_id = render_sources(board, out_dir / "src", app, parts, build_flags)
    options = platformio_env(board)
    if build_flags:
        options["build_flags"] = " ".join(filter(None, (options.get("build_flags"), build_flags)))
    ini = _template_env().get_template("platformio.ini.j2").render(
        board=board, env_options=options, app=app, build_id=build_id)
    (out_dir / "platformio.ini").write_text(ini)
    return build_id
