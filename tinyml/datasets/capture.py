"""Data from the board (`tinyml capture`): the firmware's raw sensor frames over the framed link
into a dataset folder, as Edge Impulse's data forwarder does, in layouts the importers read.

Audio (a kws firmware): one-second clips, one capture each, into Speech Commands folders
(DIR/<label>/<speaker>_nohash_<n>.wav, 16-bit mono), which `tinyml datasets import
speech-commands` reads. Vibration: recordings of --segment-seconds each into
DIR/<label>/<machine>_<n>.csv (accelerometer counts, the rate and g per count in its header),
which `tinyml datasets import capture` cuts in time like CWRU.

The device buffers one raw input window (tinyml_capture.h). A link slower than the sensor
(115200 baud carries about 11 KB/s; 16 kHz audio is 32 KB/s, a 3.2 kHz tri-axial
accelerometer 19 KB/s) fills it: a clip is one window, so it is whole anyway; a vibration
recording is then made of whole windows with gaps between them (its pieces), which the import's
windows never straddle. A replayed recording (emulated boards) waits, so it comes through
without gaps.

Every frame is CRC-checked on the link, every file's sha256 is kept in DIR/capture.json and
checked when the same command runs again: it resumes, capturing only what is missing or damaged.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinyml.datasets import audio
from tinyml.datasets.store import digest
from tinyml.errors import DeviceError, TinymlError
from tinyml.tools.fs import atomic_file

MANIFEST = "capture.json"
VERSION = 1
IDLE_S = 5.0          # a sensor silent this long is broken
NAME = re.compile(r"^[a-z0-9]+$")


@dataclass
class CaptureResult:
    folder: Path
    kind: str                              # "kws" or "vibration"
    label: str
    new_files: list[Path] = field(default_factory=list)
    kept: int = 0                          # files of this label already there and intact
    recaptured: int = 0                    # of those, damaged or missing ones captured again
    pieces: int = 0                        # uninterrupted runs the new recordings were made of
    done: float = 0.0                      # clips, or seconds, of this label now in the folder


@dataclass(frozen=True)
class _Source:
    kind: str
    rate_hz: int
    channels: int
    g_per_count: float
    window: int                            # frames of one raw input window
    board: str
    build: str


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ValueError("no files table")
        for name, entry in data["files"].items():
            if not (isinstance(entry, dict) and isinstance(entry.get("label"), str)
                    and isinstance(entry.get("sha256"), str) and isinstance(entry.get("frames"), int)):
                raise ValueError(f"the entry for {name} lacks its label, sha256 or frames")
    except (OSError, ValueError) as exc:
        raise TinymlError(f"{path} is damaged ({exc}): delete it to capture the folder anew, or "
                          "capture into another folder") from None
    return data


def _write_manifest(folder: Path, manifest: dict) -> None:
    with atomic_file(folder / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _unwritable(folder: Path, exc: OSError) -> TinymlError:
    return TinymlError(f"cannot write the capture folder {folder}: {exc.strerror or exc}; free some space "
                       "or choose another --out (what was captured before is kept)")


def _sha256(path: Path) -> str | None:
    """The file's sha256 (store.digest), or None when it cannot be read."""
    try:
        return digest(path)
    except OSError:
        return None


def _check_same_source(folder: Path, manifest: dict, source: _Source) -> None:
    said = {k: manifest.get(k) for k in ("kind", "rate_hz", "channels")}
    here = {"kind": source.kind, "rate_hz": source.rate_hz, "channels": source.channels}
    if manifest and said != here:
        raise TinymlError(f"{folder} holds a {said['kind']} capture at {said['rate_hz']} Hz with "
                          f"{said['channels']} channel(s); this board sends {source.kind} at "
                          f"{source.rate_hz} Hz with {source.channels}: capture into another folder")


