"""Shared fixtures: firmware built once per board per session, quick training runs trained
once per session, and a check for orphan emulators."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tinyml.boards import load_board
from tinyml.firmware import build_firmware

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]
collect_ignore = ["hil"]  # HIL tests need a board on the command line: test_validate.py runs them
EMULATED_BOARDS = ["emu-cortex-m4", "emu-cortex-m55", "emu-arduino-mega", "native"]

os.environ.setdefault("PLATFORMIO_SETTING_ENABLE_TELEMETRY", "No")
# pytester gives tests a temporary HOME; PlatformIO's packages (tool-scons) stay where set-up put them.
os.environ.setdefault("PLATFORMIO_CORE_DIR", str(Path.home() / ".platformio"))


def emulator_pids() -> set[int]:
    """PIDs of QEMU processes and native firmware processes running now."""
    out = subprocess.run(["pgrep", "-f", r"qemu-system-|/\.pio/build/native/program"],
                         capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def one_line_error(result) -> str:
    """The one error line of a command that failed as users should see it: exit 1, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def serial_url_from(process: subprocess.Popen) -> str | None:
    """The URL a `tinyml flash` (or `pio run -t upload`) prints on its "Serial: URL" line."""
    for line in process.stdout:
        if line.startswith("Serial: "):
            return line.split()[1]
    return None


@pytest.fixture(scope="session")
def skeleton_builds(tmp_path_factory):
    """Builds the skeleton firmware for a board on first use; later uses reuse it."""
    cache = {}
    root = tmp_path_factory.mktemp("firmware")

    def get(board_id: str):
        if board_id not in cache:
            cache[board_id] = build_firmware(load_board(board_id), root / board_id)
        return cache[board_id]

    return get


@pytest.fixture(scope="session")
def zoo_model():
    """tests/model_zoo.py's models by name (ENGINE_MODELS or a function's name), each converted
    once per session."""
    import model_zoo

    cache = {}

    def get(name: str) -> bytes:
        if name not in cache:
            cache[name] = (model_zoo.ENGINE_MODELS.get(name) or getattr(model_zoo, name))()
        return cache[name]

    return get


@pytest.fixture(scope="session")
def engine_model(zoo_model):
    """A test model by name: one of model_zoo's, or an MLPerf Tiny model from ../shared/
    (the calling test is skipped, with the reason, when ../shared/ is not there)."""
    import model_zoo
    from shared import shared_path

    def get(name: str) -> bytes:
        if name in model_zoo.ENGINE_MODELS or hasattr(model_zoo, name):
            return zoo_model(name)
        return shared_path("mlperf-tiny", f"{name}.tflite").read_bytes()

    return get


@pytest.fixture(scope="session")
def foreign_kws_model(zoo_model, tmp_path_factory) -> Path:
    """A .tflite the kws app can run (49x10 int8 features in, 12 classes out) that is not the
    quick run's model: model_zoo's MLPerf-shaped DS-CNN."""
    path = tmp_path_factory.mktemp("foreign") / "ds_cnn_kws.tflite"
    path.write_bytes(zoo_model("ds_cnn_kws"))
    return path


@pytest.fixture
def no_orphans():
    """Fails the test if it leaves an emulator running."""
    before = emulator_pids()
    yield
    leftover = emulator_pids() - before
    assert not leftover, f"emulator processes left running: {sorted(leftover)}"


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory):
    """Datasets (and spoken words) made by the tests go to a temporary cache, never the repository's."""
    folder = tmp_path_factory.mktemp("data")
    previous = os.environ.get("TINYML_DATA")
    os.environ["TINYML_DATA"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["TINYML_DATA"]
    else:
        os.environ["TINYML_DATA"] = previous


@pytest.fixture(scope="session")
def quick_kws_run(data_dir, tmp_path_factory):
    """A small DS-CNN trained for a few epochs on a small synthetic set: learns something,
    converts, and exercises every stage after it."""
    from tinyml.train import KwsTrainConfig, kws

    return kws.train(KwsTrainConfig(size="small", epochs=16, clips_per_class=200),
                     runs_root=tmp_path_factory.mktemp("runs"), progress=False)


@pytest.fixture(scope="session")
def quick_kws_cmn_run(quick_kws_run, tmp_path_factory):
    """quick_kws_run's recipe on window-mean normalised features (normalize = "window_mean")."""
    from tinyml.train import KwsTrainConfig, kws

    return kws.train(KwsTrainConfig(size="small", epochs=16, clips_per_class=200, normalize="window_mean"),
                     runs_root=tmp_path_factory.mktemp("runs"), progress=False)


@pytest.fixture(scope="session")
def quick_vibration_run(data_dir, tmp_path_factory):
    from tinyml.train import VibrationTrainConfig, vibration

    return vibration.train(VibrationTrainConfig(epochs=25, normal_windows=1200),
                           runs_root=tmp_path_factory.mktemp("runs"), progress=False)


@pytest.fixture(scope="session")
def runs(quick_kws_run, quick_vibration_run):
    return {"kws": quick_kws_run.folder, "vibration": quick_vibration_run.folder}


@pytest.fixture(scope="session")
def app_builds(runs, tmp_path_factory):
    """Builds an app firmware (kws, vibration, or a bare .tflite for kws) for a board on first
    use; later uses reuse it."""
    from tinyml.firmware import build_app

    cache = {}
    root = tmp_path_factory.mktemp("apps")

    def get(app: str, board_id: str, source=None, capture: bool = False):
        key = (app, board_id, str(source), capture)
        if key not in cache:
            cache[key] = build_app(app, source or runs[app], load_board(board_id),
                                   root / f"{app}-{board_id}-{len(cache)}", capture=capture)
        return cache[key]

    return get
