"""Datasets: synthetic generators (deterministic, split by voice/machine, physically sensible),
importers of the real layouts on fixtures written here, and clear errors for bad input."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import io as sio

from tinyml.datasets import (import_cwru, import_speech_commands, load, save)
from tinyml.datasets.audio import write_wav
from tinyml.datasets.kws_synth import CLASSES, KEYWORDS, KwsConfig
from tinyml.datasets.kws_synth import generate as make_kws
from tinyml.datasets.vibration_synth import Bearing, VibrationConfig
from tinyml.datasets.vibration_synth import generate as make_vibration
from tinyml.errors import TinymlError

SMALL_KWS = KwsConfig(clips_per_class=24, silence_clips=24, seed=7)


@pytest.fixture(scope="module")
def kws():
    return make_kws(SMALL_KWS, progress=False)


def test_synthetic_kws_is_deterministic_and_complete(kws):
    again = make_kws(SMALL_KWS, progress=False)
    assert np.array_equal(kws.x, again.x) and np.array_equal(kws.labels, again.labels)
    assert kws.x.dtype == np.int16 and kws.x.shape[1] == 16000
    assert kws.classes == CLASSES and len(CLASSES) == 12
    per_class = np.bincount(kws.labels, minlength=12)
    assert np.all(per_class[:11] == 24)
    assert per_class[CLASSES.index("_unknown_")] == 24 * SMALL_KWS.unknown_factor == 60
    assert np.abs(kws.x).max() > 1000  # not silent


def voices_by_split(data) -> dict[int, set[str]]:
    names = data.meta["group_voices"]
    return {s: {names[g] for g in set(data.groups[(data.split == s) & (data.groups >= 0)])}
            for s in range(3)}


def test_synthetic_kws_test_voices_are_unheard_in_training(kws):
    """espeak-ng's test voices are unheard in training; the other engines' few real speakers
    say other utterances in every split."""
    voices = voices_by_split(kws)
    espeak = {s: {v for v in vs if v.startswith("espeak-ng:")} for s, vs in voices.items()}
    assert espeak[0] and espeak[2]
    assert not espeak[0] & espeak[2] and not espeak[0] & espeak[1]
    assert {v.split(":")[0] for v in voices[0]} == set(SMALL_KWS.engines)


def test_leave_one_engine_out_tests_on_that_engine_alone():
    data = make_kws(KwsConfig(clips_per_class=12, silence_clips=12, seed=3, test_engine="flite"),
                    progress=False)
    engines = {s: {v.split(":")[0] for v in vs} for s, vs in voices_by_split(data).items()}
    assert engines[2] == {"flite"}
    assert "flite" not in engines[0] | engines[1] and len(engines[0]) == len(KwsConfig().engines) - 1
    assert data.meta["test_voices"] == "flite only, left out of training"


def test_synthetic_silence_spans_digital_zero_to_loud_noise():
    from tinyml.datasets.kws_synth import silence

    rng = np.random.default_rng(0)
    pool = [np.sin(np.arange(4000) / 7.0)]  # stands in for babble
    rms = np.array([np.sqrt(np.mean(silence(rng, pool).astype(float) ** 2)) for _ in range(400)])
    assert np.sum(rms == 0) >= 15                      # digital zero
    assert np.sum((rms > 0) & (rms < 10)) >= 40        # a few LSB of converter noise
    assert np.sum(rms > 3000) >= 20                    # loud machine noise
    assert rms.max() < 32767 * 0.5


def test_unknown_words_hold_near_misses_of_every_keyword_and_no_keyword():
    from tinyml.datasets.kws_synth import NEAR_MISSES, UNKNOWN_WORDS

    assert set(NEAR_MISSES) == set(KEYWORDS)
    assert all(set(words) <= set(UNKNOWN_WORDS) for words in NEAR_MISSES.values())
    assert not set(UNKNOWN_WORDS) & set(KEYWORDS)
    assert len(set(UNKNOWN_WORDS)) == len(UNKNOWN_WORDS) >= 100  # each word's share the same


def test_no_unknown_word_sounds_like_a_keyword_in_any_accent():
    """\"know\" labelled unknown while "no" is a keyword is a label no model can learn: compared
    by espeak-ng's phonemes in every accent the set is spoken in."""
    from tinyml.datasets.kws_synth import UNKNOWN_WORDS
    from tinyml.datasets.tts import ENGINES, ESPEAK_ACCENTS

    if not ENGINES["espeak-ng"].available():
        pytest.skip("espeak-ng is not installed (make setup installs it)")

    def phonemes(accent, words):  # a word at a time: in a sentence, context changes a word's stress
        def one(word):
            return subprocess.run(["espeak-ng", "-q", "-x", "-v", accent, word], capture_output=True,
                                  text=True, timeout=60, check=True).stdout.strip()
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, words))

    assert phonemes("en-us", ["know", "no", "write"]) == ["n'oU", "n'oU", "r'aIt"]  # the check sees homophones
    for accent in ESPEAK_ACCENTS:
        keywords = dict(zip(phonemes(accent, KEYWORDS), KEYWORDS))
        same = [(w, keywords[p]) for w, p in zip(UNKNOWN_WORDS, phonemes(accent, UNKNOWN_WORDS))
                if p in keywords]
        assert not same, f"{accent}: {same}"


