"""Make PlatformIO work with no network: a `tool-scons` package built from PyPI's `scons`.

PlatformIO runs every build through its core package `tool-scons`, which it normally
downloads. Here the same SCons comes from PyPI (a dependency of tinyml), so we lay it out
as the package PlatformIO expects: `scons.py` at the root, a `package.json`, and a `.piopm`
whose spec names owner `platformio` and the version range PlatformIO asks for.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import SCons
from platformio.dependencies import get_core_dependencies
from platformio.package.manager.tool import ToolPackageManager

from tinyml.tools.fs import atomic_folder

SCONS_LAUNCHER = '''\
"""SCons launcher written by tinyml (tinyml/pio/offline.py) from PyPI's scons."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from SCons.Script.Main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
'''


def required_scons_version() -> str:
    """The exact version PlatformIO accepts, e.g. '~4.41101.0' -> '4.41101.0'."""
    return get_core_dependencies()["tool-scons"].lstrip("~^=<> ")


def tool_scons_dir() -> Path:
    return Path(ToolPackageManager().package_dir) / "tool-scons"


def is_installed() -> bool:
    meta = tool_scons_dir() / ".piopm"
    if not meta.is_file() or not (tool_scons_dir() / "scons.py").is_file():
        return False
    try:
        return json.loads(meta.read_text())["version"] == required_scons_version()
    except (ValueError, KeyError):
        return False


def install_tool_scons(force: bool = False) -> Path:
    """Install (idempotently) PyPI's SCons as PlatformIO's `tool-scons` package."""
    target = tool_scons_dir()
    if is_installed() and not force:
        return target
    version = required_scons_version()
    with atomic_folder(target) as staging:
        shutil.copytree(Path(SCons.__file__).parent, staging / "SCons",
                        ignore=shutil.ignore_patterns("__pycache__", "*Tests.py"))
        (staging / "scons.py").write_text(SCONS_LAUNCHER)
        (staging / "package.json").write_text(json.dumps({
            "name": "tool-scons",
            "version": version,
            "description": f"SCons {SCons.__version__} from PyPI, packaged offline by tinyml",
        }, indent=2))
        (staging / ".piopm").write_text(json.dumps({
            "type": "tool",
            "name": "tool-scons",
            "version": version,
            "spec": {"owner": "platformio", "id": None, "name": "tool-scons",
                     "requirements": None, "uri": None},
        }))
    return target


def main() -> None:
    path = install_tool_scons()
    print(f"tool-scons {required_scons_version()} (SCons {SCons.__version__}) ready at {path}")


if __name__ == "__main__":
    main()
