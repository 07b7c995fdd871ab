"""Case Western Reserve University bearing data (.mat files) as vibration windows, taken as the
Bearing Data Center publishes it and as people share it.

What a file is comes from, in this order:
- a row of a --labels CSV (file,label,machine[,load][,rate]), for anything else;
- CWRU's record number (97.mat ... 3008.mat), looked up in the Bearing Data Center's tables
  below: condition, motor load, which bearing is faulty, and the sampling rate (12 or 48 kHz);
- the descriptive names copies carry (12k_Drive_End_B007_0_118.mat, 48k_Drive_End_IR014_2_176.mat,
  12k_Fan_End_OR007@6_1_295.mat, normal_0_97.mat), checked against the tables;
- condition and load alone (Normal_0.mat, IR007_1.mat, B014_2.mat, OR021@6_0.mat): the record
  is the one the tables have for them or, when there are several (IR007 at 1 HP was recorded at
  the drive end at 12 and 48 kHz and at the fan end), the one whose variables the file holds.

A file holds accelerometer signals in g (X106_DE_time drive end, X106_FE_time fan end,
X106_BA_time base plate) and the shaft speed (X106RPM). Each is resampled from its own rate to
the front-end's (scipy's resample_poly, anti-aliased), and the original rate kept in the meta.
Only the channels every imported file has are kept, one axis each, in the order DE, FE, BA; the
meta says which were dropped and why. None is zero-filled or copied into another's place: the
normal baseline has no base-plate channel, so a filled one would tell normal from faulty by
itself. A set of one or two channels has one or two axes, and the front-end trained on it
follows (tinyml.train.vibration).

Splits: each recording is cut in time into train, val and test (70/15/15 % of its windows, in
that order) with one window left out between segments, so every split has windows of every
recording, normal ones included, and none is in two splits. A recording shorter than
MIN_WINDOWS windows goes to train whole; an import that leaves a split without normal windows,
or test without a class, fails saying so.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import io as sio

from tinyml.datasets import audio
from tinyml.datasets.store import SPLITS, Dataset, split_problem
from tinyml.datasets.vibration_synth import CLASSES, RATE, WINDOW
from tinyml.errors import TinymlError

# The Bearing Data Center's tables (engineering.case.edu/bearingdatacenter: "Normal Baseline
# Data", "12k Drive End", "48k Drive End" and "12k Fan End Bearing Fault Data"): the record
# number of each condition at motor loads 0, 1, 2 and 3 HP (None: not recorded). Checked against
# two independent public transcriptions (download scripts that name every number), which agree
# on every number but 318: one has OR021@12, the other OR021@3, as has the name copies of it
# carry (12k_Fan_End_OR021@3_3_318.mat) and its neighbours 316 and 317 in both; @3 here. Both
# record the normal baseline (97-100) at 48 kHz, which the files themselves do not say.
DRIVE_END_12K = {
    "IR007": (105, 106, 107, 108), "B007": (118, 119, 120, 121), "OR007@6": (130, 131, 132, 133),
    "OR007@3": (144, 145, 146, 147), "OR007@12": (156, 158, 159, 160),
    "IR014": (169, 170, 171, 172), "B014": (185, 186, 187, 188), "OR014@6": (197, 198, 199, 200),
    "IR021": (209, 210, 211, 212), "B021": (222, 223, 224, 225), "OR021@6": (234, 235, 236, 237),
    "OR021@3": (246, 247, 248, 249), "OR021@12": (258, 259, 260, 261),
    "IR028": (3001, 3002, 3003, 3004), "B028": (3005, 3006, 3007, 3008),
}
DRIVE_END_48K = {
    "IR007": (109, 110, 111, 112), "B007": (122, 123, 124, 125), "OR007@6": (135, 136, 137, 138),
    "OR007@3": (148, 149, 150, 151), "OR007@12": (161, 162, 163, 164),
    "IR014": (174, 175, 176, 177), "B014": (189, 190, 191, 192), "OR014@6": (201, 202, 203, 204),
    "IR021": (213, 214, 215, 217), "B021": (226, 227, 228, 229), "OR021@6": (238, 239, 240, 241),
    "OR021@3": (250, 251, 252, 253), "OR021@12": (262, 263, 264, 265),
}
FAN_END_12K = {
    "IR007": (278, 279, 280, 281), "B007": (282, 283, 284, 285), "OR007@6": (294, 295, 296, 297),
    "OR007@3": (298, 299, 300, 301), "OR007@12": (302, 305, 306, 307),
    "IR014": (274, 275, 276, 277), "B014": (286, 287, 288, 289), "OR014@3": (310, 309, 311, 312),
    "OR014@6": (313, None, None, None),
    "IR021": (270, 271, 272, 273), "B021": (290, 291, 292, 293), "OR021@6": (315, None, None, None),
    "OR021@3": (None, 316, 317, 318),
}
NORMAL_BASELINE = (97, 98, 99, 100)  # 48 kHz
SEVERITY = {"007": 1, "014": 2, "021": 3, "028": 3}
KINDS = {"IR": "inner_race", "B": "ball", "OR": "outer_race"}
CODE = re.compile(r"^(?P<kind>IR|B|OR)(?P<size>\d{3})(?:@(?P<position>3|6|12))?$", re.I)
CHANNELS = ("DE", "FE", "BA")
MACHINE = "CWRU bearing test rig"
MIN_WINDOWS = 5  # one window per split and the two left out between them
FRACTIONS = (0.70, 0.15, 0.15)


@dataclass(frozen=True)
class Condition:
    """What a recording is; None where that is not known."""
    code: str | None           # "Normal", "IR007", "B014", "OR021@6" (a class name from --labels)
    load: int | None = None    # motor load, HP
    rate: int | None = None    # Hz, as recorded
    end: str | None = None     # where the faulty bearing is: "drive" or "fan"
    record: int | None = None  # the Bearing Data Center's record number

    @property
    def label(self) -> str:
        if self.code in CLASSES:
            return self.code
        return "normal" if self.code == "Normal" else KINDS[CODE.match(self.code)["kind"].upper()]

    @property
    def severity(self) -> int:
        """1-3 from the defect size (0.007, 0.014, 0.021-0.028"); 0 for normal or not known."""
        match = CODE.match(self.code or "")
        return SEVERITY.get(match["size"], 3) if match else 0

    def said(self) -> str:
        """As a sentence part: "B007 at 0 HP, 12 kHz drive end"."""
        where = " ".join(p for p in (f"{self.rate // 1000} kHz" if self.rate else "",
                                     f"{self.end} end" if self.end else "") if p)
        return ", ".join(p for p in (f"{self.code} at {self.load} HP" if self.load is not None
                                     else str(self.code), where) if p)


def _records() -> dict[int, Condition]:
    records = {n: Condition("Normal", load, 48000, None, n) for load, n in enumerate(NORMAL_BASELINE)}
    for rate, end, table in ((12000, "drive", DRIVE_END_12K), (48000, "drive", DRIVE_END_48K),
                             (12000, "fan", FAN_END_12K)):
        for code, numbers in table.items():
            records.update({n: Condition(code, load, rate, end, n)
                            for load, n in enumerate(numbers) if n is not None})
    return records


RECORDS = _records()

_CODE = r"(?P<code>(?:IR|B|OR)\d{3}(?:@(?:3|6|12))?)"
NAMES = (  # what a file's name (without .mat) may say
    re.compile(r"^(?P<record>\d+)$"),
    re.compile(rf"^(?P<rate>12|48)k_(?P<end>drive|fan)_end_{_CODE}_(?P<load>\d)_(?P<record>\d+)$", re.I),
    re.compile(r"^(?:(?P<rate>12|48)k_)?(?P<code>normal)_(?P<load>\d)(?:_(?P<record>\d+))?$", re.I),
    re.compile(rf"^{_CODE}_(?P<load>\d)$", re.I),
)


def _canonical(code: str) -> str:
    return "Normal" if code.lower() == "normal" else code.upper()


def condition_of_name(stem: str) -> Condition | None:
    """What a file name (without .mat) says, or None when it says nothing this knows."""
    for pattern in NAMES:
        match = pattern.match(stem)
        if match:
            found = match.groupdict()
            return Condition(_canonical(found["code"]) if found.get("code") else None,
                             int(found["load"]) if found.get("load") else None,
                             int(found["rate"]) * 1000 if found.get("rate") else None,
                             found["end"].lower() if found.get("end") else None,
                             int(found["record"]) if found.get("record") else None)
    return None


def _agrees(said: Condition, record: Condition) -> bool:
    """Whether a table record is what a name says (an outer-race code without @ fits any position)."""
    if said.code is not None:
        a, b = CODE.match(said.code), CODE.match(record.code)
        if (a is None) != (b is None) or (a is None and said.code != record.code):
            return False
        if a and (a["kind"].upper(), a["size"]) != (b["kind"].upper(), b["size"]):
            return False
        if a and a["position"] and a["position"] != b["position"]:
            return False
    return all(getattr(said, f) is None or getattr(said, f) == getattr(record, f)
               for f in ("load", "rate", "end"))


def _unknown_name(path: Path, why: str) -> TinymlError:
    return TinymlError(f"{path}: {why}: name it by its CWRU record number (105.mat), as copies do "
                       "(12k_Drive_End_IR007_0_105.mat, normal_0_97.mat) or like IR007_0.mat, or list it "
                       "in a --labels CSV (file,label,machine[,load])")


def resolve(path: Path, said: Condition, inside: set[int]) -> Condition:
    """The table's record for what a name says (the one whose variables the file holds, when the
    name fits several), or what the name says when no record fits."""
    if said.record is not None:
        known = RECORDS.get(said.record)
        if known is None:
            if said.code is None:
                raise _unknown_name(path, f"{said.record} is not a record number in the Bearing Data "
                                          "Center's tables")
            return said
        if not _agrees(said, known):
            raise TinymlError(f"{path}: its name says {said.said()}, but CWRU record {known.record} is "
                              f"{known.said()}: rename the file or list it in a --labels CSV")
        return known
    fits = [r for r in RECORDS.values() if _agrees(said, r)]
    if len(fits) > 1:
        fits = [r for r in fits if r.record in inside]
    return fits[0] if len(fits) == 1 else said


def read_labels(path: Path) -> dict[str, dict]:
    """{file: {code, machine, load, rate}} from a --labels CSV; a bad row names its line and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TinymlError(f"cannot read the --labels CSV {path}: {exc}") from None
    rows = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in rows.fieldnames or []]
    if not {"file", "label", "machine"} <= set(columns):
        raise TinymlError(f"{path}: needs the columns file, label and machine (load and rate may follow) "
                          f"in its first line; it has {', '.join(columns) or 'none'}")
    out = {}
    for line, row in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        name, label = row["file"], row["label"]
        if not name:
            continue
        if label.lower() in CLASSES:
            code = label.lower()
        elif CODE.match(label):
            code = label.upper()
        else:
            raise TinymlError(f"{path} line {line}: unknown label '{label}': use one of {', '.join(CLASSES)} "
                              "or a CWRU code (IR007, B014, OR021@6)")
        numbers = {}
        for field in ("load", "rate"):
            value = row.get(field, "")
            if value and not (value.isdigit() and (field == "load" or int(value) > 0)):
                raise TinymlError(f"{path} line {line}: {field} '{value}' is not a whole number "
                                  f"({'HP' if field == 'load' else 'Hz'})")
            numbers[field] = int(value) if value else None
        out[name.removesuffix(".mat")] = {"code": code, "machine": row["machine"] or MACHINE, **numbers}
    return out


VARIABLE = re.compile(r"^(?P<prefix>.*?)_(?P<channel>DE|FE|BA)_time$")


def _recordings_inside(path: Path) -> dict[str, dict[str, str]]:
    """{variable prefix ("X106"): {channel: variable name}} of a .mat file, without loading it."""
    try:
        names = [name for name, _, _ in sio.whosmat(str(path))]
    except Exception as exc:  # scipy fails on damaged files in many ways; all mean "unreadable"
        raise TinymlError(f"{path}: not a readable .mat file ({exc})") from None
    inside: dict[str, dict[str, str]] = {}
    for name in names:
        match = VARIABLE.match(name)
        if match:
            inside.setdefault(match["prefix"], {})[match["channel"]] = name
    return inside


def _record_of(prefix: str) -> int | None:
    return int(prefix[1:]) if re.fullmatch(r"X\d+", prefix) else None


@dataclass
class Recording:
    path: Path
    name: str                  # relative to the import folder
    condition: Condition
    machine: str
    rate: int
    rate_from: str
    prefix: str                # of its variables: "X106"
    variables: dict[str, str]  # channel: variable name


def _identify(root: Path, path: Path, listed: dict, source_rate: int | None) -> Recording:
    name = path.relative_to(root).as_posix()
    row = listed.get(name.removesuffix(".mat")) or listed.get(path.stem)
    said = condition_of_name(path.stem)
    if said is None and row is None:
        raise _unknown_name(path, f"cannot tell the fault from the name '{path.name}'")
    inside = _recordings_inside(path)
    if not inside:
        raise TinymlError(f"{path}: no *_DE_time signal (drive-end accelerometer) in the file")
    condition = Condition(None)
    if said:
        try:
            condition = resolve(path, said, {_record_of(p) for p in inside})
        except TinymlError:
            if row is None:
                raise
            condition = said  # the --labels row says what it is; the name may still tell the rate
    if condition.record is not None and f"X{condition.record:03d}" in inside:
        prefix = f"X{condition.record:03d}"
    elif len(inside) == 1:
        prefix = next(iter(inside))
    else:
        raise TinymlError(f"{path}: holds several recordings ({', '.join(sorted(inside))}); name it by "
                          "the CWRU record number of the one wanted (e.g. 99.mat)")
    if "DE" not in inside[prefix]:
        raise TinymlError(f"{path}: no {prefix}_DE_time signal (drive-end accelerometer) in the file")
    from_table = condition.record in RECORDS and condition == RECORDS[condition.record]
    if row and row["rate"]:
        rate, rate_from = row["rate"], "--labels"
    elif condition.rate:
        rate, rate_from = condition.rate, f"CWRU record {condition.record}" if from_table else "name"
    elif source_rate:
        rate, rate_from = source_rate, "--rate"
    else:
        raise TinymlError(f"{path}: cannot tell its sampling rate (CWRU recorded at 12 and 48 kHz): name it "
                          "by its CWRU record number or like 12k_Drive_End_IR007_1_106.mat, give --rate, or "
                          "give it a rate column in a --labels CSV")
    machine = MACHINE
    if row:
        condition = replace(condition, code=row["code"], load=row["load"] if row["load"] is not None
                            else condition.load)
        machine = row["machine"]
    return Recording(path, name, condition, machine, rate, rate_from, prefix, inside[prefix])


def time_segments(samples: int, window: int = WINDOW) -> list[tuple[int, int]]:
    """(split, start) of each window of a recording `samples` long: train, val and test in time
    order (FRACTIONS of its windows, one at least), one window slot left out between segments so
    windows each side of a boundary are not neighbours. Under MIN_WINDOWS slots: train, whole."""
    slots = samples // window
    if slots < MIN_WINDOWS:
        return [(0, k * window) for k in range(slots)]
    usable = slots - 2
    val, test = (max(1, round(usable * f)) for f in FRACTIONS[1:])
    out, slot = [], 0
    for split, count in enumerate((usable - val - test, val, test)):
        out += [(split, (slot + k) * window) for k in range(count)]
        slot += count + 1
    return out


def _some(names: list[str], shown: int = 4) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def _too_short(recordings: list[dict], what: str) -> str:
    listed = _some([f"{r['file']} ({r['seconds']:.1f} s)" for r in recordings])
    return (f"{listed} {'is' if len(recordings) == 1 else 'are'} too short to split in time: a recording "
            f"needs {MIN_WINDOWS * WINDOW / RATE:.1f} s ({MIN_WINDOWS} windows of {WINDOW} samples at "
            f"{RATE} Hz) to give windows to train, val and test; add longer or more {what} recordings")


def import_cwru(root: Path, source_rate: int | None = None, labels: Path | None = None) -> Dataset:
    """The vibration windows of the CWRU .mat files under `root` (any depth).

    source_rate: the sampling rate of files whose record number or name does not tell it.
    labels: a CSV (file,label,machine[,load][,rate]) for files whose names say nothing this
    knows, or to say otherwise."""
    root = Path(root)
    files = sorted(root.rglob("*.mat")) if root.is_dir() else []
    if not files:
        raise TinymlError(f"no .mat files in {root}: point at the folder of CWRU bearing files")
    listed = read_labels(labels) if labels else {}
    found = {p.relative_to(root).as_posix().removesuffix(".mat") for p in files} | {p.stem for p in files}
    for name in listed:
        if name not in found:
            raise TinymlError(f"{labels} lists {name}.mat, which is not in {root}")
    recordings = [_identify(root, path, listed, source_rate) for path in files]
    by_record: dict[int, str] = {}
    for rec in recordings:
        number = rec.condition.record
        if number is not None and number in by_record:
            raise TinymlError(f"{by_record[number]} and {rec.name} are the same recording (CWRU record "
                              f"{number}): keep one")
        by_record[number] = rec.name
    axes = [c for c in CHANNELS if all(c in rec.variables for rec in recordings)]
    dropped = {c: [rec.name for rec in recordings if c not in rec.variables] for c in CHANNELS
               if c not in axes and any(c in rec.variables for rec in recordings)}
    xs, labels_, splits, groups, severities, starts, described, unsplit = [], [], [], [], [], [], [], []
    by_signal: dict[str, str] = {}
    for g, rec in enumerate(recordings):
        signals, rpm = _load(rec, axes)
        digest = hashlib.sha256(signals["DE"].tobytes()).hexdigest()
        if digest in by_signal:
            raise TinymlError(f"{by_signal[digest]} and {rec.name} are the same recording (identical "
                              "drive-end signals): keep one")
        by_signal[digest] = rec.name
        seconds = signals["DE"].size / rec.rate
        resampled = [audio.resample(signals[c], rec.rate, RATE) for c in axes]
        n = min(a.size for a in resampled)
        stack = np.stack([a[:n] for a in resampled]).astype(np.float32)
        plan = time_segments(n)
        if n // WINDOW < MIN_WINDOWS:
            unsplit.append(rec.name)
        for split, start in plan:
            xs.append(stack[:, start:start + WINDOW])
            splits.append(split)
            starts.append(start)
        c = rec.condition
        labels_ += [CLASSES.index(c.label)] * len(plan)
        groups += [g] * len(plan)
        severities += [c.severity] * len(plan)
        described.append({"file": rec.name, "label": c.label, "code": c.code, "severity": c.severity,
                          "load": c.load, "record": c.record, "end": c.end, "machine": rec.machine,
                          "rate": rec.rate, "rate_from": rec.rate_from, "rpm": rpm, "variables": rec.prefix,
                          "channels": [ch for ch in CHANNELS if ch in rec.variables],
                          "seconds": round(seconds, 3), "windows": len(plan)})
    meta = {"source": f"CWRU at {root}", "units": "g", "severity": severities,
            "files": [r.name for r in recordings], "window_start": starts, "axes": axes,
            "channels_dropped": dropped, "original_rates": sorted({r.rate for r in recordings}),
            "resampling": f"scipy.signal.resample_poly from each recording's own rate to {RATE} Hz",
            "split": "by time within each recording: train, val, test in that order (70/15/15 % of its "
                     f"windows), one window left out between segments; under {MIN_WINDOWS} windows, train whole",
            "unsplit": unsplit, "recordings": described}
    x = np.stack(xs) if xs else np.zeros((0, len(axes), WINDOW), np.float32)
    dataset = Dataset("vibration", x, np.array(labels_, dtype=np.int16), np.array(splits, dtype=np.int8),
                      CLASSES, RATE, np.array(groups, dtype=np.int32), meta)
    problem = split_problem(dataset)
    if problem:
        raise TinymlError(f"{root}: {problem}: {_fix(dataset)}")
    return dataset


def _load(rec: Recording, channels: list[str]) -> tuple[dict[str, np.ndarray], float | None]:
    """The recording's `channels` (float64, 1-D) and its RPM (None when the file has none)."""
    rpm = f"{rec.prefix}RPM"
    try:
        mat = sio.loadmat(str(rec.path), variable_names=[*(rec.variables[c] for c in channels), rpm])
    except Exception as exc:  # scipy fails on damaged files in many ways; all mean "unreadable"
        raise TinymlError(f"{rec.path}: not a readable .mat file ({exc})") from None
    signals = {c: np.asarray(mat[rec.variables[c]], dtype=np.float64).reshape(-1) for c in channels}
    return signals, (float(np.asarray(mat[rpm]).reshape(-1)[0]) if np.size(mat.get(rpm, [])) else None)


def _fix(data: Dataset) -> str:
    """What to do about an import's split problem: which recordings were too short, or what to add."""
    recordings = data.meta["recordings"]
    short = [r for r in recordings if r["file"] in data.meta["unsplit"]]
    normal = data.labels == data.classes.index("normal")
    if not all(np.any(normal & (data.split == s)) for s in range(len(SPLITS))):
        if not any(r["label"] == "normal" for r in recordings):
            return ("no recording is normal: add CWRU's normal baseline (97.mat-100.mat) or label a normal "
                    "recording in a --labels CSV")
        return _too_short([r for r in short if r["label"] == "normal"], "normal")
    missing = {data.classes[c] for c in set(data.labels.tolist()) - set(data.labels[data.split == 2].tolist())}
    return _too_short([r for r in short if r["label"] in missing], " or ".join(sorted(missing)))


def describe(data: Dataset) -> list[str]:
    """What an import kept, dropped and how it split, for the command's output."""
    meta, recordings = data.meta, data.meta["recordings"]
    lines = [f"channels: {', '.join(meta['axes'])} (one axis each)"]
    lines += [f"  dropped {c}: not in {_some(files)} (only channels every file has are kept; none is "
              "zero-filled)" for c, files in meta["channels_dropped"].items()]
    rates: dict[int, list[str]] = {}
    for r in recordings:
        rates.setdefault(r["rate"], []).append(r["file"])
    lines.append("recorded at " + "; ".join(f"{rate} Hz: {_some(files)}" for rate, files in sorted(rates.items()))
                 + f"; resampled to {data.sample_rate} Hz")
    normal = data.labels == data.classes.index("normal")
    lines.append("split by time within each recording (70/15/15, a window left out between): " + ", ".join(
        f"{name} {int(np.sum(data.split == s))} ({int(np.sum(normal & (data.split == s)))} normal)"
        for s, name in enumerate(SPLITS)))
    if meta["unsplit"]:
        lines.append(f"  too short to split, in train whole: {_some(meta['unsplit'])}")
    return lines
