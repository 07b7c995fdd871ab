"""A torn file in runs/ or in the datasets cache, or a bad setting in a config, gets one line and
a repair or a refusal: never a traceback, and never a success on nonsense."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from tinyml.datasets import load, save
from tinyml.datasets.kws_synth import KwsConfig
from tinyml.datasets.store import Dataset
from tinyml.datasets.vibration_synth import VibrationConfig
from tinyml.datasets.vibration_synth import generate as make_vibration
from tinyml.errors import TinymlError
from tinyml.features import dataset_features
from tinyml.pipeline import _State
from tinyml.train.config import KwsTrainConfig, VibrationTrainConfig, load_config

TINY = "epochs = 1\nnormal_windows = 100\n"  # every stage of `tinyml run vibration`, in ~30 s
STATE = ".pipeline-vibration-emu-cortex-m4.json"


def tinyml(*args, env: dict, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyml", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=cwd)


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning:")]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One cold `tinyml run vibration` on a tiny config, in its own datasets cache and runs."""
    root = tmp_path_factory.mktemp("hardening")
    env = {**os.environ, "TINYML_DATA": str(root / "data")}
    config = root / "tiny.toml"
    config.write_text(TINY)
    command = ("run", "vibration", "--config", config, "--limit", 8, "--runs", root / "runs")
    cold = tinyml(*command, env=env)
    assert cold.returncode == 0, cold.stderr[-3000:]
    (folder,) = (root / "data").glob("vibration-*")
    return {"env": env, "command": command, "runs": root / "runs", "folder": folder}


# 1. runs/.pipeline-*.json

