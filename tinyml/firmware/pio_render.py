"""PlatformIO pre-script of the repository's own platformio.ini.

`pio run -e BOARD` at the repository root renders firmware_templates/ for that board into
.pio/tinyml/BOARD/src and builds that, so the root project builds every board without a
checked-in copy of rendered sources. The app is the env's `custom_tinyml_app` (skeleton by
default); kws and vibration also need `custom_tinyml_run = runs/...` (a training run), set in
platformio.ini or in an env that extends a board's, e.g.

    [env:kws-m4]
    extends = env:emu-cortex-m4
    custom_tinyml_app = kws
    custom_tinyml_run = runs/kws-20261122-101500
    custom_tinyml_capture = yes      ; kws: keep a clip for `tinyml capture` (default: no)

Projects rendered by `tinyml build` do not use it.
"""

import sys
from pathlib import Path

Import("env")  # noqa: F821 - provided by SCons

sys.path.insert(0, env.subst("$PROJECT_DIR"))  # noqa: F821

from tinyml.boards import board_ids, load_board  # noqa: E402
from tinyml.errors import TinymlError  # noqa: E402
from tinyml.firmware.render import render_sources  # noqa: E402

pioenv = env.subst("$PIOENV")  # noqa: F821
# The env is named after its board, or extends a board's env (then PlatformIO's board is ours).
board_id = pioenv if pioenv in board_ids() else env.subst("$BOARD")  # noqa: F821
app = env.GetProjectOption("custom_tinyml_app", "skeleton")  # noqa: F821
run_dir = env.GetProjectOption("custom_tinyml_run", "")  # noqa: F821
capture_option = env.GetProjectOption("custom_tinyml_capture", "no").strip().lower()  # noqa: F821
workspace = Path(env.subst("$PROJECT_WORKSPACE_DIR")) / "tinyml" / pioenv  # noqa: F821
board = load_board(board_id)
parts = None
try:
    if capture_option not in ("yes", "no", "true", "false", "1", "0"):
        raise TinymlError(f"custom_tinyml_capture = {capture_option}: give yes (keep a clip for `tinyml capture`) "
                          "or no")
    capture = capture_option in ("yes", "true", "1")
    if app != "skeleton":
        from tinyml.firmware.build import prepare_within_budget

        if not run_dir:
            raise TinymlError(f"custom_tinyml_app = {app} needs custom_tinyml_run = <a {app} run folder>")
        firmware, estimate = prepare_within_budget(
            app, Path(env.subst("$PROJECT_DIR")) / run_dir, board, workspace / "parts",  # noqa: F821
            capture=capture)
        print(estimate.table())
        parts = firmware.parts
except TinymlError as exc:
    sys.stderr.write(f"tinyml: {exc}\n")
    env.Exit(1)  # noqa: F821
build_id = render_sources(board, workspace / "src", app, parts)
# The board file's build_flags, as a `tinyml build` project's platformio.ini has them.
env.Append(BUILD_FLAGS=list(board.platformio.get("build_flags", [])))  # noqa: F821
print(f"tinyml: rendered {app} for {pioenv} (build {build_id}) into {workspace / 'src'}")
env.Replace(PROJECT_SRC_DIR=str(workspace / "src"))  # noqa: F821