def _source(device) -> _Source:
    info = device.info()
    app = info.get("app", "")
    if app not in ("kws", "vibration"):
        raise TinymlError(f"the firmware at {device.url} is the {app or 'unknown'} app, which reads no "
                          "sensor: flash a kws or vibration firmware (`tinyml flash --app kws --run RUN`)")
    if info.get("capture_frames") == "0":  # a kws firmware built to listen, with no clip buffer
        raise TinymlError(f"the {app} firmware at {device.url} keeps no clip to capture (build "
                          f"{info.get('build', '?')}): flash one built for capture, e.g. `tinyml flash "
                          f"--board {info.get('board', 'BOARD')} --app {app} --run RUN --capture`")
    started = device.capture_start(1)  # what the sensor is; it took one frame
    device.reset()  # so the sensor from its start again: a replayed recording from its first sample
    g_per_count = float(str(np.float32(started.g_per_count)))  # the float32 as written: 0.0039
    return _Source(app, started.rate_hz, started.channels, g_per_count, started.ring_frames,
                   info.get("board", ""), info.get("build", ""))


def _piece(device, wanted: int, channels: int) -> tuple[np.ndarray, bool, bool]:
    """Up to `wanted` frames in one uninterrupted run from the sensor: (frames, ended, overrun)."""
    device.capture_start(wanted)
    chunks, at, ended, overrun = [], 0, False, False
    quiet_since = time.monotonic()
    while at < wanted:
        chunk = device.capture_read(at, min(wanted - at, 0xFFFF))
        if len(chunk.frames):
            chunks.append(chunk.frames)
            at += len(chunk.frames)
            quiet_since = time.monotonic()
            continue
        if chunk.ended or chunk.overrun:
            ended, overrun = chunk.ended, chunk.overrun
            break
        if time.monotonic() - quiet_since > IDLE_S:
            raise DeviceError(f"the sensor of the board at {device.url} sent no samples for {IDLE_S:g} s: "
                              "is it wired and powered?")
        time.sleep(0.002)
    device.capture_stop()
    frames = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.int16)
    return frames, ended, overrun


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with atomic_file(path) as tmp:
        audio.write_wav(tmp, samples.reshape(-1), rate)


def _write_csv(path: Path, frames: np.ndarray, source: _Source, pieces: list[int]) -> None:
    text = io.StringIO()
    text.write(f"# tinyml capture from {source.board} (build {source.build})\n"
               f"# rate_hz={source.rate_hz} g_per_count={source.g_per_count!r} "
               f"pieces={' '.join(map(str, pieces))}\n")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow("xyz"[:source.channels] if source.channels <= 3 else
                    [f"c{i}" for i in range(source.channels)])
    writer.writerows(frames.tolist())
    with atomic_file(path) as tmp:
        tmp.write_text(text.getvalue())


def _check_name(value: str, what: str) -> None:
    if not NAME.match(value):
        raise TinymlError(f"--{what} '{value}' may hold only lower-case letters and digits "
                          "(it is part of the file names)")


