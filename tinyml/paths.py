"""Where tinyml's own resources live: board files, firmware templates, the PlatformIO platform.

tinyml is installed editable from its repository (`pip install -e .`), so these are the
repository's top-level folders; TINYML_HOME points elsewhere for a relocated copy.
"""

import os
from pathlib import Path

HOME = Path(os.environ.get("TINYML_HOME", Path(__file__).resolve().parent.parent))
BOARDS_DIR = HOME / "boards"
TEMPLATES_DIR = HOME / "firmware_templates"
PIO_PLATFORM_DIR = HOME / "pio-platform"
PACKAGE_DIR = Path(__file__).resolve().parent