def test_augmentations_do_what_they_say():
    from tinyml.datasets import audio

    rng = np.random.default_rng(1)
    x = np.sin(2 * np.pi * 440 * np.arange(8000) / 16000)
    assert audio.speed(x, 1.25).size == 6400 and audio.speed(x, 0.8).size == 10000
    assert np.sqrt(np.mean(audio.at_level(x, -20) ** 2)) == pytest.approx(0.1, rel=1e-6)
    assert np.abs(audio.clip_hard(rng, x)).max() < 0.9
    t = np.arange(16000) / 16000
    for f, kept in ((20, False), (1000, True), (7900, False)):
        tone = np.sin(2 * np.pi * f * t)
        out = np.mean([np.std(audio.microphone(np.random.default_rng(k), tone)[4000:]) for k in range(8)])
        assert (out > 0.3 * np.std(tone)) == kept, (f, out)


def test_bearing_frequencies_match_cwru_published_values():
    """SKF 6205 at 1797 rpm: CWRU lists BPFI 162.19, BPFO 107.36, FTF 11.93 Hz and, for the
    rolling element, 141.17 Hz: twice the ball spin frequency (a spot on a ball strikes both
    races per turn), which is the rate the generator uses for ball faults."""
    f = Bearing().frequencies(1797 / 60)
    assert f["bpfi"] == pytest.approx(162.19, abs=0.05)
    assert f["bpfo"] == pytest.approx(107.36, abs=0.05)
    assert f["ftf"] == pytest.approx(11.93, abs=0.02)
    assert 2 * f["bsf"] == pytest.approx(141.17, abs=0.1)


def test_synthetic_vibration_faults_show_up_where_physics_says():
    data = make_vibration(VibrationConfig(normal_windows=200, fault_windows_per_severity=40, seed=3),
                          progress=False)
    again = make_vibration(VibrationConfig(normal_windows=200, fault_windows_per_severity=40, seed=3),
                           progress=False)
    assert np.array_equal(data.x, again.x)
    assert data.x.shape[1:] == (3, 256)
    machines = {s: set(data.groups[data.split == s]) for s in range(3)}
    assert not machines[0] & machines[2]

    def band_energy(label, lo, hi):
        x = data.x[data.labels == data.classes.index(label)][:, 0]
        spectrum = np.abs(np.fft.rfft(x * np.hanning(256), axis=1)) ** 2
        freqs = np.fft.rfftfreq(256, 1 / 3200)
        return spectrum[:, (freqs >= lo) & (freqs < hi)].sum(axis=1).mean()

    # bearing strikes ring the 0.7-1.3 kHz resonance; imbalance lives at running speed
    assert band_energy("outer_race", 700, 1300) > 5 * band_energy("normal", 700, 1300)
    assert band_energy("imbalance", 15, 45) > 5 * band_energy("normal", 15, 45)


