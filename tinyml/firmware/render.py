"""Renders a complete PlatformIO project for one board from firmware_templates/.

Files ending in .j2 are Jinja2 templates, rendered with the board and build settings; every
other file is copied as is. Shared code comes from src/, the board's port layers from
ports/<name>/. The build id is a hash of the rendered sources, so identical inputs give
identical firmware and `tinyml info` can tell which build a board runs.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import jinja2

from tinyml import __version__
from tinyml.boards import Board
from tinyml.paths import PIO_PLATFORM_DIR, TEMPLATES_DIR

APPS = ("skeleton",)
BUILD_ID_PLACEHOLDER = "@BUILD_ID@"


def _template_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _source_files(board: Board) -> list[Path]:
    """Template-relative paths of every file the board's firmware is made of."""
    folders = [TEMPLATES_DIR / "src"] + [TEMPLATES_DIR / "ports" / p for p in board.ports]
    files = []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"firmware_templates has no folder {folder}")
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
    return options


def render_sources(board: Board, src_dir: Path, app: str = "skeleton") -> str:
    """Writes the firmware sources into src_dir; returns the build id."""
    if app not in APPS:
        raise ValueError(f"unknown app {app!r}; choose one of {', '.join(APPS)}")
    env = _template_env()
    context = {
        "board": board,
        "app": app,
        "firmware_version": __version__,
        "build_id": BUILD_ID_PLACEHOLDER,
        "port_defines": board.defines,
    }
    rendered: dict[str, str] = {}
    for rel in _source_files(board):
        if rel.suffix == ".j2":
            rendered[rel.with_suffix("").name] = env.get_template(rel.as_posix()).render(context)
        else:
            rendered[rel.name] = (TEMPLATES_DIR / rel).read_text()
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


def render_project(board: Board, out_dir: Path, app: str = "skeleton") -> str:
    """Writes platformio.ini and src/ for the board into out_dir; returns the build id."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    build_id = render_sources(board, out_dir / "src", app)
    ini = _template_env().get_template("platformio.ini.j2").render(
        board=board, env_options=platformio_env(board), app=app, build_id=build_id)
    (out_dir / "platformio.ini").write_text(ini)
    return build_id
