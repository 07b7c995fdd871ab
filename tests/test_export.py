"""`tinyml export`: a run as an Arduino library zip or a PlatformIO library folder.

The Arduino library's example is built with arduino-builder against Debian's Arduino AVR core
(1.8.7) for the Mega 2560 and run in QEMU; the kws library (too big for a Mega) and the
PlatformIO folder are built for the host against a small stand-in for Arduino.h. Every run
prints, for the recording baked into the example, the model's int8 outputs, which must equal
the host pipeline's (numpy front-end + TFLite Micro) byte for byte."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import serial

from tinyml.boards import load_board
from tinyml.calibrate import host_scores
from tinyml.convert.tflm import TflmModel
from tinyml.firmware.apps import (IGNORED_KWS_CLASSES, LiveSettings, frontend_spec, host_features,
                                  host_outputs, normal_levels, read_run)
from tinyml.flash import start_board
from tinyml.tflite.model import read_tflite

from conftest import REPO
from test_compile_cli import tmpfs

pytestmark = pytest.mark.slow

TINYML_EXPORT = [sys.executable, "-m", "tinyml", "export"]
ARDUINO_HARDWARE = Path("/usr/share/arduino/hardware")
MEGA = "arduino:avr:mega:cpu=atmega2560"
# Debian's arduino-core-avr has the core but not the IDE's platform.txt, which holds the recipe
# for arduino-ctags (the sketch's prototypes); Debian's avr-gcc 5.4 lacks DECIMAL_DIG in C++11,
# which the core's WString.cpp reads.
ARDUINO_BUILDER_PREFS = [
    "tools.ctags.path=/usr/bin", "tools.ctags.cmd.path={path}/arduino-ctags",
    'tools.ctags.pattern="{cmd.path}" -u --language-force=c++ -f - --c++-kinds=svpf '
    '--fields=KSTtzns --line-directives "{source_file}"',
    "compiler.cpp.extra_flags=-DDECIMAL_DIG=17",
]
# Just enough of the Arduino API for the examples, printing to stdout, so a library can be
# built and run on the host. main() calls loop() far more often than any recording has samples.
ARDUINO_STUB = r"""
#ifndef ARDUINO_STUB_H
#define ARDUINO_STUB_H
#include <stdint.h>
#include <stdio.h>
#define F(text) (text)
struct StubSerial {
    void begin(unsigned long) {}
    void write(char c) { putchar(c); }
    void print(const char *s) { fputs(s, stdout); }
    void print(char c) { putchar(c); }
    void print(int v) { printf("%d", v); }
    void print(unsigned v) { printf("%u", v); }
    void print(long v) { printf("%ld", v); }
    void print(unsigned long v) { printf("%lu", v); }
    void print(double v, int digits) { printf("%.*f", digits, v); }
    void println() { fputs("\r\n", stdout); }
    void println(const char *s) { print(s); println(); }
    void println(double v, int digits) { print(v, digits); println(); }
};
extern StubSerial Serial;
void setup();
void loop();
#endif
"""
ARDUINO_STUB_MAIN = r"""
#include "Arduino.h"
StubSerial Serial;
int main() { setup(); for (long i = 0; i < 5000000L; ++i) loop(); return 0; }
"""


def export_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*TINYML_EXPORT, *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def assert_error(result: subprocess.CompletedProcess, message: str) -> None:
    """Exactly one line, `Error: ` and the message, exit 1, nothing on stdout."""
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"Error: {message}\n")


def unpack(zip_path: Path, into: Path) -> Path:
    """Unpacks as Arduino IDE's "Add .ZIP Library" does; returns the one top folder."""
    with zipfile.ZipFile(zip_path) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        assert len(tops) == 1, tops
        archive.extractall(into)
    return into / tops.pop()


def replay_frames(header: Path) -> np.ndarray:
    """The int16 recording baked into an example's replay_data.h."""
    text = header.read_text()
    body = text[text.index("{", text.index("replay_data[")) + 1: text.index("};")]
    return np.array([int(v) for v in body.split(",")], dtype=np.int16)


def output_lines(text: str) -> tuple[list[str], list[str]]:
    lines = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    assert lines[-1] == "done", lines[-3:]
    return ([line for line in lines if line.startswith("window ")],
            [line.split()[1] for line in lines if line.startswith("output ")])