def speech_commands_fixture(root, rate=16000, channels=1):
    rng = np.random.default_rng(0)
    words = KEYWORDS + ["bird", "house"]
    lists = {"validation_list.txt": [], "testing_list.txt": []}
    for w in words:
        (root / w).mkdir(parents=True)
        for speaker in ("aaaa1111", "bbbb2222", "cccc3333"):
            name = f"{speaker}_nohash_0.wav"
            write_wav(root / w / name, (rng.standard_normal(12000) * 1000).astype(np.int16), rate)
            if speaker == "bbbb2222":
                lists["validation_list.txt"].append(f"{w}/{name}")
            if speaker == "cccc3333":
                lists["testing_list.txt"].append(f"{w}/{name}")
    (root / "_background_noise_").mkdir()
    write_wav(root / "_background_noise_" / "white_noise.wav",
              (rng.standard_normal(48000) * 500).astype(np.int16))
    for name, entries in lists.items():
        (root / name).write_text("\n".join(entries) + "\n")
    if channels == 2:
        import wave

        with wave.open(str(root / "yes" / "stereo_nohash_0.wav"), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(bytes(400))


def test_speech_commands_layout_imports_with_the_12_classes(tmp_path):
    speech_commands_fixture(tmp_path)
    data = import_speech_commands(tmp_path, progress=False)
    names = [data.classes[i] for i in data.labels]
    assert names.count("yes") == 3 and names.count("_unknown_") == 6
    assert names.count("_silence_") >= 3
    assert data.x.shape[1] == 16000 and np.all(data.x[:, 12000:][np.array(names) != "_silence_"] == 0)
    for split in range(3):
        assert np.sum((data.split == split) & (data.labels == CLASSES.index("yes"))) == 1


@pytest.mark.parametrize("breakage,message", [
    ("rate", "sampled at 8000 Hz; expected 16000 Hz"),
    ("stereo", "2 channel(s) of 16-bit audio; expected mono"),
    ("no_list", "validation_list.txt is missing"),
    ("no_keyword", "no folder for keyword(s) yes"),
])
def test_speech_commands_bad_input_names_file_and_fix(tmp_path, breakage, message):
    speech_commands_fixture(tmp_path, rate=8000 if breakage == "rate" else 16000,
                            channels=2 if breakage == "stereo" else 1)
    if breakage == "no_list":
        (tmp_path / "validation_list.txt").unlink()
    if breakage == "no_keyword":
        import shutil

        shutil.rmtree(tmp_path / "yes")
    with pytest.raises(TinymlError, match=re.escape(message)):
        import_speech_commands(tmp_path, progress=False)


def cwru_fixture(root):
    """1 s of each: the normal baseline is recorded at 48 kHz, the faults here at 12 kHz."""
    rng = np.random.default_rng(1)
    for name, number in [("Normal_0", 97), ("IR007_1", 106), ("OR021@6_0", 234), ("105", 105)]:
        n = 48000 if number == 97 else 12000
        sio.savemat(root / f"{name}.mat", {
            f"X{number:03d}_DE_time": rng.standard_normal((n, 1)) * 0.1,
            f"X{number:03d}_FE_time": rng.standard_normal((n, 1)) * 0.05,
            f"X{number:03d}RPM": np.array([[1797]])})


def test_cwru_files_import_with_labels_and_severity(tmp_path):
    cwru_fixture(tmp_path)
    data = import_cwru(tmp_path)
    by_file = dict(zip(data.meta["files"], range(4)))
    labels = {f: data.classes[data.labels[data.groups == g][0]] for f, g in by_file.items()}
    assert labels == {"105.mat": "inner_race", "IR007_1.mat": "inner_race",
                      "Normal_0.mat": "normal", "OR021@6_0.mat": "outer_race"}
    assert data.x.shape[1:] == (2, 256) and data.meta["axes"] == ["DE", "FE"]  # no base channel: no axis
    # 1 s -> 3200 samples at 3200 Hz -> 12 window slots, 2 left out between the three splits
    assert len(data.x) == 4 * 10
    assert np.all(np.std(data.x, axis=2) > 0)  # no zero-filled axis


def test_cwru_bad_files_are_named(tmp_path):
    cwru_fixture(tmp_path)
    (tmp_path / "broken.mat").write_bytes(b"MATLAB 5.0 garbage" + bytes(100))
    with pytest.raises(TinymlError, match=r"broken.mat: cannot tell the fault"):
        import_cwru(tmp_path)
    (tmp_path / "broken.mat").rename(tmp_path / "B014_0.mat")
    with pytest.raises(TinymlError, match=r"B014_0.mat: not a readable .mat file"):
        import_cwru(tmp_path)


def test_save_is_atomic(tmp_path, kws, monkeypatch):
    target = tmp_path / "set"
    save(kws, target)
    assert np.array_equal(load(target).x, kws.x)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        save(kws, tmp_path / "half")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]  # nothing half-written


def test_cli_make_show_features(tmp_path):
    env = {"TINYML_DATA": str(tmp_path)}
    import os

    env = {**os.environ, **env}
    run = [sys.executable, "-m", "tinyml"]
    made = subprocess.run([*run, "datasets", "make", "vibration", "--windows", "100"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    folder = made.stdout.split(": ")[-1].strip()
    shown = subprocess.run([*run, "datasets", "show", folder, "--png", str(tmp_path / "v.png")],
                           env=env, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and "normal" in shown.stdout and (tmp_path / "v.png").stat().st_size > 5000
    feats = subprocess.run([*run, "features", folder, "-o", str(tmp_path / "f.npz")], env=env,
                           capture_output=True, text=True, timeout=300)
    assert feats.returncode == 0, feats.stderr
    with np.load(tmp_path / "f.npz") as f:
        assert f["features"].shape[1:] == (3, 16) and f["features"].dtype == np.int8
    missing = subprocess.run([*run, "datasets", "import", "cwru", str(tmp_path / "nothing")],
                             env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no .mat files" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_dataset_cache_that_cannot_be_written_is_one_line_naming_the_fix(tmp_path, monkeypatch):
    from tinyml.datasets import make_vibration

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("TINYML_DATA", str(blocker / "cache"))
    config = VibrationConfig(normal_windows=60, seed=5)
    with pytest.raises(TinymlError) as error:
        make_vibration(config, progress=False)
    assert str(error.value).startswith(f"cannot write the dataset cache {blocker / 'cache'}/vibration-")
    assert str(error.value).endswith(" (Not a directory): set TINYML_DATA to a writable folder")
