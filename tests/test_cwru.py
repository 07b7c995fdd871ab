"""CWRU as people have it: the Bearing Data Center's numbers, the descriptive names copies carry,
a --labels CSV for anything else; the original rates kept, only common channels, and splits by
time within each recording that leave no split without normal windows. Fixtures are tiny .mat
files with CWRU's variable names, written here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import io as sio
from scipy import signal

from tinyml.datasets import import_cwru, load, save
from tinyml.datasets.cwru import RECORDS, describe
from tinyml.datasets.store import Dataset, split_problem
from tinyml.datasets.vibration_synth import CLASSES, VibrationConfig
from tinyml.datasets.vibration_synth import generate as make_vibration
from tinyml.errors import TinymlError

from conftest import one_line_error

W = 256
CLI = [sys.executable, "-m", "tinyml"]


def write_mat(path, record, seconds, rate, channels=("DE", "FE", "BA"), rpm=1797, seed=0):
    """A CWRU-style .mat file: X<record>_<channel>_time columns (g) and X<record>RPM."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    data = {f"X{record:03d}_{c}_time": rng.standard_normal((n, 1)) * 0.2 for c in channels}
    if rpm:
        data[f"X{record:03d}RPM"] = np.array([[rpm]], dtype=float)
    sio.savemat(path, data)
    return {c: data[f"X{record:03d}_{c}_time"][:, 0] for c in channels}


FILES = {  # name: (record inside, seconds, rate it was recorded at, channels)
    "97.mat": (97, 1.5, 48000, ("DE",)),                            # normal, by number, DE only
    "105.mat": (105, 1.0, 12000, ("DE", "FE", "BA")),               # IR007 0 HP, by number
    "12k_Drive_End_B007_0_118.mat": (118, 1.0, 12000, ("DE", "FE")),
    "48k_Drive_End_IR014_2_176.mat": (176, 1.0, 48000, ("DE", "FE", "BA")),
    "12k_Fan_End_OR007@6_1_295.mat": (295, 1.0, 12000, ("DE", "FE", "BA")),
    "OR021@6_0.mat": (234, 1.0, 12000, ("DE", "FE", "BA")),         # the older scheme: record inside
    "bench_run_3.mat": (0, 1.0, 24000, ("DE", "FE", "BA")),         # anything else: --labels
}


def cwru_layout(root, files=FILES):
    root.mkdir(parents=True, exist_ok=True)
    signals = {}
    for seed, (name, (record, seconds, rate, channels)) in enumerate(files.items()):
        signals[name] = write_mat(root / name, record, seconds, rate, channels, seed=seed)
    labels = root.parent / f"{root.name}-labels.csv"
    labels.write_text("file,label,machine,load\nbench_run_3.mat,IR014,test bench,2\n")
    return signals, labels


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    root = tmp_path_factory.mktemp("cwru") / "cwru"
    signals, labels = cwru_layout(root)
    return root, signals, labels


@pytest.fixture(scope="module")
def imported(layout):
    root, _, labels = layout
    return import_cwru(root, labels=labels, source_rate=24000)


def by_file(data):
    return {r["file"]: r for r in data.meta["recordings"]}


def windows_of(data, name, split=None):
    g = data.meta["files"].index(name)
    keep = data.groups == g
    if split is not None:
        keep &= data.split == split
    return np.flatnonzero(keep)


def test_the_published_tables_are_complete_and_agree_with_the_descriptive_names():
    assert len(RECORDS) == 4 + 60 + 52 + 45  # normal, 12k drive end, 48k drive end, 12k fan end
    assert RECORDS[97].label == "normal" and RECORDS[97].rate == 48000 and RECORDS[100].load == 3
    assert (RECORDS[118].code, RECORDS[118].load, RECORDS[118].rate, RECORDS[118].end) == \
        ("B007", 0, 12000, "drive")
    assert (RECORDS[176].code, RECORDS[176].load, RECORDS[176].rate) == ("IR014", 2, 48000)
    assert (RECORDS[295].code, RECORDS[295].load, RECORDS[295].end) == ("OR007@6", 1, "fan")
    assert (RECORDS[217].code, RECORDS[217].load) == ("IR021", 3)     # 216 was never published
    assert (RECORDS[310].code, RECORDS[310].load) == ("OR014@3", 0)   # 309/310 swapped in the table
    assert (RECORDS[318].code, RECORDS[318].load) == ("OR021@3", 3)
    assert (RECORDS[3008].code, RECORDS[3008].severity) == ("B028", 3)
    assert {r.label for r in RECORDS.values()} == {"normal", "inner_race", "ball", "outer_race"}