def replay_calibration(header: Path) -> tuple[np.ndarray, np.float32]:
    """The levels and threshold an example's replay_calibration.h calibrates the detector with."""
    text = header.read_text()
    assert "#define REPLAY_CALIBRATED 1" in text, text
    body = text[text.index("{", text.index("replay_levels[")) + 1: text.index("};")]
    threshold = re.search(r"#define REPLAY_THRESHOLD (\S+)f", text)[1]
    return np.array([int(v) for v in body.split(",")], dtype=np.int16), np.float32(float(threshold))


def check_vibration_output(text: str, run: Path, frames: np.ndarray, calibration: Path) -> None:
    """Every window's output bytes as TFLM's, its score as the host's with the replayed machine's
    calibration, its verdict and alarm."""
    metrics = read_run(run, "vibration")
    spec = frontend_spec("vibration", metrics)
    windows = frames.reshape(-1, spec.window, spec.axes).transpose(0, 2, 1)
    levels, threshold = replay_calibration(calibration)
    assert levels.tolist() != metrics["normal_level"]  # a machine of its own, not the built-in average
    features = host_features("vibration", windows, spec, levels)
    outputs = TflmModel(run / "model_int8.tflite").run(features)
    scores = host_scores(run, features)
    results, hexes = output_lines(text)
    assert len(results) == len(hexes) == len(windows) == 8
    in_a_row, verdicts = 0, []
    for k, (line, hexed, o, score) in enumerate(zip(results, hexes, outputs, np.float32(scores)), 1):
        assert hexed == o.astype(np.uint8).tobytes().hex()  # every output byte
        anomalous = bool(score > threshold)
        in_a_row = in_a_row + 1 if anomalous else 0
        match = re.fullmatch(r"window (\d+) score=(\d+\.\d{4}) (ok|ANOMALY)( ALARM)?", line)
        assert match and int(match[1]) == k, line
        assert float(match[2]) == pytest.approx(float(score), abs=1.1e-4)
        assert match[3] == ("ANOMALY" if anomalous else "ok"), line
        assert bool(match[4]) == (in_a_row >= LiveSettings().alarm_windows), line
        verdicts.append(anomalous)
    assert any(verdicts) and not all(verdicts), verdicts  # normal windows, then faults


def check_kws_output(text: str, run: Path, frames: np.ndarray) -> None:
    """Every window of the sliding clip: output bytes as TFLM's, top class, score, keyword."""
    metrics = read_run(run, "kws")
    spec = frontend_spec("kws", metrics)
    hop = spec.sample_rate * LiveSettings().hop_ms // 1000
    starts = range(0, len(frames) - spec.clip_samples + 1, hop)
    windows = np.stack([frames[s:s + spec.clip_samples] for s in starts])
    outputs = host_outputs(run, "kws", windows)
    model = read_tflite(run / "model_int8.tflite")
    scale, zero_point = model.tensor(model.outputs[0]).quant()
    classes = metrics["classes"]
    results, hexes = output_lines(text)
    assert len(results) == len(hexes) == len(windows) == 7  # 2.5 s, a 1 s clip every 0.24 s (12 frames)
    for k, (line, hexed, o) in enumerate(zip(results, hexes, outputs), 1):
        assert hexed == o.astype(np.uint8).tobytes().hex()  # every output byte
        top = int(np.argmax(o))
        score = np.float32(scale) * np.float32(int(o[top]) - zero_point)
        keyword = classes[top] not in IGNORED_KWS_CLASSES and score >= np.float32(0.7)
        match = re.fullmatch(r"window (\d+) (\S+) p=(\d\.\d{3})( KEYWORD)?", line)
        assert match and int(match[1]) == k and match[2] == classes[top], line
        assert float(match[3]) == pytest.approx(float(score), abs=1.1e-3)
        assert bool(match[4]) == keyword, line