def test_a_torn_pipeline_state_warns_and_runs_every_stage_again(tiny):
    state = tiny["runs"] / STATE
    good = state.read_text()
    state.write_text(good[:len(good) // 2])  # what a crash in the middle of the write left
    again = tinyml(*tiny["command"], env=tiny["env"])
    assert again.returncode == 0, again.stderr[-3000:]
    (warning,) = warnings_in(again.stderr)
    assert re.fullmatch(rf"Warning: {re.escape(str(state))} is unreadable \(.+\): running every stage again",
                        warning), warning
    assert "up to date" not in again.stdout
    for stage in ("dataset", "train", "firmware", "validate"):
        assert f"{stage} done" in again.stdout
    assert set(json.loads(state.read_text())) == {"dataset", "train", "firmware", "validate"}


@pytest.mark.parametrize("text, reason", [
    ("", "Expecting value: line 1 column 1 (char 0)"),
    ('{"train": {"key": "ab', "Unterminated string starting at: line 1 column 19 (char 18)"),
    ("[1, 2]", "not a table of stages"),
    ('{"train": 3}', "not a table of stages"),
    ('{"train": {"key": "ab", "run": 5}}', "not a table of stages"),
])
def test_an_unreadable_state_is_nothing_up_to_date(tmp_path, capfd, text, reason):
    path = tmp_path / STATE
    path.write_text(text)
    state = _State(path)
    assert state.data == {} and not state.fresh("train", "ab")
    assert capfd.readouterr().err == f"Warning: {path} is unreadable ({reason}): running every stage again\n"


def test_a_state_write_cut_short_by_a_full_disk_leaves_the_previous_state(tmp_path):
    """A real process whose file-size limit stops the write half-way (as a full disk does)."""
    path = tmp_path / STATE
    path.write_text(json.dumps({"train": {"key": "old", "run": "runs/old"}}, indent=2) + "\n")
    before = path.read_text()
    script = ("import resource, signal, sys\n"
              "from pathlib import Path\n"
              "from tinyml.pipeline import _State\n"
              "state = _State(Path(sys.argv[1]))\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (120, 120))\n"
              "try:\n"
              "    state.record('train', 'new', run='runs/' + 'x' * 400)\n"
              "except OSError as exc:\n"
              "    print('refused:', exc.errno)\n")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "refused: 27\n"  # EFBIG: the write did fail
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == [STATE]  # no temporary file left behind


# 2. the datasets cache

def test_a_torn_cached_dataset_is_made_again_by_the_next_run(tiny):
    data_file = tiny["folder"] / "data.npz"
    with np.load(data_file) as data:
        x = data["x"]
    data_file.write_bytes(data_file.read_bytes()[:data_file.stat().st_size // 2])
    again = tinyml(*tiny["command"], env=tiny["env"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert warnings_in(again.stderr) == [
        f"Warning: {data_file} is damaged (its checksum does not match meta.json): generating it again"]
    assert "dataset done" in again.stdout
    assert "train is up to date: skipped" in again.stdout  # the same settings make the same data
    with np.load(data_file) as data:
        assert np.array_equal(data["x"], x)


def test_a_damaged_dataset_named_directly_says_the_command_that_makes_that_one(tmp_path):
    env = {**os.environ, "TINYML_DATA": str(tmp_path / "data")}
    made = tinyml("datasets", "make", "vibration", "--seed", 2, "--windows", 60, env=env)
    assert made.returncode == 0, made.stderr
    folder = Path(made.stdout.split(": ")[-1].strip())
    data_file = folder / "data.npz"
    good = data_file.read_bytes()
    data_file.write_bytes(good[:len(good) // 2])

    shown = tinyml("datasets", "show", folder, env=env)
    assert shown.returncode == 1
    assert shown.stderr == (f"Error: {data_file} is damaged (its checksum does not match meta.json): make it "
                            "again with `tinyml datasets make vibration --seed 2 --windows 60 --force`\n")
    command = re.search(r"`(tinyml [^`]+)`", shown.stderr).group(1)
    remade = tinyml(*shlex.split(command)[1:], env=env)
    assert remade.returncode == 0, remade.stderr
    assert remade.stdout.startswith("Made ") and remade.stdout.strip().endswith(f": {folder}")
    assert tinyml("datasets", "show", folder, env=env).returncode == 0

    # without --force, `make` does not call a damaged entry cached
    data_file.write_bytes(good[:len(good) // 3])
    healed = tinyml("datasets", "make", "vibration", "--seed", 2, "--windows", 60, env=env)
    assert healed.returncode == 0, healed.stderr
    assert warnings_in(healed.stderr) == [
        f"Warning: {data_file} is damaged (its checksum does not match meta.json): generating it again"]
    assert healed.stdout.startswith("Made ")


def test_a_damaged_dataset_without_a_checksum_is_still_named(tmp_path):
    """A cache entry written before checksums were: the read error is the evidence."""
    folder = tmp_path / "set"
    save(Dataset("vibration", np.zeros((6, 3, 8), np.float32), np.zeros(6, np.int16), np.zeros(6, np.int8),
                 ["normal"], 12000, None, {"source": "CWRU at /data/cwru"}), folder)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["checksums"]
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "data.npz").write_bytes((folder / "data.npz").read_bytes()[:100])
    with pytest.raises(TinymlError) as caught:
        load(folder)
    assert str(caught.value) == (f"{folder}/data.npz is damaged (File is not a zip file): import it again "
                                 f"with `tinyml datasets import cwru /data/cwru -o {folder}` (and the --rate "
                                 "it was imported with, if not 12000)")


def test_the_remake_command_of_a_kws_entry_has_every_setting_that_names_it(tmp_path, monkeypatch):
    """`tinyml train kws` caches clips_per_class N with N // 2 silence clips: the command must say both."""
    monkeypatch.setenv("TINYML_DATA", str(tmp_path / "elsewhere"))
    config = KwsConfig(clips_per_class=200, silence_clips=100, seed=3)
    folder = tmp_path / "cache" / f"kws-{config.key()}"
    save(Dataset("kws", np.zeros((4, 16000), np.int16), np.zeros(4, np.int16), np.zeros(4, np.int8),
                 ["yes"], 16000, None, {"source": "synthetic (espeak-ng)", "config": asdict(config)}), folder)
    (folder / "data.npz").write_bytes(b"")
    with pytest.raises(TinymlError, match=re.escape(
            f"make it again with `TINYML_DATA={tmp_path / 'cache'} tinyml datasets make kws --seed 3 "
            "--clips-per-class 200 --silence-clips 100 --force`")):
        load(folder)


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features") / "set"
    save(make_vibration(VibrationConfig(normal_windows=60, fault_windows_per_severity=5, machines=10, seed=4),
                        progress=False), folder)
    return folder


@pytest.mark.parametrize("damage", ["truncated", "bytes changed"])
def test_damaged_cached_features_are_computed_again_with_a_warning(small_set, capfd, damage):
    for old in small_set.glob("features-*.npy"):
        old.unlink()
    first = dataset_features(load(small_set), small_set)
    (cache,) = small_set.glob("features-*.npy")
    raw = bytearray(cache.read_bytes())
    if damage == "truncated":
        cache.write_bytes(raw[:len(raw) // 2])
    else:  # still loads: only the checksum tells
        raw[-40:] = bytes(b ^ 0x55 for b in raw[-40:])
        cache.write_bytes(raw)
    capfd.readouterr()
    again = dataset_features(load(small_set), small_set)
    assert np.array_equal(again, first)
    assert capfd.readouterr().err == (f"Warning: {cache} is damaged (its checksum does not match meta.json): "
                                      "computing it again\n")
    assert np.array_equal(np.load(cache), first)
    dataset_features(load(small_set), small_set)
    assert capfd.readouterr().err == ""  # repaired for good


# 3. training configs

BAD_SETTINGS = [
    (KwsTrainConfig, 'epochs = "sixty"', 'epochs = "sixty": must be an integer from 1 to 10000'),
    (KwsTrainConfig, "epochs = 2.5", "epochs = 2.5: must be an integer from 1 to 10000"),
    (KwsTrainConfig, "epochs = -3", "epochs = -3: must be an integer from 1 to 10000"),
    (KwsTrainConfig, "epochs = true", "epochs = true: must be an integer from 1 to 10000"),
    (KwsTrainConfig, "epochs = [24]", "epochs = [24]: must be an integer from 1 to 10000"),
    (KwsTrainConfig, "batch_size = 0", "batch_size = 0: must be an integer from 1 to 65536"),
    (KwsTrainConfig, 'learning_rate = "fast"',
     'learning_rate = "fast": must be a number greater than 0 and at most 1'),
    (KwsTrainConfig, "learning_rate = 0", "learning_rate = 0: must be a number greater than 0 and at most 1"),
    (KwsTrainConfig, "learning_rate = nan", "learning_rate = nan: must be a number greater than 0 and at most 1"),
    (KwsTrainConfig, "learning_rate = false",
     "learning_rate = false: must be a number greater than 0 and at most 1"),
    (KwsTrainConfig, "seed = -1", "seed = -1: must be an integer from 0 to 4294967295"),
    (KwsTrainConfig, 'size = "huge"', 'size = "huge": must be "default" or "small"'),
    (KwsTrainConfig, 'normalize = "cmn"', 'normalize = "cmn": must be "none" or "window_mean"'),
    (KwsTrainConfig, "label_smoothing = -0.1", "label_smoothing = -0.1: must be a number at least 0 and at most 0.5"),
    (KwsTrainConfig, "label_smoothing = 0.6", "label_smoothing = 0.6: must be a number at least 0 and at most 0.5"),
    (KwsTrainConfig, "clips_per_class = 5", "clips_per_class = 5: must be an integer from 10 to 20000"),
    (KwsTrainConfig, "dataset = 3", 'dataset = 3: must be a dataset folder, or "" for the synthetic set'),
    (KwsTrainConfig, 'dataset = "nowhere"',
     'dataset = "nowhere": no tinyml dataset in that folder (no meta.json): import one with '
     '`tinyml datasets import`, or use "" for the synthetic set'),
    (VibrationTrainConfig, "hidden = 0", "hidden = 0: must be an integer from 1 to 1024"),
    (VibrationTrainConfig, "bottleneck = 2000", "bottleneck = 2000: must be an integer from 1 to 1024"),
    (VibrationTrainConfig, "false_alarm_rate = 1.0",
     "false_alarm_rate = 1.0: must be a number greater than 0 and less than 1"),
    (VibrationTrainConfig, "normal_windows = 10", "normal_windows = 10: must be an integer from 50 to 200000"),
]


@pytest.mark.parametrize("cls, line, problem", BAD_SETTINGS)
def test_every_setting_is_checked_when_the_config_is_read(tmp_path, monkeypatch, cls, line, problem):
    monkeypatch.chdir(tmp_path)
    Path("config.toml").write_text(line + "\n")
    with pytest.raises(TinymlError) as caught:
        load_config(cls, Path("config.toml"))
    assert str(caught.value) == f"config.toml: {problem}"


def test_good_settings_are_taken_as_written(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('learning_rate = 1\nfalse_alarm_rate = 0.05\nseed = 4294967295\ndataset = ""\n')
    cfg = load_config(VibrationTrainConfig, path)
    assert cfg == VibrationTrainConfig(learning_rate=1.0, false_alarm_rate=0.05, seed=4294967295)
    assert isinstance(cfg.learning_rate, float)  # TOML's 1 is the number 1.0, not a different config
    with pytest.raises(TinymlError, match=r"^--epochs 0: must be an integer from 1 to 10000$"):
        load_config(VibrationTrainConfig, path, epochs=0)
    with pytest.raises(TinymlError, match=r"^epochs must be an integer from 1 to 10000, not True$"):
        KwsTrainConfig(epochs=True)
    path.write_text("label_smoothing = 0\n")  # the range's ends are settings too
    assert load_config(KwsTrainConfig, path).label_smoothing == 0.0
    path.write_text("label_smoothing = 0.5\n")
    assert load_config(KwsTrainConfig, path) == KwsTrainConfig(label_smoothing=0.5)


KWS_KEYS = ("batch_size, blocks, channels, clips_per_class, dataset, epochs, frame_samples, hop_samples, "
            "kernel_coeffs, kernel_frames, label_smoothing, learning_rate, mel_bands, mfcc_coefficients, normalize, seed, size, "
            "stride_coeffs, stride_frames")


@pytest.mark.parametrize("command, config, error", [
    (("train", "vibration"), "normal_windows = 100\nepochs = -3\n",
     "config.toml: epochs = -3: must be an integer from 1 to 10000"),
    (("train", "kws"), "clips_per_class = 10\nepochs = 2.5\n",
     "config.toml: epochs = 2.5: must be an integer from 1 to 10000"),
    (("run", "vibration"), 'normal_windows = 100\nepochs = "sixty"\n',
     'config.toml: epochs = "sixty": must be an integer from 1 to 10000'),
    (("run", "kws"), 'clips_per_class = 10\nlearning_rate = "fast"\n',
     'config.toml: learning_rate = "fast": must be a number greater than 0 and at most 1'),
    (("run", "kws"), "clips_per_class = 10\nepoch = 3\n",
     f"config.toml: unknown setting(s) epoch; known: {KWS_KEYS}"),
    (("train", "vibration", "--epochs", "0"), "normal_windows = 100\n",
     "--epochs 0: must be an integer from 1 to 10000"),
])
def test_a_bad_config_is_refused_in_one_line_before_any_work(tmp_path, command, config, error):
    (tmp_path / "config.toml").write_text(config)
    env = {**os.environ, "TINYML_DATA": str(tmp_path / "data")}
    start = time.monotonic()
    done = tinyml(*command, "--config", "config.toml", "--runs", "runs", env=env, cwd=tmp_path, timeout=120)
    elapsed = time.monotonic() - start
    assert (done.returncode, done.stderr) == (1, f"Error: {error}\n")
    assert elapsed < 20, elapsed  # no dataset, no Keras
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no data folder, no runs folder
