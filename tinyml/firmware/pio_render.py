"""PlatformIO pre-script of the repository's own platformio.ini.

`pio run -e BOARD` at the repository root renders firmware_templates/ for that board into
.pio/tinyml/BOARD/src and builds that, so the root project builds every board without a
checked-in copy of rendered sources. Projects rendered by `tinyml build` do not use it.
"""

import sys
from pathlib import Path

Import("env")  # noqa: F821 - provided by SCons

sys.path.insert(0, env.subst("$PROJECT_DIR"))  # noqa: F821

from tinyml.boards import load_board  # noqa: E402
from tinyml.firmware.render import render_sources  # noqa: E402

pioenv = env.subst("$PIOENV")  # noqa: F821
app = env.GetProjectOption("custom_tinyml_app", "skeleton")  # noqa: F821
src_dir = Path(env.subst("$PROJECT_WORKSPACE_DIR")) / "tinyml" / pioenv / "src"  # noqa: F821
build_id = render_sources(load_board(pioenv), src_dir, app)
print(f"tinyml: rendered {app} for {pioenv} (build {build_id}) into {src_dir}")
env.Replace(PROJECT_SRC_DIR=str(src_dir))  # noqa: F821
