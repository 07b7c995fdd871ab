"""Stage 6: firmware. Renders firmware_templates/ for a board into a PlatformIO project and builds it.

    from tinyml.boards import load_board
    from tinyml.firmware import build_app
    result = build_app("kws", "runs/kws-20261122-101500", load_board("emu-cortex-m4"), "build/kws")
    print(result.budget.table())
"""

from tinyml.firmware.build import AppBuild, BuildResult, build_app, build_firmware
from tinyml.firmware.render import render_project

__all__ = ["AppBuild", "BuildResult", "build_app", "build_firmware", "render_project"]