def test_numbers_descriptive_names_and_labels_import_with_their_conditions(imported):
    files = by_file(imported)
    assert {f: (r["label"], r["severity"], r["load"]) for f, r in files.items()} == {
        "97.mat": ("normal", 0, 0),
        "105.mat": ("inner_race", 1, 0),
        "12k_Drive_End_B007_0_118.mat": ("ball", 1, 0),
        "48k_Drive_End_IR014_2_176.mat": ("inner_race", 2, 2),
        "12k_Fan_End_OR007@6_1_295.mat": ("outer_race", 1, 1),
        "OR021@6_0.mat": ("outer_race", 3, 0),
        "bench_run_3.mat": ("inner_race", 2, 2),
    }
    assert files["OR021@6_0.mat"]["record"] == 234 and files["bench_run_3.mat"]["record"] is None
    assert files["bench_run_3.mat"]["machine"] == "test bench"
    assert files["105.mat"]["machine"] == "CWRU bearing test rig" and files["105.mat"]["rpm"] == 1797
    for name, index in zip(imported.meta["files"], range(len(FILES))):
        assert {imported.classes[c] for c in imported.labels[imported.groups == index]} == \
            {files[name]["label"]}


def test_original_rates_are_recorded_and_the_signal_is_resampled_not_faked(imported, layout):
    _, signals, _ = layout
    files = by_file(imported)
    assert {f: (r["rate"], r["rate_from"]) for f, r in files.items()} == {
        "97.mat": (48000, "CWRU record 97"), "105.mat": (12000, "CWRU record 105"),
        "12k_Drive_End_B007_0_118.mat": (12000, "CWRU record 118"),
        "48k_Drive_End_IR014_2_176.mat": (48000, "CWRU record 176"),
        "12k_Fan_End_OR007@6_1_295.mat": (12000, "CWRU record 295"),
        "OR021@6_0.mat": (12000, "CWRU record 234"), "bench_run_3.mat": (24000, "--rate")}
    assert imported.sample_rate == 3200 and imported.meta["original_rates"] == [12000, 24000, 48000]
    for name, (up, down) in (("97.mat", (1, 15)), ("105.mat", (4, 15)), ("bench_run_3.mat", (2, 15))):
        expected = signal.resample_poly(signals[name]["DE"], up, down)
        for i in windows_of(imported, name):
            start = imported.meta["window_start"][i]
            assert np.allclose(imported.x[i, 0], expected[start:start + W], atol=1e-6)


def test_only_the_channels_every_file_has_are_kept_and_the_dropped_ones_named(imported):
    assert imported.x.shape[1:] == (1, W) and imported.meta["axes"] == ["DE"]
    assert imported.meta["channels_dropped"] == {
        "FE": ["97.mat"], "BA": ["12k_Drive_End_B007_0_118.mat", "97.mat"]}
    assert np.all(np.std(imported.x[:, 0], axis=1) > 0.02)  # a signal in every window, never zeros
    text = "\n".join(describe(imported))
    assert "channels: DE (one axis each)" in text
    assert "dropped FE: not in 97.mat" in text
    assert "dropped BA: not in 12k_Drive_End_B007_0_118.mat, 97.mat" in text