def build_on_host(library: Path, example: Path, out: Path) -> Path:
    """The library and its example compiled with the host's gcc/g++ against ARDUINO_STUB."""
    out.mkdir(parents=True)
    (out / "Arduino.h").write_text(ARDUINO_STUB)
    (out / "stub_main.cpp").write_text(ARDUINO_STUB_MAIN)
    sketch = out / "sketch.cpp"  # what an Arduino build makes of the .ino
    sketch.write_text('#include "Arduino.h"\n' + example.read_text())
    includes = ["-I", str(out), "-I", str(library / "src"), "-I", str(example.parent)]
    objects = []
    for source in sorted((library / "src").glob("*.c")):
        objects.append(out / f"{source.stem}.o")
        done = subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *includes,
                               "-c", str(source), "-o", str(objects[-1])],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    for source in [*sorted((library / "src").glob("*.cpp")), sketch, out / "stub_main.cpp"]:
        objects.append(out / f"{source.stem}_cpp.o")
        done = subprocess.run(["g++", "-std=gnu++11", "-O2", "-Wall", "-Wextra", "-Werror", *includes,
                               "-c", str(source), "-o", str(objects[-1])],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    program = out / "example"
    done = subprocess.run(["g++", *map(str, objects), "-lm", "-o", str(program)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return program


def read_serial_until_done(url: str, seconds: float) -> str:
    port = serial.serial_for_url(url, timeout=0.2)
    data = b""
    deadline = time.monotonic() + seconds
    try:
        while b"done\r\n" not in data:
            assert time.monotonic() < deadline, f"the example did not finish: {data[-300:]!r}"
            data += port.read(4096)
    finally:
        port.close()
    return data.decode("ascii")


@pytest.fixture(scope="session")
def vibration_run(quick_vibration_run) -> Path:
    return quick_vibration_run.folder


@pytest.fixture(scope="module")
def vibration_zip(vibration_run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "TinymlVibration.zip"
    done = export_cli(vibration_run, "--arduino-library", out)
    assert done.returncode == 0, done.stderr
    return out


# ---- the Arduino library zip -------------------------------------------------------------

def test_the_zip_is_an_arduino_library_under_one_top_folder(vibration_run, vibration_zip, tmp_path):
    library = unpack(vibration_zip, tmp_path)
    assert library.name == "TinymlVibration"
    properties = configparser.ConfigParser(interpolation=None)
    properties.read_string("[library]\n" + (library / "library.properties").read_text())
    fields = dict(properties["library"])
    assert fields["name"] == "TinymlVibration" and fields["version"] == "1.0.0"
    assert fields["architectures"] == "*" and fields["includes"] == "TinymlVibration.h"
    assert fields["author"] and fields["maintainer"] and fields["sentence"]
    assert "does not check" in fields["paragraph"]
    src = {p.name for p in (library / "src").iterdir()}
    assert {"TinymlVibration.h", "TinymlVibration.cpp", "tinyml_export_config.h", "model.c",
            "model.h", "tm_frontend.c", "tm_frontend.h", "tm_frontend_tables.h",
            "tm_fully_connected.c", "tm_kernels.h"} <= src
    assert sorted(p.name for p in (library / "examples" / "Replay").iterdir()) == \
        ["Replay.ino", "replay_calibration.h", "replay_data.h"]
    config = (library / "src" / "tinyml_export_config.h").read_text()
    threshold = read_run(vibration_run, "vibration")["threshold"]
    assert f"#define TINYML_VIB_THRESHOLD {threshold!r}f" in config
    assert "#define TINYML_VIB_WINDOW 256u" in config
    assert "FE_SPEC_FFT" in (library / "src" / "tm_frontend_tables.h").read_text()
    assert "FE_MFCC_FFT" not in (library / "src" / "tm_frontend_tables.h").read_text()
    # The same run exports to the same bytes.
    again = tmp_path / "again.zip"
    assert export_cli(vibration_run, "--arduino-library", again).returncode == 0
    assert again.read_bytes() == vibration_zip.read_bytes()


def test_the_example_builds_for_the_mega_with_the_arduino_core_and_matches_tflm_in_qemu(
        vibration_run, vibration_zip, tmp_path, no_orphans):
    libraries = tmp_path / "libraries"
    library = unpack(vibration_zip, libraries)
    example = library / "examples" / "Replay" / "Replay.ino"
    build = tmp_path / "build"
    build.mkdir()
    done = subprocess.run(
        ["arduino-builder", "-compile", "-hardware", str(ARDUINO_HARDWARE), "-tools", "/usr/bin",
         "-libraries", str(libraries), "-fqbn", MEGA, "-core-api-version", "10807",
         "-build-path", str(build), "-warnings", "all", "-verbose",
         *sum((["-prefs", p] for p in ARDUINO_BUILDER_PREFS), []), str(example)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert f"Using library TinymlVibration at version 1.0.0 in folder: {library}" in output
    ours = [line for line in output.splitlines() if "warning:" in line and str(library) in line]
    assert ours == []  # the library and its example compile without a warning (-Wall -Wextra)
    ram = int(re.search(r"Global variables use (\d+) bytes", output)[1])
    assert 3_000 < ram < 8_192 - 1_024  # window, work, features, arena, Serial: a Mega's 8 KiB
    firmware = build / "Replay.ino.elf"
    with start_board(load_board("emu-arduino-mega"), firmware, handshake=False) as running:
        text = read_serial_until_done(running.url, 180)
    assert text.replace("\r", "").startswith("calibrated to the replayed machine\n"
                                              "tinyml vibration: 8 replayed windows, threshold ")
    check_vibration_output(text, vibration_run, replay_frames(example.parent / "replay_data.h"),
                           example.parent / "replay_calibration.h")


@pytest.mark.parametrize("app", ["kws", "vibration"])
def test_the_library_builds_on_the_host_and_matches_tflm(app, request, tmp_path):
    """The kws library is built and run on the host (its float front-end on an 8-bit AVR is not
    tried); it streams, so a small model's needs less RAM than a Mega has."""
    name = {"kws": "TinymlKws", "vibration": "TinymlVibration"}[app]
    run = request.getfixturevalue(f"quick_{app}_run").folder
    done = export_cli(run, "--arduino-library", tmp_path / "lib.zip")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Arduino library {name} 1.0.0 -> {tmp_path / 'lib.zip'} (")
    library = unpack(tmp_path / "lib.zip", tmp_path / "libraries")
    example = library / "examples" / "Replay" / "Replay.ino"
    program = build_on_host(library, example, tmp_path / "host")
    text = subprocess.run([str(program)], capture_output=True, text=True, timeout=300,
                          check=True).stdout
    frames = replay_frames(example.parent / "replay_data.h")
    if app == "kws":
        check_kws_output(text, run, frames)
    else:
        check_vibration_output(text, run, frames, example.parent / "replay_calibration.h")
    if app == "kws":
        paragraph = (library / "library.properties").read_text()
        assert "does not check the board's memory" in paragraph
        needs = int(re.search(r"It needs about ([\d,]+) bytes of RAM \(stream 1,450, features 490, model arena",
                              paragraph)[1].replace(",", ""))
        assert needs < 8_192  # 42 KB before the library streamed
        assert "more than an Arduino Mega's 8 KB" not in paragraph


# ---- the PlatformIO library folder --------------------------------------------------------

def test_the_platformio_folder_holds_the_zips_sources_and_builds_with_platformio(
        vibration_run, tmp_path):
    project = tmp_path / "project"
    folder = project / "lib" / "TinymlVibration"
    vibration_zip = tmp_path / "TinymlVibration.zip"
    done = export_cli(vibration_run, "--platformio-library", folder, "--arduino-library", vibration_zip)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines() if not line.startswith(" ")] == \
        ["Arduino", "PlatformIO"]
    manifest = json.loads((folder / "library.json").read_text())
    assert manifest["name"] == "TinymlVibration" and manifest["version"] == "1.0.0"
    assert manifest["frameworks"] == "*" and manifest["platforms"] == "*"
    unpacked = unpack(vibration_zip, tmp_path / "unpacked")
    for part in ("src", "examples/Replay"):
        assert {p.name: p.read_bytes() for p in (folder / part).iterdir()} == \
            {p.name: p.read_bytes() for p in (unpacked / part).iterdir()}
    # A PlatformIO project (the host board of the local platform) whose lib/ holds it: the
    # library dependency finder picks it up by its header, as it would for any board.
    src = project / "src"
    src.mkdir()
    (src / "Arduino.h").write_text(ARDUINO_STUB)
    (src / "stub_main.cpp").write_text(ARDUINO_STUB_MAIN)
    (src / "sketch.cpp").write_text('#include "Arduino.h"\n' + (folder / "examples" / "Replay" /
                                                                "Replay.ino").read_text())
    shutil.copy(folder / "examples" / "Replay" / "replay_data.h", src)
    shutil.copy(folder / "examples" / "Replay" / "replay_calibration.h", src)
    (project / "platformio.ini").write_text(
        f"[env:native]\nplatform = symlink://{REPO / 'pio-platform'}\nboard = native\n")
    env = {**os.environ, "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "No"}
    done = subprocess.run([sys.executable, "-m", "platformio", "run", "-d", str(project)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "TinymlVibration @ 1.0.0" in done.stdout
    text = subprocess.run([str(project / ".pio" / "build" / "native" / "program")],
                          capture_output=True, text=True, timeout=300, check=True).stdout
    check_vibration_output(text, vibration_run, replay_frames(src / "replay_data.h"), src / "replay_calibration.h")


def test_the_platformio_folder_replaces_an_earlier_export_but_not_other_files(vibration_run, tmp_path):
    folder = tmp_path / "TinymlVibration"
    assert export_cli(vibration_run, "--platformio-library", folder).returncode == 0
    (folder / "src" / "stale.c").write_text("left by an earlier export")
    done = export_cli(vibration_run, "--platformio-library", folder, "--name", "MotorWatch",
                      "--library-version", "2.1.0")
    assert done.returncode == 0, done.stderr
    assert not (folder / "src" / "stale.c").exists()  # replaced as a whole
    assert json.loads((folder / "library.json").read_text())["version"] == "2.1.0"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's own")
    assert_error(export_cli(vibration_run, "--platformio-library", mine),
                 f"{mine} already holds files that are not a tinyml library export: choose a new "
                 "or empty folder for --platformio-library (an earlier export is replaced whole)")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


# ---- errors: one line, a non-zero exit ----------------------------------------------------

def test_a_path_that_is_not_a_run(tmp_path):
    missing = tmp_path / "nope"
    assert_error(export_cli(missing, "--arduino-library", tmp_path / "lib.zip"),
                 f"no run folder at {missing}: pass a folder made by `tinyml train kws` or "
                 "`tinyml train vibration` (runs/APP-...)")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_error(export_cli(empty, "--arduino-library", tmp_path / "lib.zip"),
                 f"{empty} is not a training run folder (it has no metrics.json): pass a folder "
                 "made by `tinyml train kws` or `tinyml train vibration` (runs/APP-...)")
    assert not (tmp_path / "lib.zip").exists()


def test_a_run_without_its_model(vibration_run, tmp_path):
    run = tmp_path / "unfinished"
    run.mkdir()
    shutil.copy(vibration_run / "metrics.json", run)
    assert_error(export_cli(run, "--arduino-library", tmp_path / "lib.zip"),
                 f"the run {run} has no model_int8.tflite (its training did not finish): train "
                 "again with `tinyml train vibration`")


def test_an_arduino_library_must_be_a_zip(vibration_run, tmp_path):
    out = tmp_path / "lib.tar"
    assert_error(export_cli(vibration_run, "--arduino-library", out),
                 f"--arduino-library {out} must end in .zip: Arduino IDE's \"Add .ZIP Library\" "
                 f"takes zip files (e.g. --arduino-library {tmp_path / 'lib.zip'})")
    assert not out.exists()


def test_names_and_versions_are_checked(vibration_run, tmp_path):
    assert_error(export_cli(vibration_run, "--arduino-library", tmp_path / "a.zip", "--name",
                            "my lib"),
                 "--name 'my lib' is not a library name: letters, digits, '_', '-' and '.', "
                 "starting with a letter or digit, at most 63 characters (e.g. MotorWatch)")
    assert_error(export_cli(vibration_run, "--arduino-library", tmp_path / "a.zip",
                            "--library-version", "v1"),
                 "--library-version 'v1' is not a version: give MAJOR.MINOR.PATCH, e.g. 1.0.0")


def test_no_output_is_a_usage_error(vibration_run):
    done = export_cli(vibration_run)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == ("Error: say what to export: --arduino-library "
                                            "OUT.zip, --platformio-library DIR, or both")


def test_an_unwritable_zip_is_one_line_and_leaves_nothing(vibration_run, tmp_path):
    """As root a read-only tmpfs is the real thing (skipped where mount is not permitted)."""
    in_the_way = tmp_path / "notes.txt"
    in_the_way.write_text("mine")
    out = in_the_way / "lib.zip"
    assert_error(export_cli(vibration_run, "--arduino-library", out),
                 f"cannot write {out}: {in_the_way} is a file, not a folder; choose another "
                 "place for the zip")
    folder = tmp_path / "folder.zip"
    folder.mkdir()
    assert_error(export_cli(vibration_run, "--arduino-library", folder),
                 f"cannot write {folder}: it is a folder; name the zip file to write")
    if os.geteuid() != 0:
        pytest.skip("the read-only file system needs root (mount)")
    with tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        assert_error(export_cli(vibration_run, "--arduino-library", ro / "lib.zip"),
                     f"cannot write {ro / 'lib.zip'}: {ro} is on a read-only file system; "
                     "choose a writable place for the zip")
        assert list(ro.iterdir()) == []


def test_a_full_disk_keeps_the_old_zip(vibration_run, tmp_path):
    """The zip is written beside its place and renamed over it: a full disk (a 16 KiB tmpfs,
    root only) leaves the earlier file as it was and no partial zip."""
    with tmpfs(tmp_path / "small", "size=16k") as small:
        old = small / "lib.zip"
        old.write_bytes(b"an earlier export")
        assert_error(export_cli(vibration_run, "--arduino-library", old),
                     f"cannot write {old}: no room on its file system (No space left on device); "
                     "free some space or choose another place for the zip")
        assert [p.name for p in small.iterdir()] == ["lib.zip"]
        assert old.read_bytes() == b"an earlier export"
