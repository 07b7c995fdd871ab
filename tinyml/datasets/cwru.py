"""Case Western Reserve University bearing data (.mat files), as vibration windows.

Each file holds drive-end and fan-end accelerometer signals (`X097_DE_time`, `X097_FE_time`, in
g, sampled at 12 kHz unless told otherwise) and the shaft speed (`X097RPM`). The label comes
from the file name: Normal_0.mat, IR007_1.mat (inner race, 0.007"), B014_2.mat (ball),
OR021@6_0.mat (outer race); CWRU's own numbers for the 12 kHz drive-end files (97.mat, 105.mat
...) are known too. Signals are resampled to the front-end's rate and cut into windows:
drive end as x, fan end as y, base (if recorded) as z. Files are the groups.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
from scipy import io as sio

from tinyml.datasets import audio
from tinyml.datasets.store import Dataset
from tinyml.datasets.vibration_synth import CLASSES, RATE, WINDOW
from tinyml.errors import TinymlError

SEVERITY = {"007": 1, "014": 2, "021": 3, "028": 3}
# CWRU's numbering of the 12 kHz drive-end files: number -> name in the convention above.
NUMBERED = {97: "Normal_0", 98: "Normal_1", 99: "Normal_2", 100: "Normal_3",
            105: "IR007_0", 106: "IR007_1", 107: "IR007_2", 108: "IR007_3",
            118: "B007_0", 119: "B007_1", 120: "B007_2", 121: "B007_3",
            130: "OR007@6_0", 131: "OR007@6_1", 132: "OR007@6_2", 133: "OR007@6_3",
            169: "IR014_0", 170: "IR014_1", 171: "IR014_2", 172: "IR014_3",
            185: "B014_0", 186: "B014_1", 187: "B014_2", 188: "B014_3",
            197: "OR014@6_0", 198: "OR014@6_1", 199: "OR014@6_2", 200: "OR014@6_3",
            209: "IR021_0", 210: "IR021_1", 211: "IR021_2", 212: "IR021_3",
            222: "B021_0", 223: "B021_1", 224: "B021_2", 225: "B021_3",
            234: "OR021@6_0", 235: "OR021@6_1", 236: "OR021@6_2", 237: "OR021@6_3"}
NAME = re.compile(r"^(?:(?P<normal>normal)|(?P<kind>IR|B|OR)(?P<size>\d{3})(?:@\d+)?)_\d+$", re.I)


def label_of(path: Path) -> tuple[str, int]:
    """(class, severity) from a CWRU file name; an unknown name is an error that says the fix."""
    stem = path.stem
    if stem.isdigit() and int(stem) in NUMBERED:
        stem = NUMBERED[int(stem)]
    match = NAME.match(stem)
    if not match:
        raise TinymlError(f"{path}: cannot tell the fault from the name '{path.name}'; name files "
                          "like Normal_0.mat, IR007_1.mat, B014_2.mat or OR021@6_0.mat")
    if match.group("normal"):
        return "normal", 0
    kind = {"IR": "inner_race", "B": "ball", "OR": "outer_race"}[match.group("kind").upper()]
    return kind, SEVERITY.get(match.group("size"), 3)


def _signals(path: Path) -> dict[str, np.ndarray]:
    try:
        mat = sio.loadmat(str(path))
    except Exception as exc:  # scipy fails on damaged files in many ways; all mean "unreadable"
        raise TinymlError(f"{path}: not a readable .mat file ({exc})") from None
    found = {}
    for key, value in mat.items():
        for axis in ("DE", "FE", "BA"):
            if key.endswith(f"_{axis}_time"):
                found[axis] = np.asarray(value, dtype=np.float64).reshape(-1)
    if "DE" not in found:
        raise TinymlError(f"{path}: no *_DE_time signal (drive-end accelerometer) in the file")
    return found


def import_cwru(root: Path, source_rate: int = 12000) -> Dataset:
    root = Path(root)
    files = sorted(root.glob("*.mat")) if root.is_dir() else []
    if not files:
        raise TinymlError(f"no .mat files in {root}: point at the folder of CWRU bearing files")
    xs, labels, splits, groups, severities = [], [], [], [], []
    for g, path in enumerate(files):
        label, severity = label_of(path)
        sig = _signals(path)
        axes = [audio.resample(sig[a], source_rate, RATE) if a in sig else None
                for a in ("DE", "FE", "BA")]
        n = min(a.size for a in axes if a is not None)
        stack = np.stack([a[:n] if a is not None else np.zeros(n) for a in axes])
        bucket = int(hashlib.sha256(path.name.encode()).hexdigest(), 16) % 100
        split = 0 if bucket < 70 else 1 if bucket < 85 else 2
        for start in range(0, n - WINDOW + 1, WINDOW):
            xs.append(stack[:, start:start + WINDOW].astype(np.float32))
            labels.append(CLASSES.index(label))
            splits.append(split)
            groups.append(g)
            severities.append(severity)
    if not xs:
        raise TinymlError(f"the files in {root} are shorter than one {WINDOW}-sample window")
    return Dataset("vibration", np.stack(xs), np.array(labels, dtype=np.int16),
                   np.array(splits, dtype=np.int8), CLASSES, RATE, np.array(groups, dtype=np.int32),
                   {"source": f"CWRU at {root}", "severity": severities, "units": "g",
                    "files": [p.name for p in files]})
