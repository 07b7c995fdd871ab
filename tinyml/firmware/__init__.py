"""Stage 6: firmware. Renders firmware_templates/ for a board into a PlatformIO project and builds it."""

from tinyml.firmware.build import BuildResult, build_firmware
from tinyml.firmware.render import render_project

__all__ = ["BuildResult", "build_firmware", "render_project"]
