"""One front-end, two implementations: the C the device runs gives the numpy reference's bytes."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import numpy as np
import pytest

from tinyml.datasets.kws_synth import KwsConfig
from tinyml.datasets.kws_synth import generate as make_kws
from tinyml.datasets.vibration_synth import VibrationConfig
from tinyml.datasets.vibration_synth import generate as make_vibration
from tinyml.features import MfccSpec, SpectrumSpec, kws_features, reference, vibration_features
from tinyml.features.host import build_runner, run_runner, write_c_frontend


@pytest.fixture(scope="module")
def kws_small():
    return make_kws(KwsConfig(clips_per_class=30, silence_clips=30, seed=5), progress=False)


@pytest.fixture(scope="module")
def vibration_small():
    return make_vibration(VibrationConfig(normal_windows=300, fault_windows_per_severity=20, seed=5),
                          progress=False)


def agreement(python: np.ndarray, c: np.ndarray) -> tuple[float, int]:
    diff = np.abs(python.astype(np.int16) - c.astype(np.int16))
    return float(np.mean(diff == 0)), int(diff.max())


def test_c_mfcc_matches_python(kws_small, tmp_path):
    exe = build_runner(tmp_path, "mfcc", MfccSpec())
    c = run_runner(exe, kws_small.x, MfccSpec().shape)
    python = kws_features(kws_small.x)
    identical, worst = agreement(python, c)
    assert python.shape == (len(kws_small.x), 49, 10)
    assert identical >= 0.999 and worst <= 1, (identical, worst)
    assert len(np.unique(python)) > 100  # features that actually vary


def test_window_mean_normalisation_rounds_half_away_from_zero_and_saturates():
    spec = MfccSpec(clip_samples=480 + 320, normalize="window_mean")  # 2 frames: halves happen
    window = np.array([[[1, -1, 127, 5, -128], [2, -2, -128, 5, -128]]], dtype=np.int8)
    # means 1.5 -> 2, -1.5 -> -2, -0.5 -> -1, 5, -128; 127 - (-1) = 128 saturates to 127
    assert reference.normalize_window(window, spec).tolist() == [[[-1, 1, 127, 0, 0], [0, 0, -127, 0, 0]]]
    assert np.array_equal(reference.normalize_window(window, MfccSpec()), window)
    assert MfccSpec().input_zero_point == 48 and spec.input_zero_point == 0
    with pytest.raises(ValueError, match="normalize must be one of none, window_mean"):
        MfccSpec(normalize="mean")


@pytest.mark.parametrize("frames", [49, 4])
def test_c_window_mean_is_the_numpy_normalisation(kws_small, tmp_path, frames):
    """fe_mfcc() of a normalising spec is numpy's integer normalisation of its own frames, to
    the byte (ties included: 4 frames make means of .5), and the numpy reference to logf's bit."""
    spec = MfccSpec(clip_samples=480 + 320 * (frames - 1), normalize="window_mean")
    start = (16000 - spec.clip_samples) // 2
    clips = np.ascontiguousarray(kws_small.x[:, start:start + spec.clip_samples])
    raw = run_runner(build_runner(tmp_path / "raw", "mfcc", replace(spec, normalize="none")), clips, spec.shape)
    c = run_runner(build_runner(tmp_path / "cmn", "mfcc", spec), clips, spec.shape)
    assert np.array_equal(c, reference.normalize_window(raw, spec))
    totals = raw.astype(np.int32).sum(axis=1)
    if frames == 4:
        halves = totals % 4 == 2
        assert np.any(halves & (totals > 0)) and np.any(halves & (totals < 0))
    identical, worst = agreement(kws_features(clips, spec), c)
    assert identical >= 0.99 and worst <= 1, (identical, worst)
    assert not np.array_equal(c, raw)


def test_c_spectrum_matches_python(vibration_small, tmp_path):
    exe = build_runner(tmp_path, "spectrum", SpectrumSpec())
    c = run_runner(exe, reference.to_counts(vibration_small.x), SpectrumSpec().shape)
    python = vibration_features(vibration_small.x)
    identical, worst = agreement(python, c)
    assert python.shape == (len(vibration_small.x), 3, 16)
    assert identical >= 0.999 and worst <= 1, (identical, worst)


def test_spectrum_puts_a_tone_in_its_band():
    spec = SpectrumSpec()
    t = np.arange(spec.window) / spec.sample_rate
    window = np.zeros((3, spec.window))
    window[0] = 0.5 * np.sin(2 * np.pi * 530.0 * t)  # 530 Hz: band 5 of 16 x 100 Hz
    window[1] = 0.5 * np.sin(2 * np.pi * 1210.0 * t)  # band 12
    energies = reference.spectrum(reference.to_counts(window[None]), spec)[0]
    assert energies[0].argmax() == 5 and energies[1].argmax() == 12
    assert energies[2].max() < energies[0].max() - 10  # the silent axis stays at the floor


def test_mfcc_of_silence_and_of_a_tone():
    spec = MfccSpec()
    silence = reference.mfcc(np.zeros((1, 16000), dtype=np.int16), spec)[0]
    tone = reference.mfcc((8000 * np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000))
                          .astype(np.int16)[None], spec)[0]
    assert silence.shape == (49, 10)
    assert np.allclose(silence[:, 0], np.log(spec.log_floor) * np.sqrt(spec.mel_bands), rtol=1e-5)
    assert np.all(tone[:, 0] > silence[:, 0] + 15)  # one hot band of 40 lifts c0 by ~20
    assert np.ptp(tone[:, 0]) < 0.5                 # steady over time


@pytest.mark.parametrize("target", [
    ["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb"],
    ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    ["arm-none-eabi-gcc", "-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
    ["avr-gcc", "-mmcu=atmega2560"],
])
def test_c_frontend_compiles_warning_free_for_the_boards(target, tmp_path):
    mfcc = None if target[0] == "avr-gcc" else MfccSpec()  # the Mega runs the vibration app only
    files = write_c_frontend(tmp_path, mfcc, SpectrumSpec())
    done = subprocess.run([*target, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Os",
                           "-c", str(files[0]), "-I", str(tmp_path), "-o", str(tmp_path / "fe.o")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
