"""`tinyml tune`: the search space, the cost check, the study (SQLite resume after a kill, two
workers on a real PostgreSQL), the report and --apply, and the one-line errors.

Trials are tiny: vibration on a small synthetic set, 2-3 epochs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tinyml.boards import load_board
from tinyml.errors import TinymlError
from tinyml.train.config import KwsTrainConfig, VibrationTrainConfig, load_config, to_toml

TINYML = [sys.executable, "-m", "tinyml"]
VIB_BASE = VibrationTrainConfig(normal_windows=200, epochs=3)


def tinyml(*args, timeout=120, cwd=None):
    return subprocess.run([*TINYML, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def error_line(result) -> str:
    """The CLI's error: exactly one line on stderr, non-zero exit."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr[-2000:]
    return lines[0]


def cli_error(capsys, monkeypatch, *args) -> str:
    """The same through tinyml.cli.main in this process (TensorFlow is imported once)."""
    from tinyml.cli import main

    monkeypatch.setattr(sys, "argv", ["tinyml", *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert exit_.value.code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def vib_config(tmp_path_factory, data_dir) -> Path:
    """The base config of the vibration studies, its dataset generated once here (workers
    started by the tests find it in the same TINYML_DATA cache)."""
    from tinyml.train import vibration

    vibration.prepare_dataset(VIB_BASE, progress=False)
    path = tmp_path_factory.mktemp("tune-config") / "base.toml"
    path.write_text(to_toml(VIB_BASE))
    return path


# ---------------------------------------------------------------- the space, the models


def test_default_model_and_frontend_are_unchanged():
    from tinyml.features import MfccSpec, SpectrumSpec
    from tinyml.train.kws import build_model

    cfg = KwsTrainConfig()
    assert cfg.frontend() == MfccSpec() and VibrationTrainConfig().frontend() == SpectrumSpec()
    default = build_model()
    same = build_model(cfg.size, cfg.frontend().shape, 12, **cfg.architecture())
    # 10x4x64 conv + BN, 4 x (3x3x64 depthwise + BN + 64x64 pointwise + BN), 64x12 dense + bias
    assert default.count_params() == same.count_params() == 2_560 + 256 + 4 * (576 + 256 + 4_096 + 256) + 780
    convs = [layer for layer in default.layers if type(layer).__name__ in ("Conv2D", "DepthwiseConv2D")]
    assert [(type(c).__name__, c.kernel_size, c.strides) for c in convs][:2] == [
        ("Conv2D", (10, 4), (2, 2)), ("DepthwiseConv2D", (3, 3), (1, 1))]
    assert len(convs) == 9 and default.name == "ds_cnn_default"
    small = build_model("small", (25, 13), 12, channels=16, blocks=2, kernel=(4, 3), stride=(3, 2))
    convs = [layer for layer in small.layers if type(layer).__name__ in ("Conv2D", "DepthwiseConv2D")]
    assert [(c.kernel_size, c.strides) for c in convs[:1]] == [((4, 3), (3, 2))] and len(convs) == 5
    assert small.layers[-1].output.shape == (None, 12) and convs[0].filters == 16


def test_every_searched_value_is_a_setting_train_takes():
    """A candidate is a config: each value the tuner may pick (the front-end's normalisation
    among them, a word, not a number) is one KwsTrainConfig / VibrationTrainConfig accepts,
    and random candidates (the calibration's) keep the values' types."""
    from tinyml.tune.space import SMALLEST, SPACES, candidate_config, default_params, sample_params

    assert SPACES["kws"]["normalize"] == ["none", "window_mean"]
    assert default_params("kws")["normalize"] == "none" == SMALLEST["kws"]["normalize"]
    for app, base in (("kws", KwsTrainConfig()), ("vibration", VibrationTrainConfig())):
        for name, values in SPACES[app].items():
            for value in values:
                assert getattr(candidate_config(base, {name: value}), name) == value
        assert set(SMALLEST[app]) == set(SPACES[app]) == set(default_params(app))
        rng = np.random.default_rng(0)
        drawn = [sample_params(SPACES[app], rng) for _ in range(40)]
        for name, values in SPACES[app].items():
            assert {d[name] for d in drawn} == set(values)  # every value drawn, as itself
            assert {type(d[name]) for d in drawn} == {type(values[0])}


def test_config_rules_for_the_new_settings(tmp_path):
    with pytest.raises(TinymlError, match=r"^mfcc_coefficients \(13\) must be at most mel_bands \(10\)$"):
        KwsTrainConfig(mel_bands=10, mfcc_coefficients=13)
    with pytest.raises(TinymlError, match=r"^bands must divide 128 \(the FFT's bins: 1, 2, 4, \.\.\., 128\), not 12$"):
        VibrationTrainConfig(bands=12)
    path = tmp_path / "c.toml"
    path.write_text("channels = 600\n")
    with pytest.raises(TinymlError, match=r"c.toml: channels = 600: must be an integer from 0 to 512$"):
        load_config(KwsTrainConfig, path)
    cfg = KwsTrainConfig(channels=24, blocks=2, hop_samples=640, mel_bands=20, mfcc_coefficients=13)
    path.write_text(to_toml(cfg))
    assert load_config(KwsTrainConfig, path) == cfg
    assert cfg.frontend().shape == (25, 13) and cfg.frontend().fft == 512


@pytest.mark.parametrize("params", [
    {"frame_samples": 400, "hop_samples": 640, "mel_bands": 20, "mfcc_coefficients": 13},
    {"frame_samples": 512, "hop_samples": 400, "mel_bands": 32, "mfcc_coefficients": 10,
     "normalize": "window_mean"},
])
def test_searched_mfcc_frontends_are_the_c_frontend_bit_for_bit(params, tmp_path):
    """The front-end settings the tuner varies are safe: C computes them as Python does."""
    from tinyml.features import kws_features
    from tinyml.features.host import build_runner, run_runner

    spec = replace(KwsTrainConfig(), **params).frontend()
    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    clips = [rng.normal(0, 3000, 16000) * rng.uniform(0.001, 1) for _ in range(12)]
    clips += [8000 * np.sin(2 * np.pi * f * t) * (t > 0.3) for f in (300, 1200, 3000)]
    clips = np.clip(np.array(clips), -32768, 32767).astype(np.int16)
    python = kws_features(clips, spec)
    c = run_runner(build_runner(tmp_path, "mfcc", spec), clips, spec.shape)
    worst = int(np.abs(c.astype(int) - python).max())
    assert python.shape == (15, *spec.shape) and np.mean(c == python) >= 0.999 and worst <= 1
    assert len(np.unique(python)) > 30  # features that vary (centred windows vary less)


@pytest.mark.parametrize("bands", [4, 32])
def test_searched_band_layouts_are_the_c_frontend_bit_for_bit(bands, tmp_path):
    from tinyml.features import reference, vibration_features
    from tinyml.features.host import build_runner, run_runner

    spec = VibrationTrainConfig(bands=bands).frontend()
    g = np.random.default_rng(2).normal(0, 0.05, (20, 3, 256)) * np.linspace(0.1, 3, 20)[:, None, None]
    python = vibration_features(g, spec)
    c = run_runner(build_runner(tmp_path, "spectrum", spec), reference.to_counts(g, spec), spec.shape)
    assert python.shape == (20, 3, bands) and np.mean(c == python) >= 0.999
    assert int(np.abs(c.astype(int) - python).max()) <= 1


# ---------------------------------------------------------------- the cost check


def test_cost_of_the_default_kws_model_matches_the_measured_one(tmp_path):
    """Memory from our compiler, instructions from the calibrated estimate: the README's
    measured figures for the default DS-CNN (arena 9,108 B, 2.66 M MACs, 4.70 M instructions
    on the emulated M4)."""
    from tinyml.tune.cost import candidate_cost
    from tinyml.tune.space import default_params
    from tinyml.tune.trial import untrained_tflite

    tflite = untrained_tflite("kws", default_params("kws"))
    spec = KwsTrainConfig().frontend()
    nano = candidate_cost("kws", tflite, spec, load_board("nano33ble"), tmp_path / "a", 50.0)
    assert nano.arena_bytes == 9_108 and nano.macs == 2_664_768
    assert abs(nano.instructions / 4_700_120 - 1) < 0.05, nano.instructions
    assert nano.latency_ms == pytest.approx(1000 * nano.instructions / 64e6)
    assert nano.problems == [f"latency {nano.latency_ms:.3g} > 50 ms"] and not nano.fits
    mega = candidate_cost("kws", tflite, spec, load_board("emu-arduino-mega"), tmp_path / "b", None)
    assert mega.latency_ms is None and mega.problems[0].startswith("RAM ") and mega.problems[0].endswith("> 8,192 B")


ONE_BLOCK = {"channels": 32, "blocks": 1, "kernel_frames": 8, "kernel_coeffs": 4, "stride_frames": 3,
             "stride_coeffs": 2, "frame_samples": 480, "hop_samples": 320, "mel_bands": 40,
             "mfcc_coefficients": 10, "normalize": "window_mean"}


def test_convolution_counts_follow_the_kernels_blocks(tmp_path):
    """The first convolution (17 x 5 outputs) runs blocks of 4 pixels across row ends: 88
    pixels computed, not 17 rows of 8; in place it would be a row at a time. Counted so, the
    estimate of a one-block DS-CNN (where that convolution is a third of the work) is within
    5% of QEMU's count on the emulated M4 (it was 5.2% over when rows were counted)."""
    from tinyml.boards import load_board
    from tinyml.tune.cost import estimate_instructions, kernel_calls, op_counts
    from tinyml.tune.trial import untrained_tflite
    from tinyml.validate.bench import run_on_board

    tflite = untrained_tflite("kws", ONE_BLOCK)
    calls = kernel_calls(tflite)
    first = calls[0]
    assert first.function == "tm_conv2d_s8"
    assert (first.counts["gemm"], first.counts["gather"], first.counts["patch"]) == (88 * 32 * 32, 88 * 8, 88 * 32)
    params = {"out_h": 17, "out_w": 5, "out_c": 32, "filter_h": 8, "filter_w": 4, "in_c": 1}
    assert op_counts("tm_conv2d_s8", params, 0, in_place=True)["gemm"] == 17 * 8 * 32 * 32
    estimate, _ = estimate_instructions(calls, "cortex-m4")
    inputs = np.random.default_rng(0).integers(-128, 128, size=(2, 49, 10, 1), dtype=np.int8)
    measured = int(np.median(run_on_board(tflite, load_board("emu-cortex-m4"), inputs, tmp_path).instructions))
    assert abs(estimate / measured - 1) < 0.05, (estimate, measured)


@pytest.mark.parametrize("params", [
    {"hidden": 8, "bottleneck": 4, "bands": 4},    # 4 tiny layers: 1,720 instructions
    {"hidden": 64, "bottleneck": 2, "bands": 4},   # 2 and 6 rows: rows % 4 left to the one-row loop
    {"hidden": 48, "bottleneck": 6, "bands": 8},
])
def test_fully_connected_counts_follow_the_kernels_rows(params, tmp_path):
    """A fully connected layer runs its rows four at a time and the last rows % 4 alone (each
    of their inputs costs more), its last in_depth % 4 inputs one by one. Counted so, the
    smallest vibration models are within 3% of QEMU's count on the emulated M4 (they were 5.3%
    over and 4.4% under with MACs, rows and inputs counted; QEMU's timer ticks every 40
    instructions, 2.3% of the smallest)."""
    from tinyml.boards import load_board
    from tinyml.tune.cost import estimate_instructions, kernel_calls, op_counts
    from tinyml.tune.trial import untrained_tflite
    from tinyml.validate.bench import run_on_board

    counts = op_counts("tm_fully_connected_s8", {"batches": 1, "in_depth": 14, "out_depth": 6}, 84)
    assert (counts["macs"], counts["blocks"], counts["tail"], counts["single_macs"], counts["single"]) == \
        (4 * 12, 1, 6 * 2, 2 * 12, 2)
    tflite = untrained_tflite("vibration", params)
    estimate, _ = estimate_instructions(kernel_calls(tflite), "cortex-m4")
    inputs = np.random.default_rng(0).integers(-128, 128, size=(2, 3 * params["bands"]), dtype=np.int8)
    measured = int(np.median(run_on_board(tflite, load_board("emu-cortex-m4"), inputs, tmp_path).instructions))
    assert abs(estimate / measured - 1) < 0.03, (estimate, measured)


# ---------------------------------------------------------------- a study, in process


def test_vibration_study_report_resume_and_apply(vib_config, tmp_path):
    """4 trials on emu-cortex-m4: the default model first, a Pareto front checked on QEMU,
    report and plot written; the same call again runs nothing; a candidate applied trains."""
    from click.testing import CliRunner

    from tinyml.cli import cli
    from tinyml.tune import TuneSettings, apply, run_tune
    from tinyml.tune.space import candidate_config, default_params

    settings = TuneSettings("vibration", "emu-cortex-m4", VIB_BASE, trials=4, run_dir=tmp_path / "tune",
                            progress=False)
    result = run_tune(settings)
    assert result.ran == 4 and [r["number"] for r in result.rows if r["status"] != "surplus"] == [0, 1, 2, 3]
    first = result.rows[0]
    assert first["baseline"] and first["params"] == default_params("vibration") == {"hidden": 24, "bottleneck": 8,
                                                                                    "bands": 16}
    assert first["status"] == "complete" and 0.5 < first["val_metric"] <= 1 and first["epochs"] <= 3
    assert first["cost"]["arena_bytes"] == 72 and first["cost"]["macs"] == 2_688
    front = result.pareto
    assert front, result.rows
    for r in front:  # nobody beats a front member on both objectives
        assert not any(o["val_metric"] > r["val_metric"] and o["cost"]["instructions"] < r["cost"]["instructions"]
                       for o in result.rows if o["status"] == "complete")
        assert r["qemu"]["board"] == "emu-cortex-m4" and abs(r["qemu"]["error"]) < 0.05, r["qemu"]
    report = json.loads((tmp_path / "tune" / "report.json").read_text())
    assert report["pareto"] == [r["number"] for r in front] and len(report["trials"]) == len(result.rows)
    assert (tmp_path / "tune" / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    again = run_tune(settings)
    assert again.ran == 0 and len(again.rows) == len(result.rows)

    pick = front[-1]
    path, cfg = apply(tmp_path / "tune", pick["number"])
    assert path == tmp_path / "tune" / f"candidate-{pick['number']}.toml"
    assert load_config(VibrationTrainConfig, path) == cfg == candidate_config(VIB_BASE, pick["params"])
    runner = CliRunner()
    done = runner.invoke(cli, ["train", "vibration", "--config", str(path), "--runs", str(tmp_path / "runs")])
    assert done.exit_code == 0, done.output
    run = next((tmp_path / "runs").iterdir())
    assert load_config(VibrationTrainConfig, run / "config.toml") == cfg
    assert json.loads((run / "metrics.json").read_text())["frontend"]["bands"] == pick["params"]["bands"]


@pytest.mark.parametrize("sampler", ["tpe", "nsga2"])
def test_a_study_proposes_the_same_candidates_from_its_seed_and_a_joining_worker_others(sampler, tmp_path):
    """The worker that creates a study samples with the config's seed (a study on one machine is
    reproducible); one that joins it samples with its own (workers do not repeat each other)."""
    from tinyml.tune.space import suggest, starting_points
    from tinyml.tune.study import TuneSettings, open_storage, open_study, sqlite_url

    def proposals(folder: Path, seed: int = 0, join: bool = False) -> list[dict]:
        folder.mkdir()
        settings = TuneSettings("kws", "emu-cortex-m4", KwsTrainConfig(seed=seed), trials=12, sampler=sampler,
                                run_dir=folder, progress=False)
        storage = open_storage(sqlite_url(folder))
        study, created = open_study(settings, storage)
        assert created
        if join:
            study, created = open_study(settings, storage)
            assert not created
        drawn = []
        for i in range(9):
            trial = study.ask()
            drawn.append(suggest(trial, "kws"))
            study.tell(trial, [0.5 + (i % 4) / 10, 1_000_000 - 10_000 * i])
        assert drawn[:3] == starting_points("kws")
        return drawn[3:]

    first = proposals(tmp_path / "a")
    assert proposals(tmp_path / "b") == first
    assert proposals(tmp_path / "c", seed=1) != first
    assert proposals(tmp_path / "d", join=True) != first


def test_infeasible_candidates_are_recorded_not_trained(vib_config, tmp_path):
    """A latency budget below the default model's: it is costed, refused, never trained."""
    from tinyml.tune import TuneSettings, run_tune

    result = run_tune(TuneSettings("vibration", "emu-cortex-m4", VIB_BASE, trials=2, max_latency_ms=0.2,
                                   run_dir=tmp_path / "tune", progress=False, check_qemu=False))
    first = result.rows[0]
    assert first["baseline"] and first["status"] == "infeasible" and first["epochs"] is None
    assert first["note"] == f"latency {first['cost']['latency_ms']:.3g} > 0.2 ms"
    assert first["cost"]["latency_ms"] > 0.2 and first not in result.pareto
    assert all(r["cost"]["latency_ms"] <= 0.2 for r in result.pareto)


# ---------------------------------------------------------------- the command's errors


@pytest.mark.parametrize("args, message", [
    (["vibration", "--board", "nano"], "Error: unknown board 'nano'. Did you mean 'nano33ble'?"),
    (["vibration", "--board", "emu-cortex-m4", "--storage", "nonsense"],
     "Error: --storage nonsense is not a database URL: use postgresql://USER:PASSWORD@HOST:PORT/DB or sqlite:///PATH"),
    (["vibration", "--board", "emu-cortex-m4", "--storage", "mysql://u@h/d"],
     "Error: --storage mysql://u@h/d: mysql is not supported; use postgresql://USER:PASSWORD@HOST:PORT/DB or "
     "sqlite:///PATH"),
    (["vibration", "--board", "emu-cortex-m4", "--storage", "postgresql://tune:secret@127.0.0.1:1/tinyml"],
     "Error: cannot reach the study database postgresql://tune:***@127.0.0.1:1/tinyml: "),
    (["vibration", "--board", "emu-arduino-mega", "--max-latency-ms", "5"],
     "Error: --max-latency-ms needs an instruction estimate for emu-arduino-mega's core (avr); calibrated: "),
    (["vibration", "--board", "emu-cortex-m4", "--max-latency-ms", "0.001"],
     "Error: --max-latency-ms 0.001 is impossible on emu-cortex-m4: the fastest vibration candidate takes "),
    (["vibration"], "Error: --board is required: the board to tune vibration for (`tinyml boards` lists them)"),
])
def test_errors_are_one_line(args, message, vib_config, tmp_path, capsys, monkeypatch):
    line = cli_error(capsys, monkeypatch, "tune", *args, "--config", vib_config, "--run-dir", tmp_path / "tune",
                     "--trials", 1)
    assert line.startswith(message) and "secret" not in line, line


def test_a_board_too_small_for_any_keyword_model_is_refused_before_training(tmp_path):
    """The search never starts on a board its smallest candidate cannot fit. No board in boards/
    is that small for kws any more (the firmware keeps 30 ms of audio and borrows the arena for
    its FFT: the smallest candidate needs about 7.4 KB on the Mega), so a Mega with 4 KB stands in."""
    from tinyml.tune.study import TuneSettings, check_possible

    mega = load_board("emu-arduino-mega")
    settings = TuneSettings(app="kws", board=mega.id, base=KwsTrainConfig(), progress=False)
    assert check_possible(settings, mega, 12, tmp_path / "fits").ram_bytes <= mega.ram_bytes
    with pytest.raises(TinymlError, match=r"^no kws candidate fits emu-arduino-mega: even the smallest "
                                          r"needs RAM [\d,]+ > 4,096 B$"):
        check_possible(settings, replace(mega, ram_bytes=4096), 12, tmp_path / "small")


def test_apply_errors_name_the_front(tmp_path, capsys, monkeypatch):
    (tmp_path / "report.json").write_text(json.dumps({
        "settings": {"app": "vibration", "base": to_toml(VIB_BASE)}, "study": "s", "board": "emu-cortex-m4",
        "pareto": [2], "trials": [{"number": 1, "status": "infeasible"}]}))
    assert cli_error(capsys, monkeypatch, "tune", tmp_path, "--apply", 1) == (
        f"Error: trial 1 of {tmp_path} is infeasible, not a trained candidate; the Pareto front: 2")
    assert cli_error(capsys, monkeypatch, "tune", tmp_path, "--apply", 9) == (
        f"Error: {tmp_path} has no trial 9; the Pareto front: 2")
    assert cli_error(capsys, monkeypatch, "tune", tmp_path / "nowhere", "--apply", 1).startswith(
        f"Error: {tmp_path / 'nowhere'} has no report.json: is it a tune folder")


# ---------------------------------------------------------------- storage: resume, shared


def _study_trials(url: str, folder: Path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    name = json.loads((folder / "tune.json").read_text())["study"]
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def _worker(vib_config: Path, folder: Path, trials: int, storage: str | None = None):
    args = [*TINYML, "tune", "vibration", "--board", "emu-cortex-m4", "--config", str(vib_config), "--trials",
            str(trials), "--epochs", "2", "--run-dir", str(folder), "--no-qemu"]
    if storage:
        args += ["--storage", storage]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _reported(output: str) -> set[int]:
    """Trial numbers a worker printed as finished (complete, pruned or infeasible)."""
    return {int(n) for n, status in re.findall(r"trial +(\d+) (complete|pruned|infeasible)", output)}


def test_sqlite_study_resumes_after_a_kill(vib_config, tmp_path):
    """Killed mid-study, the same command again: the finished trials are kept, the one that
    was running is run again, and the study ends with exactly its 4 trials."""
    from tinyml.tune.study import sqlite_url

    folder = tmp_path / "tune"
    url = sqlite_url(folder)
    first = _worker(vib_config, folder, 4)
    deadline = time.monotonic() + 150
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if (folder / "study.db").is_file() and (folder / "tune.json").is_file():
                trials = _study_trials(url, folder)
                states = [t.state.name for t in trials]
                # a running trial with its parameters drawn (killed earlier, it has none to retry)
                if states.count("COMPLETE") + states.count("PRUNED") >= 1 and any(
                        t.state.name == "RUNNING" and t.params for t in trials):
                    break
            assert first.poll() is None, first.stdout.read()
        else:
            pytest.fail("the first worker did not get a trial done in time")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        out1 = first.communicate(timeout=30)[0]
    before = {t.number: t for t in _study_trials(url, folder)}
    killed = [n for n, t in before.items() if t.state.name == "RUNNING"]
    done_before = {n for n, t in before.items() if t.state.name in ("COMPLETE", "PRUNED")}
    assert len(killed) == 1 and done_before

    second = _worker(vib_config, folder, 4)
    out2 = second.communicate(timeout=240)[0]
    assert second.returncode == 0, out2[-3000:]
    after = _study_trials(url, folder)
    finished = [t for t in after if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4 and not [t for t in after if t.state.name == "RUNNING"]
    assert {t.number for t in finished} >= done_before
    for n in done_before:  # kept as they were: same worker, same values
        old, new = before[n], next(t for t in after if t.number == n)
        assert new.user_attrs["worker"] == old.user_attrs["worker"] and new.values == old.values
    killed_trial = next(t for t in after if t.number == killed[0])
    assert killed_trial.state.name == "FAIL"
    retry = [t for t in finished if t.system_attrs.get("failed_trial") == killed[0]]
    assert len(retry) == 1 and retry[0].params == killed_trial.params
    assert list((folder / ".work").iterdir()) == []  # the killed worker's scratch is gone too
    assert _reported(out1) & _reported(out2) == set()
    assert _reported(out2) == {t.number for t in finished} - done_before
    assert all(t.user_attrs.get("status") == "surplus" for t in after if t.state.name == "FAIL"
               and t.number != killed[0])


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture
def postgres():
    """A PostgreSQL server on 127.0.0.1 for this test, in a temporary data directory, always
    stopped afterwards. As root, the server runs as the `postgres` user (initdb refuses root)."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        if shutil.which("runuser") is None:
            pytest.skip("running as root and runuser is missing: cannot start PostgreSQL as `postgres`")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="tinyml-pg-", dir="/tmp"))  # reachable by the postgres user
    if as_user:
        shutil.chown(root, "postgres")
    data, log = root / "data", root / "server.log"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = False
    try:
        init = subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                               "--no-sync"], capture_output=True, text=True, timeout=120)
        if init.returncode != 0:
            pytest.skip(f"initdb failed here: {init.stderr.strip()[-300:]}")
        start = subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                               capture_output=True, text=True, timeout=90)
        started = True
        if start.returncode != 0:
            pytest.skip(f"PostgreSQL did not start: {start.stderr.strip()[-300:]}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_a_postgres_study(vib_config, tmp_path, postgres):
    """The same command on two "machines" (two processes, two tune folders) with one
    --storage: the study ends with exactly 4 finished trials, each run by one worker."""
    workers = [_worker(vib_config, tmp_path / f"machine-{i}", 4, postgres) for i in range(2)]
    outputs = []
    try:
        for w in workers:
            outputs.append(w.communicate(timeout=300)[0])
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
                w.communicate(timeout=30)
    for w, out in zip(workers, outputs):
        assert w.returncode == 0, out[-3000:]
    import optuna

    name = json.loads((tmp_path / "machine-0" / "tune.json").read_text())["study"]
    assert json.loads((tmp_path / "machine-1" / "tune.json").read_text())["study"] == name
    trials = optuna.load_study(study_name=name, storage=postgres).get_trials(deepcopy=False)
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 4 and sorted(t.number for t in finished) == sorted({t.number for t in finished})
    assert all(t.user_attrs.get("status") == "surplus" for t in trials if t.state.name == "FAIL")
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    reported = [_reported(out) for out in outputs]
    assert reported[0] & reported[1] == set() and reported[0] | reported[1] == {t.number for t in finished}
    assert len({t.user_attrs["worker"] for t in finished}) == 2, [t.user_attrs["worker"] for t in finished]


def test_a_tuned_kws_config_trains_its_network_and_front_end(tmp_path):
    """What --apply writes for kws is what `tinyml train` trains: the searched DS-CNN shape and
    MFCC front-end reach the run's model and metrics (a small made-up keyword set, 1 epoch)."""
    from tinyml.datasets.store import Dataset, save
    from tinyml.tflite.model import read_tflite
    from tinyml.train import kws

    rng = np.random.default_rng(3)
    classes = [f"w{i}" for i in range(10)] + ["_silence_", "_unknown_"]
    labels = np.repeat(np.arange(12), 9)
    t = np.arange(16000) / 16000
    x = np.array([3000 * np.sin(2 * np.pi * (200 + 250 * k) * t) + rng.normal(0, 300, 16000) for k in labels])
    folder = save(Dataset("kws", x.astype(np.int16), labels, np.tile([0] * 7 + [1, 2], 12), classes, 16000,
                          meta={"source": "made up for a test"}), tmp_path / "words")
    cfg = KwsTrainConfig(dataset=str(folder), epochs=1, channels=16, blocks=1, kernel_frames=4, kernel_coeffs=3,
                         stride_frames=3, hop_samples=640, mel_bands=20, mfcc_coefficients=13,
                         normalize="window_mean")
    run = kws.train(cfg, runs_root=tmp_path / "runs", progress=False)
    assert run.metrics["frontend"] == cfg.frontend().as_dict() and cfg.frontend().shape == (25, 13)
    assert run.metrics["frontend"]["normalize"] == "window_mean"
    model = read_tflite(run.tflite.read_bytes())
    inputs = model.tensor(model.inputs[0])
    assert inputs.shape == (1, 25, 13, 1) and inputs.zero_point.tolist() == [0]  # centred windows
    assert [op.opcode for op in model.operators].count("DEPTHWISE_CONV_2D") == 1
    assert load_config(KwsTrainConfig, run.folder / "config.toml") == cfg