def capture(device, folder: Path, label: str, count: int | None = None, seconds: float | None = None,
            speaker: str = "me", machine: str = "machine", segment_seconds: float = 10.0,
            pause_s: float = 0.0, progress: bool = True) -> CaptureResult:
    """Captures `count` clips (kws) or `seconds` of recording (vibration) of `label` from the
    device (a tinyml.link DeviceClient) into `folder`, or what of them is still missing there."""
    from tinyml.datasets.vibration_synth import CLASSES, WINDOW

    folder = Path(folder)
    source = _source(device)
    if source.kind == "kws":
        if count is None or seconds is not None:
            raise TinymlError("a kws firmware captures clips: give --count N (one-second clips), not --seconds")
        if count < 1:
            raise TinymlError(f"--count {count}: give 1 or more clips")
        if not re.match(r"^[a-z_][a-z0-9_]*$", label):
            raise TinymlError(f"--label '{label}' is not a Speech Commands word folder: use lower-case "
                              "letters, digits and _ (yes, _unknown_)")
        _check_name(speaker, "speaker")
    else:
        if seconds is None or count is not None:
            raise TinymlError("a vibration firmware captures recordings: give --seconds S, not --count")
        if not seconds > 0 or not segment_seconds > 0:
            raise TinymlError("--seconds and --segment-seconds must be more than 0")
        if label not in CLASSES:
            raise TinymlError(f"--label '{label}' is not a vibration class: use one of {', '.join(CLASSES)}")
        _check_name(machine, "machine")
    if pause_s < 0:
        raise TinymlError(f"--pause {pause_s:g}: give 0 or more seconds")
    try:
        (folder / label).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    manifest = _manifest(folder)
    _check_same_source(folder, manifest, source)
    manifest.update({"version": VERSION, "kind": source.kind, "rate_hz": source.rate_hz,
                     "channels": source.channels, "g_per_count": source.g_per_count})
    manifest.setdefault("files", {})
    who = speaker if source.kind == "kws" else machine
    result = CaptureResult(folder, source.kind, label)
    mine = {}
    for name, entry in list(manifest["files"].items()):
        if entry.get("label") != label:
            continue
        if _sha256(folder / name) == entry.get("sha256"):
            mine[name] = entry
        else:
            del manifest["files"][name]  # missing or damaged: captured again below
            result.recaptured += 1
    result.kept = len(mine)
    have = (len(mine) if source.kind == "kws" else
            sum(e["frames"] for e in mine.values()) / source.rate_hz)
    numbers = [int(m.group(1)) for n in manifest["files"]
               if (m := re.search(r"_(\d+)\.(?:wav|csv)$", n)) and n.startswith(f"{label}/{who}_")]
    number = max(numbers, default=-1) + 1
    total = count if source.kind == "kws" else seconds
    bar = tqdm(total=total, initial=min(have, total), disable=not progress, unit="clip" if count else "s",
               desc=f"say '{label}'" if source.kind == "kws" else f"recording {label}",
               bar_format="{l_bar}{bar}| {n:.4g}/{total:.4g} {unit} [{elapsed}<{remaining}]")
    try:
        while have < total - 1e-9:
            if source.kind == "kws":
                time.sleep(pause_s)
                frames, ended, _ = _piece(device, source.window, source.channels)
                if len(frames) < source.window:
                    raise TinymlError(_ended_text(device, result, "clip") if ended else
                                      f"the board at {device.url} sent {len(frames)} of a clip's "
                                      f"{source.window} samples: rebuild and flash the firmware")
                name = f"{label}/{who}_nohash_{number}.wav"
                _write_wav(folder / name, frames, source.rate_hz)
                step, pieces = 1, [len(frames)]
            else:
                wanted = int(min(segment_seconds, total - have) * source.rate_hz)
                frames, pieces = _recording(device, wanted, WINDOW, source.channels)
                if not len(frames):
                    raise TinymlError(_ended_text(device, result, "window"))
                name = f"{label}/{who}_{number}.csv"
                _write_csv(folder / name, frames, source, pieces)
                step = len(frames) / source.rate_hz
            manifest["files"][name] = {"label": label, "sha256": _sha256(folder / name), "frames": len(frames),
                                       "pieces": len(pieces), "board": source.board, "build": source.build,
                                       ("speaker" if source.kind == "kws" else "machine"): who}
            _write_manifest(folder, manifest)
            result.new_files.append(folder / name)
            result.pieces += len(pieces)
            have += step
            number += 1
            bar.update(step)
            if source.kind == "vibration" and len(frames) < wanted:
                raise TinymlError(_ended_text(device, result, "window"))
    except OSError as exc:  # a full or read-only disk while writing a file or the manifest
        raise _unwritable(folder, exc) from None
    finally:
        bar.close()
    result.done = have
    return result


def record(device, seconds: float) -> tuple[np.ndarray, list[int], int, float]:
    """`seconds` of the vibration firmware's sensor: (int16 frames [n, channels], the lengths of
    its uninterrupted pieces, rate Hz, g per count). For `tinyml calibrate`, which keeps no file."""
    from tinyml.datasets.vibration_synth import WINDOW

    source = _source(device)
    if source.kind != "vibration":
        raise TinymlError(f"the firmware at {device.url} is the {source.kind} app: calibration is for "
                          "vibration firmware")
    frames, pieces = _recording(device, int(seconds * source.rate_hz), WINDOW, source.channels)
    return frames, pieces, source.rate_hz, source.g_per_count


def _recording(device, wanted: int, window: int, channels: int) -> tuple[np.ndarray, list[int]]:
    """`wanted` frames (fewer when the source ends) of whole windows: one run from the sensor,
    or pieces of whole windows when the link cannot keep up."""
    pieces, at = [], 0
    while at < wanted:
        frames, ended, overrun = _piece(device, wanted - at, channels)
        keep = len(frames) if not (ended or overrun) else len(frames) // window * window
        if keep:
            pieces.append(frames[:keep])
            at += keep
        if ended:
            break
        if overrun and not keep:
            raise TinymlError(f"the link to {device.url} is too slow for the sensor: a capture overran "
                              f"before one whole {window}-sample window arrived; raise the baud rate")
    lengths = [len(p) for p in pieces]
    return (np.concatenate(pieces) if pieces else np.zeros((0, channels), np.int16)), lengths


