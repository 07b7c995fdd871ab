"""Tri-axial vibration windows from a physics model of a motor on a rolling-element bearing.

The shaft turns at f_r (varying speed and load). A healthy machine shows its running speed and
a few harmonics (residual imbalance), broadband noise and sensor noise. Bearing defects strike
once per passage at the bearing's characteristic frequencies, computed from its geometry:
BPFO = n/2 f_r (1 - d/D cos a), BPFI = n/2 f_r (1 + d/D cos a), BSF = D/2d f_r (1 - (d/D cos a)^2)
and FTF = f_r/2 (1 - d/D cos a); every strike rings a structural resonance (a damped sine), and
inner-race strikes are amplitude-modulated by the shaft rotation (the defect turns through the
load zone), ball strikes by the cage (FTF). Shaft faults add imbalance (1x), misalignment (2x,
strong axially) or looseness (many harmonics and a 1/2x subharmonic, clipped).

Machines differ as real ones do: bearing (a table of common deep-groove sizes), running speed
(each machine its own, +-3 % from window to window), structural resonance and damping, baseline
harmonics and noise, mounting (per-axis coupling) and sensor gain (x0.5 to x2). Splits are by
machine; a model meant to be calibrated to the machine it is bolted to learns each machine's
windows relative to that machine's own normal level (tinyml.train.vibration).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from tinyml.datasets.store import Dataset, split_problem
from tinyml.errors import TinymlError

CLASSES = ["normal", "outer_race", "inner_race", "ball", "imbalance", "misalignment", "looseness"]
RATE = 3200          # Hz: an ADXL345's top output rate
WINDOW = 256         # samples per axis per window (80 ms)
SEVERITIES = (1, 2, 3)


@dataclass(frozen=True)
class Bearing:
    """Geometry of a deep-groove ball bearing (defaults: SKF 6205, as in the CWRU data)."""
    balls: int = 9
    ball_diameter_mm: float = 7.94
    pitch_diameter_mm: float = 39.04
    contact_angle_deg: float = 0.0

    def frequencies(self, shaft_hz: float) -> dict[str, float]:
        r = self.ball_diameter_mm / self.pitch_diameter_mm * np.cos(np.radians(self.contact_angle_deg))
        return {
            "bpfo": self.balls / 2 * shaft_hz * (1 - r),
            "bpfi": self.balls / 2 * shaft_hz * (1 + r),
            "bsf": self.pitch_diameter_mm / (2 * self.ball_diameter_mm) * shaft_hz * (1 - r * r),
            "ftf": shaft_hz / 2 * (1 - r),
        }


# Bearings of the training machines: (balls, ball and pitch diameters in mm), deep groove.
BEARINGS = (Bearing(9, 7.94, 39.04),    # 6205, CWRU's drive end
            Bearing(8, 6.75, 28.50),    # 6203, CWRU's fan end
            Bearing(8, 7.94, 33.50),    # 6204
            Bearing(9, 9.53, 46.00),    # 6206
            Bearing(8, 10.32, 44.50),   # 6305
            Bearing(8, 15.08, 65.00))   # 6308
# Bearings no training machine has, for machines unseen in training (benchmarks/vibration_real.py).
UNSEEN_BEARINGS = (Bearing(9, 11.11, 53.50),                      # 6207
                   Bearing(7, 6.35, 26.00),                       # 6302
                   Bearing(12, 7.14, 38.50, contact_angle_deg=40.0))  # 7205, angular contact


@dataclass(frozen=True)
class VibrationConfig:
    normal_windows: int = 4000
    fault_windows_per_severity: int = 300
    machines: int = 40
    seed: int = 0
    recipe: int = 2  # bumped when the generator changes what it makes (2: machines differ in bearing,
                     # speed, sensor gain)

    def key(self) -> str:
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[:10]


def machine(rng: np.random.Generator, bearings: tuple[Bearing, ...] = BEARINGS) -> dict:
    """One machine's physics, drawn at random (its bearing from `bearings`)."""
    return {"shaft_hz": rng.uniform(15, 50), "resonance_hz": rng.uniform(500, 1450),
            "damping": rng.uniform(0.02, 0.1),
            "harmonics": rng.uniform(0.02, 0.08, size=5) / np.arange(1, 6),
            "noise_g": rng.uniform(0.005, 0.03),
            "axis_gain": rng.uniform(0.7, 1.3, size=3) * np.exp(rng.uniform(np.log(0.5), np.log(2.0))),
            "bearing": bearings[int(rng.integers(0, len(bearings)))]}


def _impacts(rng, t, rate_hz, machine, amplitude, modulation=None):
    """Strikes at rate_hz (with 1-2% slip), each ringing the resonance; t in seconds."""
    f_n, zeta = machine["resonance_hz"], machine["damping"]
    period = 1.0 / rate_hz
    first = np.floor((t[0] - 0.05) / period) * period
    out = np.zeros_like(t)
    for k in range(int((t[-1] - first) / period) + 2):
        tk = first + k * period * (1 + rng.normal(0, 0.015))
        dt = t - tk
        live = dt >= 0
        a = amplitude * (1.0 if modulation is None else modulation(tk))
        out[live] += a * np.exp(-zeta * 2 * np.pi * f_n * dt[live]) * np.sin(2 * np.pi * f_n * dt[live])
    return out


