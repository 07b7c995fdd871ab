"""`tinyml capture`: raw sensor frames from a firmware over the framed link into dataset folders.

The boards here are emulated, so their sensor is the replay sensor: it plays the recording
`tinyml build` embedded, which the tests know (AppFirmware.replay), so every captured sample
is checked against it. The replay waits for its reader; a real sensor does not, so one test
builds the same firmware without SENSOR_WAITS: its capture ring then fills before the host
reads it, as on a link slower than the sensor, and the recording comes in whole-window pieces.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tinyml.boards import load_board
from tinyml.datasets import audio
from tinyml.datasets.capture import MANIFEST, _write_csv, _Source, capture, import_capture, read_recording
from tinyml.errors import TinymlError
from tinyml.flash import start_board
from tinyml.link import open_device

from conftest import one_line_error

pytestmark = pytest.mark.slow
TINYML = [sys.executable, "-m", "tinyml"]




@pytest.fixture(scope="module")
def kws_board(app_builds):
    built = app_builds("kws", "emu-cortex-m4", capture=True)
    with start_board(load_board("emu-cortex-m4"), built.built.firmware) as running:
        yield running.url, built.firmware.replay


def test_kws_clips_are_the_replayed_recording_and_resume(kws_board, tmp_path):
    url, replay = kws_board
    folder = tmp_path / "words"
    with open_device(url) as device:
        first = capture(device, folder, "yes", count=2, progress=False)
    assert [p.name for p in first.new_files] == ["me_nohash_0.wav", "me_nohash_1.wav"]
    for k, path in enumerate(first.new_files):
        assert np.array_equal(audio.read_wav(path), replay[k * 16000:(k + 1) * 16000])
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["kind"] == "kws" and manifest["rate_hz"] == 16000 and manifest["channels"] == 1
    assert set(manifest["files"]) == {"yes/me_nohash_0.wav", "yes/me_nohash_1.wav"}

    # Damage one file: the same command (now for 3) captures it again and one more, keeps the other.
    (folder / "yes/me_nohash_1.wav").write_bytes(b"RIFF broken")
    with open_device(url) as device:
        again = capture(device, folder, "yes", count=3, progress=False)
    assert (again.kept, again.recaptured, len(again.new_files), again.done) == (1, 1, 2, 3)
    # A new session starts the sensor anew: the replay from its first sample.
    assert np.array_equal(audio.read_wav(again.new_files[0]), replay[:16000])
    assert np.array_equal(audio.read_wav(again.new_files[1]), replay[16000:32000])
    with open_device(url) as device:
        done = capture(device, folder, "yes", count=3, progress=False)
    assert (done.kept, done.new_files) == (3, [])

    from tinyml.datasets.speech_commands import _clip, _speaker

    assert all(_speaker(p) == "me" and _clip(p).shape == (16000,) for p in (folder / "yes").glob("*.wav"))


def test_kws_capture_cli_and_its_errors(kws_board, tmp_path):
    url, replay = kws_board
    out = tmp_path / "cli"
    ok = subprocess.run([*TINYML, "capture", "--port", url, "--label", "no", "--count", "1", "--pause", "0",
                         "-o", str(out), "--speaker", "anna"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "no: 1 clips in" in ok.stdout and "1 new file(s)" in ok.stdout
    assert np.array_equal(audio.read_wav(out / "no/anna_nohash_0.wav"), replay[:16000])
    cases = [
        (["--seconds", "3"], "a kws firmware captures clips: give --count N"),
        (["--count", "1", "--speaker", "Anna_B"], "--speaker 'Anna_B' may hold only lower-case letters"),
        (["--count", "99"], "ended (a replayed recording) before the last whole clip"),
    ]
    for extra, text in cases:
        result = subprocess.run([*TINYML, "capture", "--port", url, "--label", "no", "--pause", "0",
                                 "-o", str(tmp_path / "bad"), "--no-progress", *extra],
                                capture_output=True, text=True, timeout=300)
        assert text in one_line_error(result)
    (out / MANIFEST).write_text("{not json")
    result = subprocess.run([*TINYML, "capture", "--port", url, "--label", "no", "--count", "1", "-o", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert f"{out / MANIFEST} is damaged" in one_line_error(result)
    (out / MANIFEST).write_text(json.dumps({"files": {"no/anna_nohash_0.wav": "a string"}}))
    result = subprocess.run([*TINYML, "capture", "--port", url, "--label", "no", "--count", "1", "-o", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert "the entry for no/anna_nohash_0.wav lacks its label, sha256 or frames" in one_line_error(result)
    result = subprocess.run([*TINYML, "capture", "--port", url, "--label", "no", "--count", "1", "--pause", "-1",
                             "-o", str(tmp_path / "p")], capture_output=True, text=True, timeout=120)
    assert "--pause -1: give 0 or more seconds" in one_line_error(result)
    blocked = tmp_path / "blocked"
    (blocked / "no" / "me_nohash_0.wav").mkdir(parents=True)  # where the first clip must go
    result = subprocess.run([*TINYML, "capture", "--port", url, "--label", "no", "--count", "1", "--pause", "0",
                             "--no-progress", "-o", str(blocked)], capture_output=True, text=True, timeout=120)
    assert f"cannot write the capture folder {blocked}" in one_line_error(result)


@pytest.mark.parametrize("board_id", ["megaatmega2560", "emu-cortex-m4"])
def test_vibration_recording_is_the_replayed_recording(app_builds, board_id, tmp_path):
    """On the Arduino core (the Mega in QEMU) and on the Cortex-M4: every triple as replayed."""
    built = app_builds("vibration", board_id)
    frames = built.firmware.replay.reshape(-1, 3)
    rate = built.firmware.spec.sample_rate
    with start_board(load_board(board_id), built.built.firmware) as running:
        with open_device(running.url) as device:
            result = capture(device, tmp_path, "normal", seconds=1000 / rate, segment_seconds=600 / rate,
                             machine="rig", progress=False)
            with pytest.raises(TinymlError, match="ended .* before the last whole window"):
                capture(device, tmp_path / "long", "normal", seconds=1.0, progress=False)
    assert [p.name for p in result.new_files] == ["rig_0.csv", "rig_1.csv"]
    got = [read_recording(p) for p in result.new_files]
    assert [len(g[0]) for g in got] == [600, 400] and result.pieces == 2
    assert np.array_equal(np.concatenate([g[0] for g in got]), frames[:1000])
    assert got[0][1] == rate and got[0][2] == pytest.approx(built.firmware.spec.g_per_count)
    # What the source held before it ended is kept, in whole windows.
    long = [read_recording(p)[0] for p in sorted((tmp_path / "long" / "normal").glob("*.csv"))]
    kept = np.concatenate(long)
    assert len(kept) == len(frames) // 256 * 256 and np.array_equal(kept, frames[:len(kept)])


def test_a_sensor_that_does_not_wait_comes_in_whole_window_pieces(runs, tmp_path):
    """Without SENSOR_WAITS the replay is read like a real sensor: the ring (one window) fills
    before the host reads it, the capture overruns, and each piece is one whole window."""
    from tinyml.firmware.build import build_firmware, prepare_within_budget

    board = load_board("emu-cortex-m4")
    firmware, _ = prepare_within_budget("vibration", runs["vibration"], board, tmp_path / ".tinyml", None)
    del firmware.parts.defines["SENSOR_WAITS"]
    built = build_firmware(board, tmp_path / "fw", "vibration", firmware.parts)
    frames = firmware.replay.reshape(-1, 3)
    with start_board(board, built.firmware) as running:
        with open_device(running.url) as device:
            result = capture(device, tmp_path / "cap", "normal", seconds=1024 / firmware.spec.sample_rate,
                             progress=False)
    (path,) = result.new_files
    counts, _, _ = read_recording(path)
    assert result.pieces == 4 and "pieces=256 256 256 256" in path.read_text().splitlines()[1]
    assert np.array_equal(counts, frames[:1024])  # the replay waited while nothing was read


def test_import_capture_cuts_recordings_in_time(tmp_path):
    """Recordings as capture writes them (here from a seeded signal, not a board) become a
    vibration set split in time, every class in every split; damage is refused by its sha256."""
    import hashlib

    rng = np.random.default_rng(0)
    source = _Source("vibration", 3200, 3, 0.004, 256, "emu-cortex-m4", "b1")
    files = {}
    for label, name in (("normal", "normal/rig_0.csv"), ("outer_race", "outer_race/rig_0.csv")):
        counts = rng.integers(-2000, 2000, size=(3200 * 2, 3)).astype(np.int16)
        (tmp_path / label).mkdir()
        _write_csv(tmp_path / name, counts, source, [len(counts)])
        files[name] = {"label": label, "frames": len(counts), "machine": "rig",
                       "sha256": hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()}
    (tmp_path / MANIFEST).write_text(json.dumps({"kind": "vibration", "rate_hz": 3200, "channels": 3,
                                                 "g_per_count": 0.004, "files": files}))
    data = import_capture(tmp_path)
    assert data.x.shape[1:] == (3, 256) and len(data.x) == 2 * 23
    assert data.counts()["test"] == {"normal": 3, "outer_race": 3, **{c: 0 for c in data.classes
                                                                       if c not in ("normal", "outer_race")}}
    done = subprocess.run([*TINYML, "datasets", "import", "capture", str(tmp_path), "-o", str(tmp_path / "set")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"Imported 46 windows of 2 recordings into {tmp_path / 'set'}" in done.stdout
    first = read_recording(tmp_path / "normal/rig_0.csv")[0]
    assert np.allclose(data.x[0], first[:256].T * 0.004, atol=1e-6)
    (tmp_path / "normal/rig_0.csv").write_text("# damaged\n")
    with pytest.raises(TinymlError, match="differs from what was captured"):
        import_capture(tmp_path)
    files["normal/rig_0.csv"]["label"] = "wobbly"
    (tmp_path / MANIFEST).write_text(json.dumps({"kind": "vibration", "files": files}))
    with pytest.raises(TinymlError, match="the entry for normal/rig_0.csv has no vibration class label"):
        import_capture(tmp_path)


def test_a_firmware_without_a_sensor_is_refused_in_one_line(skeleton_builds, tmp_path):
    built = skeleton_builds("native")
    with start_board(load_board("native"), built.firmware) as running:
        result = subprocess.run([*TINYML, "capture", "--port", running.url, "--label", "yes", "--count", "1",
                                 "-o", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert "is the skeleton app, which reads no sensor: flash a kws or vibration firmware" in one_line_error(result)


def test_a_listening_kws_firmware_keeps_no_clip_and_says_how_to_build_one(app_builds, tmp_path, no_orphans):
    """The default kws build keeps only its streaming front-end's audio (issue #17's 6 KB): a
    capture asks for the build that holds a clip, in one line, and writes nothing."""
    built = app_builds("kws", "emu-cortex-m4")
    assert "capture clip" not in built.firmware.buffers
    assert "capture clip" in app_builds("kws", "emu-cortex-m4", capture=True).firmware.buffers
    with start_board(load_board("emu-cortex-m4"), built.built.firmware) as running:
        result = subprocess.run([*TINYML, "capture", "--port", running.url, "--label", "yes", "--count", "1",
                                 "-o", str(tmp_path / "c")], capture_output=True, text=True, timeout=120)
    assert ("keeps no clip to capture" in one_line_error(result)
            and "--app kws --run RUN --capture" in one_line_error(result))
    assert not (tmp_path / "c" / "yes").exists()