def _ended_text(device, result: CaptureResult, unit: str) -> str:
    return (f"the sensor source of the board at {device.url} ended (a replayed recording) before the last "
            f"whole {unit}; {len(result.new_files)} new file(s) kept in {result.folder}")


# ---------------------------------------------------------------- import


def read_recording(path: Path) -> tuple[np.ndarray, int, float]:
    """(int16 counts [frames, channels], rate Hz, g per count) of a captured CSV."""
    try:
        lines = path.read_text().splitlines()
        header = dict(item.split("=", 1) for item in lines[1].lstrip("# ").split() if "=" in item)
        rate, g = int(header["rate_hz"]), float(header["g_per_count"])
        frames = np.loadtxt(lines[3:], delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, IndexError, KeyError, ValueError) as exc:
        raise TinymlError(f"{path}: not a tinyml capture recording ({exc}); capture it again") from None
    if frames.size and (frames.min() < -32768 or frames.max() > 32767):
        raise TinymlError(f"{path}: values outside int16: not a tinyml capture recording")
    return frames.astype(np.int16), rate, g


def import_capture(root: Path):
    """The vibration recordings captured into `root` as a Dataset: each recording cut in time into
    train, val and test like CWRU's (tinyml.datasets.cwru.time_segments)."""
    from tinyml.datasets.cwru import time_segments
    from tinyml.datasets.store import Dataset, split_problem
    from tinyml.datasets.vibration_synth import CLASSES, RATE, WINDOW

    root = Path(root)
    manifest = _manifest(root)
    if not manifest:
        raise TinymlError(f"no {MANIFEST} in {root}: point at a folder `tinyml capture` wrote")
    if manifest.get("kind") != "vibration":
        raise TinymlError(f"{root} holds {manifest.get('kind')} clips in the Speech Commands layout: once it "
                          f"has a folder for every keyword, import it with `tinyml datasets import "
                          f"speech-commands {root} --split train`")
    xs, labels, splits, groups, described = [], [], [], [], []
    for g, (name, entry) in enumerate(sorted(manifest["files"].items())):
        path = root / name
        if not isinstance(entry, dict) or entry.get("label") not in CLASSES:
            raise TinymlError(f"{root / MANIFEST}: the entry for {name} has no vibration class label "
                              f"({', '.join(CLASSES)}): capture it again, or delete the entry")
        if _sha256(path) != entry.get("sha256"):
            raise TinymlError(f"{path} is missing or differs from what was captured (sha256 in {MANIFEST}): "
                              "run the same `tinyml capture` again to capture it anew")
        counts, rate, g_per_count = read_recording(path)
        signals = [audio.resample(counts[:, c].astype(np.float64) * g_per_count, rate, RATE)
                   for c in range(counts.shape[1])]
        stack = np.stack(signals).astype(np.float32)
        plan = time_segments(stack.shape[1])
        for split, start in plan:
            xs.append(stack[:, start:start + WINDOW])
            splits.append(split)
        labels += [CLASSES.index(entry["label"])] * len(plan)
        groups += [g] * len(plan)
        described.append({"file": name, "label": entry["label"], "machine": entry.get("machine"),
                          "board": entry.get("board"), "rate": rate, "windows": len(plan),
                          "pieces": entry.get("pieces")})
    axes = manifest.get("channels", 3)
    x = np.stack(xs) if xs else np.zeros((0, axes, WINDOW), np.float32)
    meta = {"source": f"capture at {root}", "units": "g", "axes": ["x", "y", "z"][:axes],
            "severity": [0] * len(labels), "split": "by time within each recording, as CWRU's",
            "recordings": described}
    dataset = Dataset("vibration", x, np.array(labels, dtype=np.int16), np.array(splits, dtype=np.int8),
                      CLASSES, RATE, np.array(groups, dtype=np.int32), meta)
    problem = split_problem(dataset, every_class_in_test=True)
    if problem:
        raise TinymlError(f"{root}: {problem}: capture more (longer recordings of every label, "
                          "normal among them)")
    return dataset