def window(rng: np.random.Generator, machine: dict, label: str, severity: int) -> np.ndarray:
    """One window [3 axes, WINDOW] in g."""
    shaft = machine["shaft_hz"] * rng.uniform(0.97, 1.03)
    load = rng.uniform(0.3, 1.0)
    t = rng.uniform(0, 10) + np.arange(WINDOW) / RATE
    phase = rng.uniform(0, 2 * np.pi, size=10)
    x = np.zeros((3, WINDOW))
    for k, amp in enumerate(machine["harmonics"], start=1):     # running speed and harmonics
        x[0] += amp * load * np.sin(2 * np.pi * k * shaft * t + phase[k])
        x[1] += amp * load * np.cos(2 * np.pi * k * shaft * t + phase[k])
        x[2] += 0.3 * amp * load * np.sin(2 * np.pi * k * shaft * t + phase[k] + 1.0)
    s = severity / 3.0
    f = machine["bearing"].frequencies(shaft)
    if label == "outer_race":
        hit = _impacts(rng, t, f["bpfo"], machine, 0.6 * s * load)
        x += np.array([[1.0], [0.6], [0.3]]) * hit
    elif label == "inner_race":
        hit = _impacts(rng, t, f["bpfi"], machine, 0.5 * s * load,
                       lambda tk: 0.5 + 0.5 * np.cos(2 * np.pi * shaft * tk + phase[0]))
        x += np.array([[1.0], [0.8], [0.3]]) * hit
    elif label == "ball":
        hit = _impacts(rng, t, 2 * f["bsf"], machine, 0.4 * s * load,
                       lambda tk: 0.5 + 0.5 * np.cos(2 * np.pi * f["ftf"] * tk + phase[1]))
        x += np.array([[0.9], [0.9], [0.4]]) * hit
    elif label == "imbalance":
        amp = 0.4 * s * min((shaft / 30) ** 2, 2.0)
        x[0] += amp * np.sin(2 * np.pi * shaft * t + phase[2])
        x[1] += amp * np.cos(2 * np.pi * shaft * t + phase[2])
    elif label == "misalignment":
        amp = 0.3 * s
        x[0] += amp * np.sin(4 * np.pi * shaft * t + phase[3])
        x[2] += 1.5 * amp * np.sin(4 * np.pi * shaft * t + phase[4]) + 0.5 * amp * np.sin(
            2 * np.pi * shaft * t + phase[5])
    elif label == "looseness":
        amp = 0.15 * s
        rattle = sum(amp / np.sqrt(k) * np.sin(2 * np.pi * k * shaft * t + phase[k % 10])
                     for k in range(1, 11)) + amp * np.sin(np.pi * shaft * t + phase[6])
        x[:2] += np.clip(rattle, -1.5 * amp, 1.5 * amp) * np.array([[1.0], [0.7]])
    x += machine["noise_g"] * rng.standard_normal(x.shape)
    x += 0.005 * rng.standard_normal(x.shape)                  # sensor noise floor
    return (x * machine["axis_gain"][:, None]).astype(np.float32)


def generate(cfg: VibrationConfig = VibrationConfig(), progress: bool = True) -> Dataset:
    rng = np.random.default_rng(cfg.seed)
    machines = [machine(rng) for _ in range(cfg.machines)]
    machine_split = np.array([0 if m < 0.7 * cfg.machines else 1 if m < 0.85 * cfg.machines else 2
                              for m in range(cfg.machines)], dtype=np.int8)
    plan = [("normal", 0)] * cfg.normal_windows + [
        (label, sev) for label in CLASSES[1:] for sev in SEVERITIES
        for _ in range(cfg.fault_windows_per_severity)]
    xs, labels, severities, groups = [], [], [], []
    for label, sev in tqdm(plan, desc="vibration windows", unit="win", disable=not progress):
        m = int(rng.integers(0, cfg.machines))
        xs.append(window(rng, machines[m], label, sev))
        labels.append(CLASSES.index(label))
        severities.append(sev)
        groups.append(m)
    groups_arr = np.array(groups, dtype=np.int32)
    dataset = Dataset("vibration", np.stack(xs), np.array(labels, dtype=np.int16),
                      machine_split[groups_arr], CLASSES, RATE, groups_arr,
                      {"source": "synthetic (bearing physics)", "config": asdict(cfg), "groups": "machine",
                       "severity": severities, "units": "g", "axes": ["x", "y", "z"]})
    # Windows go to machines at random and machines to splits, so a small set can leave a split
    # without normal windows. (A class missing from test is training's to refuse: a set made for
    # its features alone may lack one.)
    problem = split_problem(dataset, every_class_in_test=False)
    if problem:
        raise TinymlError(f"the synthetic vibration set (seed {cfg.seed}: {cfg.normal_windows} normal and "
                          f"{cfg.fault_windows_per_severity} windows per fault and severity over {cfg.machines} "
                          f"machines) has {problem}: give it more windows (`tinyml datasets make vibration "
                          "--windows N`, N in the hundreds)")
    return dataset