def test_two_common_channels_make_two_axes_never_a_filled_third(tmp_path):
    signals = {"97.mat": write_mat(tmp_path / "97.mat", 97, 1.0, 48000, ("DE", "FE")),
               "105.mat": write_mat(tmp_path / "105.mat", 105, 1.0, 12000, ("DE", "FE", "BA"), seed=1)}
    data = import_cwru(tmp_path)
    assert data.x.shape[1:] == (2, W) and data.meta["axes"] == ["DE", "FE"]
    assert data.meta["channels_dropped"] == {"BA": ["97.mat"]}
    fe = signal.resample_poly(signals["105.mat"]["FE"], 4, 15)
    i = windows_of(data, "105.mat")[3]
    assert np.allclose(data.x[i, 1], fe[data.meta["window_start"][i]:][:W], atol=1e-6)


def test_each_recording_is_split_in_time_with_a_window_between_segments(imported):
    # 1 s at any rate is 3200 samples at 3200 Hz: 12 window slots, 2 left out between segments,
    # 10 windows: 6 train, 2 val, 2 test. 97.mat (1.5 s): 18 slots, 16 windows: 12, 2, 2.
    starts = np.array(imported.meta["window_start"])
    assert list(starts[windows_of(imported, "105.mat", 0)]) == [0, 256, 512, 768, 1024, 1280]
    assert list(starts[windows_of(imported, "105.mat", 1)]) == [1792, 2048]
    assert list(starts[windows_of(imported, "105.mat", 2)]) == [2560, 2816]
    assert [len(windows_of(imported, "97.mat", s)) for s in range(3)] == [12, 2, 2]
    for name in FILES:
        parts = [starts[windows_of(imported, name, s)] for s in range(3)]
        assert all(len(p) for p in parts), name
        assert parts[0].max() + 2 * W <= parts[1].min() and parts[1].max() + 2 * W <= parts[2].min()
        every = np.sort(np.concatenate(parts))
        assert np.all(np.diff(every) >= W)  # no two windows of a recording overlap
    normal = CLASSES.index("normal")
    assert [int(np.sum((imported.split == s) & (imported.labels == normal))) for s in range(3)] == [12, 2, 2]
    assert split_problem(imported) is None
    assert len(imported.x) == 16 + 6 * 10


