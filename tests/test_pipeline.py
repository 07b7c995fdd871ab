"""`tinyml run` end to end on the emulated Cortex-M4 (reduced: --quick), resumability, the
HTML report in headless Chromium, and `tinyml init`."""

from __future__ import annotations

import json
import py_compile
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyml.train.config import KwsTrainConfig, load_config

pytestmark = pytest.mark.slow


def tinyml(*args: str, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyml", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


@pytest.fixture(scope="module")
def pipelines(data_dir, tmp_path_factory):
    """Both apps through `tinyml run --quick`, once cold and once warm."""
    runs = tmp_path_factory.mktemp("pipeline-runs")
    out = {}
    for app in ("kws", "vibration"):
        cold = tinyml("run", app, "--quick", "--runs", str(runs))
        warm = tinyml("run", app, "--quick", "--runs", str(runs))
        out[app] = (cold, warm, runs)
    return out


def report_path(stdout: str) -> Path:
    return Path(re.search(r"^  report\s+(\S+)$", stdout, re.M).group(1))


@pytest.mark.parametrize("app", ["kws", "vibration"])
def test_run_goes_from_data_to_a_validated_board(pipelines, app):
    cold, _, _ = pipelines[app]
    assert cold.returncode == 0, cold.stderr[-3000:]
    for n, stage in enumerate(("dataset", "train", "firmware", "validate", "report"), 1):
        assert f"[{n}/5] {stage}" in cold.stdout
    assert "agreement  100.00% of outputs identical to TFLM" in cold.stdout
    run_dir = report_path(cold.stdout).parent
    validation = json.loads((run_dir / "validate-emu-cortex-m4" / "validation.json").read_text())
    assert validation["agreement"] == 1.0
    assert validation["samples"] == (100 if app == "kws" else 150)
    if app == "kws":
        assert re.search(r"accuracy\s+float \d+\.\d\d%\s+int8 TFLM \d+\.\d\d%\s+on the device", cold.stdout)
    else:
        assert validation["device_auc"] > 0.85
    for png in ("latency.png", "memory.png", "features.png", "scores.png", "per_class.png",
                "confusion.png" if app == "kws" else "roc.png"):
        assert (run_dir / "report" / png).stat().st_size > 5_000, png


@pytest.mark.parametrize("app", ["kws", "vibration"])
def test_second_run_with_nothing_changed_skips_every_stage(pipelines, app):
    cold, warm, _ = pipelines[app]
    assert warm.returncode == 0, warm.stderr[-3000:]
    for stage in ("dataset", "train", "firmware", "validate"):
        assert f"{stage} is up to date: skipped" in warm.stdout
    assert "Epoch" not in warm.stdout + warm.stderr  # no training happened
    assert report_path(warm.stdout) == report_path(cold.stdout)


def test_a_changed_config_retrains_and_rebuilds_only_what_depends_on_it(pipelines, tmp_path):
    _, _, runs = pipelines["vibration"]
    config = tmp_path / "vibration.toml"
    config.write_text("epochs = 5\nnormal_windows = 1200\n")
    changed = tinyml("run", "vibration", "--config", str(config), "--limit", "40", "--runs", str(runs))
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert "dataset is up to date: skipped" in changed.stdout  # same data, new model
    assert "train done" in changed.stdout and "firmware done" in changed.stdout


def chromium_console(page: Path, screenshot: Path, tmp_path: Path) -> list[str]:
    """Opens a page in headless Chromium; returns its console messages, writes a screenshot."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed: `make test` installs it"
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                           "--no-first-run", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr",
                           "--v=0", "--window-size=1200,3000", f"--screenshot={screenshot}",
                           page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.parametrize("app", ["kws", "vibration"])
def test_report_renders_in_headless_chromium_without_console_errors(pipelines, app, tmp_path):
    page = report_path(pipelines[app][0].stdout)
    shot = tmp_path / f"{app}.png"
    assert chromium_console(page, shot, tmp_path) == []
    assert shot.stat().st_size > 50_000  # the plots are on it, not a blank page
    # the check itself sees console errors when there are some
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>missingFunction();</script></body></html>")
    assert any("missingFunction" in line for line in chromium_console(broken, tmp_path / "b.png", tmp_path))


def test_init_creates_a_project_that_uses_the_python_api(tmp_path):
    project = tmp_path / "my-words"
    done = tinyml("init", str(project), "--app", "kws")
    assert done.returncode == 0, done.stderr
    assert {p.name for p in project.iterdir()} == {"config.toml", "train.py", "README.md"}
    assert load_config(KwsTrainConfig, project / "config.toml") == KwsTrainConfig()
    py_compile.compile(str(project / "train.py"), doraise=True)
    assert "from tinyml.pipeline import run_pipeline" in (project / "train.py").read_text()
    assert "tinyml datasets import speech-commands" in (project / "README.md").read_text()
    again = tinyml("init", str(project), "--app", "kws")
    assert again.returncode == 1 and "exists and is not empty" in again.stderr