def test_cli_imports_says_what_it_dropped_and_trains(tmp_path, layout):
    root, _, labels = layout
    env = {**os.environ, "TINYML_DATA": str(tmp_path / "cache")}
    out = tmp_path / "cwru-set"
    done = subprocess.run([*CLI, "datasets", "import", "cwru", str(root), "-o", str(out), "--labels",
                           str(labels), "--rate", "24000"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"Imported 76 windows of 7 recordings into {out}" in done.stdout
    assert "dropped FE: not in 97.mat" in done.stdout
    assert "48000 Hz: 48k_Drive_End_IR014_2_176.mat, 97.mat" in done.stdout
    assert "train 48 (12 normal), val 14 (2 normal), test 14 (2 normal)" in done.stdout
    assert load(out).meta["recordings"][0]["file"] == "105.mat"
    trained = subprocess.run([*CLI, "train", "vibration", "--dataset", str(out), "--epochs", "3",
                              "--runs", str(tmp_path / "runs")], env=env, capture_output=True,
                             text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "Run: " in trained.stdout
    run_dir = next((tmp_path / "runs").iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["frontend"]["axes"] == 1 and metrics["model"]["parameters"] > 0
    assert (metrics["test_normal"], metrics["test_faults"]) == (2, 12)
    # A one-axis model runs on a board: the firmware takes the model's axes (here in QEMU, where
    # the replayed recording has one channel; on a board, the first of the accelerometer's three).
    checked = subprocess.run([*CLI, "validate", "--board", "emu-cortex-m4", "--run", str(run_dir), "--raw",
                              "--jobs", "1", "-o", str(tmp_path / "validate")], env=env, capture_output=True,
                             text=True, timeout=600)
    assert checked.returncode == 0, checked.stderr[-3000:]
    report = json.loads((tmp_path / "validate" / "validation.json").read_text())
    assert (report["input"], report["samples"], report["agreement"]) == ("raw", 14, 1.0), report

    # ... and calibrates there to the machine, from a recording of its normal running: the
    # normal recording's windows (twice over: the fixture's recording is 1.5 s, calibration
    # wants 20 windows), sent through the board's front-end and model.
    from tinyml.boards import load_board
    from tinyml.calibrate import calibrate_on_host, windows_of
    from tinyml.datasets.capture import _Source, _write_csv
    from tinyml.firmware import build_app
    from tinyml.firmware.apps import frontend_spec, raw_windows
    from tinyml.flash import start_board

    data = load(out)
    spec = frontend_spec("vibration", metrics)
    normal = raw_windows("vibration", data.x[data.labels == data.classes.index("normal")], spec)
    frames = np.concatenate([normal, normal]).transpose(0, 2, 1).reshape(-1, 1)
    recording = tmp_path / "normal.csv"
    _write_csv(recording, frames, _Source("vibration", spec.sample_rate, 1, spec.g_per_count, spec.window,
                                          "cwru", "-"), [len(frames)])
    host = calibrate_on_host(run_dir, windows_of(frames, 1, spec.window), 0.05)
    board = load_board("emu-cortex-m4")
    built = build_app("vibration", run_dir, board, tmp_path / "firmware")
    with start_board(board, built.built.firmware) as running:
        calibrated = subprocess.run([*CLI, "calibrate", "--port", running.url, "--recording", str(recording),
                                     "--run", str(run_dir), "--false-alarm-rate", "0.05", "--no-progress"],
                                    env=env, capture_output=True, text=True, timeout=300)
        assert calibrated.returncode == 0, calibrated.stderr[-3000:]
        assert f"{len(frames) // spec.window} windows" in calibrated.stdout
        stored = json.loads((run_dir / "calibration.json").read_text())
        assert stored["levels"] == host.levels and np.float32(stored["threshold"]) == np.float32(host.threshold)
        info = subprocess.run([*CLI, "info", "--port", running.url], capture_output=True, text=True, timeout=60)
        assert "calibrated yes" in info.stdout, info.stdout


def run_cli(*args, env=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})




def test_a_normal_recording_too_short_for_three_splits_is_a_one_line_error(tmp_path):
    write_mat(tmp_path / "97.mat", 97, 0.2, 48000, ("DE", "FE"))   # 640 samples at 3200 Hz
    write_mat(tmp_path / "105.mat", 105, 1.0, 12000, ("DE", "FE"), seed=1)
    line = one_line_error(run_cli("datasets", "import", "cwru", str(tmp_path), "-o", str(tmp_path / "o")))
    assert line == (f"Error: {tmp_path}: no normal windows in val and test (train has 2): "
                    "97.mat (0.2 s) is too short to split in time: a recording needs 0.4 s (5 windows "
                    "of 256 samples at 3200 Hz) to give windows to train, val and test; add longer "
                    "or more normal recordings")
    assert not (tmp_path / "o").exists()


def test_no_normal_recording_at_all_says_what_to_add(tmp_path):
    write_mat(tmp_path / "105.mat", 105, 1.0, 12000, ("DE",))
    with pytest.raises(TinymlError, match=r"no normal windows in train, val and test.*add CWRU's normal "
                                          r"baseline \(97.mat-100.mat\)"):
        import_cwru(tmp_path)


def test_an_unknown_name_is_a_one_line_error_naming_the_labels_fix(tmp_path):
    write_mat(tmp_path / "97.mat", 97, 1.0, 48000, ("DE",))
    write_mat(tmp_path / "pump_a.mat", 0, 1.0, 12000, ("DE",), seed=1)
    line = one_line_error(run_cli("datasets", "import", "cwru", str(tmp_path)))
    assert "pump_a.mat: cannot tell the fault from the name 'pump_a.mat'" in line
    assert "--labels CSV (file,label,machine[,load])" in line


@pytest.mark.parametrize("breakage,message", [
    ("no_rate", "bench_run_3.mat: cannot tell its sampling rate"),
    ("bad_label", "line 2: unknown label 'bearing'"),
    ("missing_file", "lists gone.mat, which is not in"),
    ("no_column", "needs the columns file, label and machine"),
    ("conflict", "12k_Drive_End_B007_0_119.mat: its name says B007 at 0 HP, 12 kHz drive end, but CWRU "
                 "record 119 is B007 at 1 HP, 12 kHz drive end"),
    ("duplicate", "97.mat and normal_0_97.mat are the same recording"),
])
def test_bad_input_names_the_file_and_the_fix(tmp_path, breakage, message):
    root = tmp_path / "cwru"
    files = {k: v for k, v in FILES.items() if k in ("97.mat", "105.mat", "bench_run_3.mat")}
    _, labels = cwru_layout(root, files)
    rate = None if breakage == "no_rate" else 24000
    if breakage == "bad_label":
        labels.write_text("file,label,machine\nbench_run_3.mat,bearing,rig\n")
    if breakage == "missing_file":
        labels.write_text("file,label,machine\nbench_run_3.mat,normal,rig\ngone.mat,normal,rig\n")
    if breakage == "no_column":
        labels.write_text("file,label\nbench_run_3.mat,normal\n")
    if breakage == "conflict":
        write_mat(root / "12k_Drive_End_B007_0_119.mat", 119, 1.0, 12000)
    if breakage == "duplicate":
        write_mat(root / "normal_0_97.mat", 97, 1.0, 48000, ("DE",))
    with pytest.raises(TinymlError, match=re_escape(message)):
        import_cwru(root, labels=labels, source_rate=rate)


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_a_file_holding_two_recordings_takes_the_one_its_name_says(tmp_path):
    """CWRU's 99.mat (normal, 2 HP) also holds a copy of record 98."""
    rng = np.random.default_rng(3)
    sio.savemat(tmp_path / "Normal_2.mat", {"X098_DE_time": rng.standard_normal((48000, 1)),
                                            "X099_DE_time": 5 * rng.standard_normal((48000, 1))})
    write_mat(tmp_path / "105.mat", 105, 1.0, 12000, ("DE",), seed=1)
    data = import_cwru(tmp_path)
    normal = by_file(data)["Normal_2.mat"]
    assert (normal["record"], normal["load"], normal["rate"]) == (99, 2, 48000)
    assert np.std(data.x[windows_of(data, "Normal_2.mat")]) > 1  # X099 (1.29 after the low-pass), not X098 (0.26)


def vibration_set(split_of_normal, split_of_faults=(0, 1, 2)) -> Dataset:
    rng = np.random.default_rng(0)
    labels = [0] * len(split_of_normal) + [2] * len(split_of_faults)
    return Dataset("vibration", rng.standard_normal((len(labels), 3, W)).astype(np.float32) * 0.1,
                   np.array(labels, dtype=np.int16), np.array([*split_of_normal, *split_of_faults], np.int8),
                   CLASSES, 3200, None, {"source": "hand-made", "severity": [0] * len(labels)})


def test_split_problems_are_named():
    assert split_problem(vibration_set([0, 1, 2])) is None
    assert split_problem(vibration_set([0, 0, 0])) == "no normal windows in val and test (train has 3)"
    assert split_problem(vibration_set([0, 1, 2], (0, 0, 1))) == "no inner_race windows in test"


def test_training_on_a_set_without_normal_validation_windows_is_a_one_line_error(tmp_path):
    save(vibration_set([0, 0, 2, 2]), tmp_path / "set")
    line = one_line_error(run_cli("train", "vibration", "--dataset", str(tmp_path / "set"), "--epochs", "1",
                                  "--runs", str(tmp_path / "runs")))
    assert line.startswith(f"Error: {tmp_path / 'set'}: no normal windows in val (train has 2, test has 2): ")
    assert "`tinyml datasets import cwru`" in line
    assert not (tmp_path / "runs").exists()


def test_the_synthetic_set_refuses_to_leave_a_split_without_normal_windows():
    with pytest.raises(TinymlError, match=r"no normal windows in .*: give it more windows"):
        make_vibration(VibrationConfig(normal_windows=2, fault_windows_per_severity=4, seed=0),
                       progress=False)
    # a class missing from test is training's to refuse (a set made for its features may lack one)
    few = make_vibration(VibrationConfig(normal_windows=60, fault_windows_per_severity=5, machines=10, seed=4),
                         progress=False)
    assert split_problem(few) == "no outer_race and ball windows in test"
    assert split_problem(few, every_class_in_test=False) is None
