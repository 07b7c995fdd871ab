"""Always-listening KWS: the streaming front-end gives the model the batch reference's bytes
(C and numpy), the detector decides the same in C and Python, the host simulator and `tinyml
stream` run the device's loop on a recording."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyml.compile import compile_model
from tinyml.convert.tflm import TflmModel
from tinyml.datasets.audio import write_wav
from tinyml.datasets.kws_synth import KwsConfig
from tinyml.datasets.kws_synth import generate as make_kws
from tinyml.datasets.store import load
from tinyml.features import MfccSpec, kws_features
from tinyml.features.host import C_DIR, build_runner, run_runner, write_c_frontend
from tinyml.features.stream import MfccStream, mfcc_frames
from tinyml.stream import (DetectConfig, Detection, Detector, Event, StreamModel, choose_thresholds,
                           evaluate, pick_thresholds, replay, simulate, validation_stream)
from tinyml.stream.detect import hop_ms, probability_milli
from tinyml.tools import proc

SPEC = MfccSpec()
NORMALIZED = MfccSpec(normalize="window_mean")  # `normalize = "window_mean"` in a kws config
RUNNER = Path(__file__).parent / "c" / "stream_runner.c"
FRAME_BYTES = SPEC.coefficients
WINDOW_BYTES = SPEC.frames * SPEC.coefficients


@pytest.fixture(scope="module")
def clips():
    """Synthetic keyword clips (every class, silence from zero to loud noise): 405 of them."""
    return make_kws(KwsConfig(clips_per_class=30, silence_clips=30, seed=5), progress=False).x


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> Path:
    return stream_runner(tmp_path_factory.mktemp("stream-runner"), SPEC)


@pytest.fixture(scope="module")
def normalized_runner(tmp_path_factory) -> Path:
    return stream_runner(tmp_path_factory.mktemp("stream-runner-cmn"), NORMALIZED)


def stream_runner(out: Path, spec: MfccSpec) -> Path:
    """tests/c/stream_runner.c with tm_stream.c, tm_detect.c and tm_frontend.c, for the host."""
    files = write_c_frontend(out, spec)
    exe = out / "stream_runner"
    done = proc.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
                     "-I", str(out), "-I", str(C_DIR), str(files[0]), str(C_DIR / "tm_stream.c"),
                     str(C_DIR / "tm_detect.c"), str(RUNNER), "-lm", "-o", str(exe)],
                    timeout=120, what="compiling the stream runner")
    assert done.returncode == 0, done.stderr
    return exe


def c_stream(exe: Path, audio: np.ndarray, *mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(frames [n, 10], windows [n, 49, 10]) the C stream produced, one per frame computed."""
    done = subprocess.run([str(exe), *mode], input=np.asarray(audio, "<i2").tobytes(),
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = np.frombuffer(done.stdout, dtype=np.int8).reshape(-1, FRAME_BYTES + WINDOW_BYTES)
    return out[:, :FRAME_BYTES], out[:, FRAME_BYTES:].reshape(-1, *SPEC.shape)


def long_stream(clips: np.ndarray, seconds: float = 7.0, seed: int = 3) -> np.ndarray:
    """Several seconds of varied audio: words, digital silence, white and brown noise at
    several levels, a clipped full-scale chirp; a length that is no whole number of hops."""
    rng = np.random.default_rng(seed)
    rate = SPEC.sample_rate
    t = np.arange(int(0.9 * rate)) / rate
    parts = [clips[5][3000:], np.zeros(int(0.37 * rate)),
             rng.normal(0, 3000, int(0.6 * rate)), clips[200], clips[77][:9000],
             np.clip(40000 * np.sin(2 * np.pi * (300 + 1800 * t) * t), -32768, 32767),
             np.cumsum(rng.normal(0, 40, int(0.8 * rate))), rng.normal(0, 30, int(0.5 * rate)),
             clips[300], clips[400][:5000], clips[350]]
    audio = np.concatenate(parts)[:int(seconds * rate) + 123]
    return np.clip(np.round(audio), -32768, 32767).astype(np.int16)


# --- the streaming front-end --------------------------------------------------------------


def test_every_test_clip_streamed_is_its_batch_features_in_c_and_numpy(clips, runner, tmp_path):
    """The clips back to back as one stream: the window after each clip's last frame (frame
    49 + 50 j) is that clip's batch features, from the C stream, the numpy stream, the C batch
    front-end and the numpy reference alike."""
    reference = kws_features(clips)
    c_batch = run_runner(build_runner(tmp_path, "mfcc", SPEC), clips, SPEC.shape)
    assert np.array_equal(c_batch, reference), "C and numpy batch front-ends differ (libm logf?)"
    audio = clips.reshape(-1)
    ends = np.arange(len(clips)) * 50 + SPEC.frames - 1  # index of each clip's window
    for mode in (["push", "320"], ["push", "4801"], ["space"]):
        frames, windows = c_stream(runner, audio, *mode)
        assert len(frames) == 1 + (len(audio) - SPEC.window) // SPEC.stride == 20249
        assert np.array_equal(windows[ends], reference), mode
    stream, got = MfccStream(SPEC), []
    for clip in clips:  # any chunking: test_numpy_stream_takes_any_chunking
        stream.push(clip)
        got.append(stream.window())
    assert stream.frames == 20249 and np.array_equal(np.stack(got), reference)
    assert np.array_equal(mfcc_frames(audio), frames)
    assert len(np.unique(reference)) > 100  # features that vary


@pytest.mark.parametrize("spec", [SPEC, NORMALIZED], ids=["mlperf", "window-mean"])
def test_every_window_of_a_long_stream_is_the_batch_reference(clips, runner, normalized_runner, spec):
    audio = long_stream(clips)
    assert len(audio) == 7 * 16000 + 123
    exe = runner if spec == SPEC else normalized_runner
    frames, windows = c_stream(exe, audio, "push", "97")
    n = len(frames)
    assert n == 1 + (len(audio) - SPEC.window) // SPEC.stride == 349
    positions = np.arange(SPEC.frames, n + 1)  # frames computed when the window is full
    batch = kws_features(np.stack([audio[(p - SPEC.frames) * SPEC.stride:][:SPEC.clip_samples]
                                   for p in positions]), spec)
    assert len(batch) == 301
    assert np.array_equal(windows[positions - 1], batch)
    assert np.array_equal(mfcc_frames(audio), frames)  # the ring holds frames, normalised or not
    space_frames, space_windows = c_stream(exe, audio, "space")
    assert np.array_equal(space_frames, frames) and np.array_equal(space_windows, windows)
    stream = MfccStream(spec)
    for start in range(0, len(audio), 320 * 7):
        stream.push(audio[start:start + 320 * 7])
        if stream.full:
            assert np.array_equal(stream.window(), windows[stream.frames - 1])
    assert stream.frames == n and len(stream.pending) == 160 + (len(audio) - 160) % 320
    if spec == NORMALIZED:  # each window's coefficients centred on 0 (to the rounding of its
        # mean), except c0 where a loud chirp beside silence saturates; few values at a limit
        means = batch.astype(np.float64).mean(axis=1)
        assert np.abs(means[:, 1:]).max() <= 0.5 and 1 < np.abs(means[:, 0]).max() <= 8
        assert 0 < np.mean((batch == 127) | (batch == -128)) < 0.01
        assert not np.array_equal(batch, kws_features(np.stack([audio[(p - 49) * 320:][:16000]
                                                                for p in positions])))


def test_numpy_stream_takes_any_chunking(clips):
    audio = long_stream(clips, seconds=3.0)
    expected = mfcc_frames(audio)
    for chunk in (1, 7, 320, 321, len(audio)):
        stream, got = MfccStream(SPEC), []
        for start in range(0, len(audio), chunk):
            got.append(stream.push(audio[start:start + chunk]))
        assert np.array_equal(np.concatenate(got), expected), chunk
        assert np.array_equal(stream.window(), expected[-SPEC.frames:]), chunk
    assert len(expected) == 149
    assert MfccStream(SPEC).push(audio[:479]).shape == (0, 10)  # not one window yet


@pytest.mark.parametrize("target", [
    ["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb"],
    ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    ["arm-none-eabi-gcc", "-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
    ["avr-gcc", "-mmcu=atmega2560"],
])
def test_stream_c_compiles_warning_free_for_the_boards(target, tmp_path):
    write_c_frontend(tmp_path, SPEC)
    sources = ["tm_detect.c"] if target[0] == "avr-gcc" else ["tm_stream.c", "tm_detect.c"]
    for source in sources:
        done = subprocess.run([*target, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Os",
                               "-c", str(C_DIR / source), "-I", str(tmp_path), "-I", str(C_DIR),
                               "-o", str(tmp_path / "x.o")], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (source, done.stderr)


# --- detection ------------------------------------------------------------------------------


def q(probabilities) -> list[int]:
    """Softmax probabilities as int8 (scale 1/256, zero point -128)."""
    return [int(np.clip(round(p * 256) - 128, -128, 127)) for p in probabilities]


def run_detector(outputs, thresholds, config, zero_point=-128):
    detector, fired = Detector(thresholds, config, zero_point), []
    hops = range(SPEC.frames, SPEC.frames + config.every * len(outputs), config.every)
    for hop, output in zip(hops, outputs):
        assert detector.due(hop) and not detector.due(hop + 1) or config.every == 1
        c = detector.step(output, hop)
        if c >= 0:
            fired.append((hop, c, detector.sums[c]))
    return fired


def test_detector_averages_fires_at_the_threshold_then_holds_off():
    config = DetectConfig(every=2, average=2, refractory_ms=200)  # 10 hops: 5 inferences
    assert config.refractory_hops() == 10
    thresholds = [300, 300, None]  # yes, no, _silence_ (never fires)
    outputs = [q([0.0, 0.0, 1.0]),   # hop 49
               q([0.6, 0.0, 0.4]),   # 51: yes 154 (its level) + 0
               q([0.6, 0.0, 0.4]),   # 53: 154 + 154 = 308 >= 300: fires
               q([1.0, 0.0, 0.0]),   # 55..61: within 10 hops of 53: nothing
               q([1.0, 0.0, 0.0]), q([0.0, 1.0, 0.0]), q([0.0, 1.0, 0.0]),
               q([0.0, 1.0, 0.0]),   # 63: 10 hops on: no = 255 + 255
               q([0.59, 0.0, 0.41]), q([0.0, 0.0, 1.0])]
    assert run_detector(outputs, thresholds, config) == [(53, 0, 308), (63, 1, 510)]
    assert run_detector(outputs, [309, 511, None], config) == [(55, 0, 409)]  # 154 + 255
    assert run_detector([q([0.0, 0.0, 1.0])] * 20, thresholds, config) == []  # silence never fires


def test_detector_picks_the_highest_score_then_the_lowest_index():
    config = DetectConfig(every=1, average=1, refractory_ms=0)
    both = [[100 - 128, 100 - 128, 0], [90 - 128, 120 - 128, 0]]
    assert run_detector(both, [50, 50, None], config) == [(49, 0, 100), (50, 1, 120)]


def random_outputs(rng, count: int, classes: int) -> np.ndarray:
    """Posteriors with bursts of confident keywords, as int8 softmax outputs."""
    logits = rng.normal(0, 1.5, (count, classes))
    for start in rng.integers(0, count - 8, count // 20):
        logits[start:start + rng.integers(2, 8), rng.integers(classes)] += rng.uniform(2, 7)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return np.clip(np.round(p * 256) - 128, -128, 127).astype(np.int8)


@pytest.mark.parametrize("every,average,refractory_ms,zero_point", [
    (1, 1, 0, -128), (2, 3, 1000, -128), (3, 5, 300, -128), (4, 2, 20, -100), (1, 8, 600, 0)])
def test_c_detector_gives_the_python_detections(runner, every, average, refractory_ms, zero_point):
    rng = np.random.default_rng(every * 100 + average)
    classes = ["a", "b", "c", "d", "e", "f", "_silence_", "_unknown_"]
    outputs = random_outputs(rng, 3000, len(classes))
    config = DetectConfig(every=every, average=average, refractory_ms=refractory_ms)
    low, high = (-128 - zero_point) * average, (127 - zero_point) * average  # the scores' range
    thresholds = [int(low + t * (high - low)) for t in rng.uniform(0.4, 0.85, 6)] + [None, None]
    expected = run_detector(outputs.tolist(), thresholds, config, zero_point)
    args = [str(v) for v in (len(classes), average, every, SPEC.frames, config.refractory_hops(),
                             zero_point)] + ["never" if t is None else str(t) for t in thresholds]
    done = subprocess.run([str(runner), "detect", *args], input=outputs.tobytes(),
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    got = [tuple(int(v) for v in line.split()) for line in done.stdout.decode().splitlines()]
    assert got == expected
    assert len(expected) > 20 and len({c for _, c, _ in expected}) >= 4


def test_detection_line_and_timestamps():
    assert hop_ms(49) == 990 and hop_ms(50) == 1010  # 48 hops of 20 ms, then a 30 ms window
    assert probability_milli(600, 3, 1 / 256) == 781  # 600 / 768
    d = Detection(hop=151, ms=int(hop_ms(151)), label="yes", score=600, probability_milli=781)
    assert d.line() == "DETECT yes p=0.781 t=3.030s"


def test_evaluation_counts_false_accepts_and_misses():
    config = DetectConfig(every=2, average=3, refractory_ms=1000)  # slack: 1 s + 2 x 40 ms
    events = [Event("yes", 1000, 2000), Event("no", 5000, 6000), Event("yes", 9000, 10000)]
    found = [Detection(0, 1500, "yes", 0, 0),   # event 1
             Detection(0, 3080, "yes", 0, 0),   # 1080 ms after event 1 ended: its second: false
             Detection(0, 5500, "yes", 0, 0),   # the wrong word: false
             Detection(0, 7081, "no", 0, 0)]    # 1081 ms after: too late, false; "no" missed
    result = evaluate(found, events, 2 * 3_600_000, config)
    assert (result.keywords, result.misses, result.false_accepts, result.substitutions) == (3, 2, 3, 1)
    assert result.false_accepts_per_hour == 1.5 and result.miss_rate == pytest.approx(2 / 3)
    assert result.other_false_accepts_per_hour == 1.0  # the "yes" said over "no" is a substitution


def test_thresholds_are_the_lowest_that_keep_the_false_accepts_in_budget():
    """One keyword: true words peak at level 240; false alarms at 200, 180, 150 and 100, each
    apart. 2 false accepts allowed over an hour: 180 (200 and 180 fire falsely, 150 would be a
    third); none: 240; 9: 150, as 100 is below p = 0.5 (128)."""
    config = DetectConfig(every=2, average=1, refractory_ms=1000)
    classes = ["yes", "_silence_"]
    levels = np.zeros(900, dtype=np.int64)
    truth = {100: 240, 300: 240, 500: 240}
    false = {200: 200, 400: 180, 600: 150, 700: 100}
    for at, level in {**truth, **false}.items():
        levels[at] = level
    outputs = np.stack([levels - 128, 127 - levels], axis=1).astype(np.int8)
    hops = np.arange(900) * 2 + SPEC.frames
    events = [Event("yes", int(hop_ms(hops[at])) - 1000, int(hop_ms(hops[at]))) for at in truth]
    thresholds = pick_thresholds(outputs, hops, events, classes, 3_600_000, 2.0, config, 1 / 256, -128, SPEC)
    assert thresholds == [180, None]
    found = replay(outputs, hops, classes, thresholds, config, 1 / 256, -128, SPEC)
    assert [d.hop for d in found] == [hops[at] for at in (100, 200, 300, 400, 500)]
    result = evaluate(found, events, 3_600_000, config)
    assert (result.false_accepts, result.misses) == (2, 0)
    assert pick_thresholds(outputs, hops, events, classes, 3_600_000, 0.0, config, 1 / 256, -128,
                           SPEC) == [240, None]
    assert pick_thresholds(outputs, hops, events, classes, 3_600_000, 9.0, config, 1 / 256, -128,
                           SPEC) == [150, None]


# --- the host simulator and `tinyml stream` --------------------------------------------------


@pytest.fixture(scope="module")
def recording(quick_kws_run, tmp_path_factory):
    """8 s of the run's test clips back to back, and its wav."""
    data = load(Path(quick_kws_run.metrics["dataset"])).subset("test")
    rows = np.linspace(0, len(data.x) - 1, 8).astype(int)
    audio = data.x[rows].reshape(-1)
    wav = tmp_path_factory.mktemp("wav") / "test.wav"
    write_wav(wav, audio)
    return audio, wav


def test_simulator_feeds_the_model_the_batch_windows(quick_kws_run, recording):
    audio, _ = recording
    model = StreamModel.load(quick_kws_run.folder)
    config = DetectConfig(every=3, average=3, refractory_ms=500)
    result = simulate(model, audio, config)
    frames = 1 + (len(audio) - 480) // 320
    assert frames == 399 and result.hops.tolist() == list(range(49, frames + 1, 3))
    windows = np.stack([audio[(h - 49) * 320:][:16000] for h in result.hops])
    tflm = TflmModel(Path(quick_kws_run.folder) / "model_int8.tflite").run(kws_features(windows, model.spec))
    assert np.array_equal(result.outputs, tflm)
    thresholds = model.default_thresholds(config)
    assert thresholds == [538] * 10 + [None, None]  # 0.7 x 3 x 256 = 537.6
    assert result.detections == replay(tflm, result.hops, model.classes, thresholds, config,
                                       model.scale, model.zero_point)
    lenient = simulate(model, audio, config, model.default_thresholds(config, 0.3))
    assert len(lenient.detections) >= len(result.detections) and lenient.detections
    assert all(b.hop - a.hop >= config.refractory_hops() for a, b in zip(lenient.detections,
                                                                          lenient.detections[1:]))


def test_cli_prints_the_simulators_detections(quick_kws_run, recording):
    audio, wav = recording
    done = subprocess.run([sys.executable, "-m", "tinyml", "stream", str(quick_kws_run.folder), str(wav),
                           "--every", "2", "--threshold", "0.4"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    model = StreamModel.load(quick_kws_run.folder)
    config = DetectConfig(every=2)
    expected = simulate(model, audio, config, model.default_thresholds(config, 0.4))
    lines = done.stdout.splitlines()
    assert lines[:-1] == [d.line() for d in expected.detections]
    assert lines[-1] == (f"{len(expected.detections)} detection(s) in 8.000 s of audio: "
                         f"{len(expected.hops)} inferences, one every 40 ms")


def test_cli_errors_are_one_line(quick_kws_run, tmp_path):
    wav = tmp_path / "a.wav"
    write_wav(wav, np.zeros(16000, dtype=np.int16), rate=8000)
    done = subprocess.run([sys.executable, "-m", "tinyml", "stream", str(quick_kws_run.folder), str(wav)],
                          capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0] == (f"Error: {wav}: sampled at 8000 Hz; expected 16000 Hz "
                        f"(convert with `sox IN -r 16000 OUT`)")


def test_a_run_with_an_unknown_front_end_is_one_line(quick_kws_run, tmp_path):
    """A metrics.json damaged or from another tinyml (a normalisation this one lacks)."""
    run = tmp_path / "run"
    shutil.copytree(quick_kws_run.folder, run)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["frontend"]["normalize"] = "per_speaker"
    (run / "metrics.json").write_text(json.dumps(metrics))
    wav = tmp_path / "a.wav"
    write_wav(wav, np.zeros(16000, dtype=np.int16))
    done = subprocess.run([sys.executable, "-m", "tinyml", "stream", str(run), str(wav)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr == (
        "Error: the run's metrics.json has no front-end this tinyml knows (normalize must be one of "
        "none, window_mean, not 'per_speaker'): train the run again\n"), done.stderr


@pytest.mark.parametrize("args,message", [
    (["--threshold", "1.5"], "--threshold 1.5 is not a probability: give one in (0, 1]"),
    (["--every", "0"], "detection needs every >= 1 hop"),
    (["--target-fa-per-hour", "-1"], "--target-fa-per-hour -1.0 is negative"),
    ([], "is not a training run folder (it needs metrics.json and model_int8.tflite)"),
])
def test_cli_refuses_bad_settings(tmp_path, args, message):
    """The same TinymlError path as above (main() prints it as one line), in process."""
    from tinyml.cli.stream import command
    from tinyml.errors import TinymlError

    with pytest.raises(TinymlError, match=re.escape(message)):
        command.main([str(tmp_path), str(tmp_path / "a.wav"), *args], standalone_mode=False)


def test_thresholds_chosen_on_validation_clips(quick_kws_run):
    model = StreamModel.load(quick_kws_run.folder)
    config = DetectConfig(every=4, average=3)
    choice = choose_thresholds(model, config, 60.0, max_clips=60)  # one false accept a minute
    audio, events = validation_stream(load(Path(model.dataset)), max_clips=60)
    assert len(audio) == 60 * 16000 and choice.validation.keywords == len(events) > 0
    assert choice.thresholds[-2:] == [None, None]
    assert all(384 <= t <= 3 * 255 + 1 for t in choice.thresholds[:-2])  # p >= 0.5
    assert choice.validation.false_accepts <= 1


@pytest.fixture(scope="module", params=["mlperf", "window-mean"])
def listening_run(request):
    """The quick run, and its twin trained on normalised windows."""
    run = request.getfixturevalue("quick_kws_run" if request.param == "mlperf" else "quick_kws_cmn_run")
    assert run.metrics["frontend"]["normalize"] == ("none" if request.param == "mlperf" else "window_mean")
    return run


@pytest.fixture(scope="module")
def listener(listening_run, tmp_path_factory) -> Path:
    """The stream runner with the run's model compiled to C: the device's loop on the host."""
    out = tmp_path_factory.mktemp("listener")
    model = compile_model(Path(listening_run.folder) / "model_int8.tflite", out / "model", name="model")
    files = write_c_frontend(out, StreamModel.load(listening_run.folder).spec)  # normalised or not, as trained
    exe = out / "listener"
    sources = [str(p) for p in model.files if p.suffix == ".c"]
    done = proc.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
                     "-DSTREAM_RUNNER_MODEL", "-I", str(out), "-I", str(out / "model"), "-I", str(C_DIR),
                     str(files[0]), str(C_DIR / "tm_stream.c"), str(C_DIR / "tm_detect.c"), str(RUNNER),
                     *sources, "-lm", "-o", str(exe)], timeout=300, what="compiling the listener")
    assert done.returncode == 0, done.stderr
    return exe


@pytest.mark.parametrize("every,average,refractory_ms", [(2, 3, 1000), (1, 1, 300), (4, 2, 500)])
def test_c_listening_loop_detects_what_the_simulator_does(listening_run, recording, listener, every,
                                                           average, refractory_ms):
    """Stream, compiled model and detector in C (the engine is bit exact with TFLM) against
    tinyml.stream: the same detections at the same hops, scores, probabilities and times."""
    audio, _ = recording
    model = StreamModel.load(listening_run.folder)
    config = DetectConfig(every=every, average=average, refractory_ms=refractory_ms)
    thresholds = model.default_thresholds(config, 0.3)
    expected = simulate(model, audio, config, thresholds).detections
    args = [str(v) for v in (average, every, config.refractory_hops())] + \
        ["never" if t is None else str(t) for t in thresholds]
    done = subprocess.run([str(listener), "listen", *args], input=audio.astype("<i2").tobytes(),
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = [tuple(int(v) for v in line.split()) for line in done.stdout.decode().splitlines()]
    assert got == [(d.hop, model.classes.index(d.label), d.score, d.probability_milli, d.ms)
                   for d in expected]
    assert expected  # something to compare


def test_long_stream_uses_every_clip_once_with_its_keywords_where_it_says():
    """tinyml.stream.streams on a small split: each clip appears once, unchanged, every keyword
    clip is an Event over exactly its samples, and noise fills the gaps."""
    from tinyml.datasets.kws_synth import CLASSES
    from tinyml.datasets.store import Dataset
    from tinyml.stream.streams import long_stream

    rng = np.random.default_rng(3)
    labels = np.array([CLASSES.index(c) for c in ["yes", "no", "_unknown_", "_unknown_", "_silence_", "up"] * 5])
    x = rng.integers(-3000, 3000, size=(len(labels), 16000)).astype(np.int16)
    data = Dataset("kws", x, labels.astype(np.int16), np.full(len(labels), 2, np.int8), CLASSES, 16000)
    stream = long_stream(data, "test", seed=1)
    assert stream.counts == {"keyword": 15, "other": 10, "silence": 5}
    assert [e.label for e in stream.events].count("yes") == 5 and len(stream.events) == 15
    for e in stream.events:  # in ms: the clip starts within the event's first millisecond
        assert e.end_ms - e.start_ms in (999, 1000, 1001)
        own = [x[i] for i in np.flatnonzero(labels == CLASSES.index(e.label))]
        assert any(np.array_equal(stream.audio[at:at + 16000], clip)
                   for at in range(e.start_ms * 16, e.start_ms * 16 + 16) for clip in own), e
    gaps = len(stream.audio) - 30 * 16000
    assert 30 * 0.2 * 16000 <= gaps <= 30 * 2.5 * 16000  # at most one gap per clip, each 0.2-2.5 s
    assert np.array_equal(long_stream(data, "test", seed=1).audio, stream.audio)  # seeded


def test_stream_benchmark_writes_only_a_plain_results_name():
    """benchmarks/kws_stream.py --results NAME names a file in benchmarks/results, never a path."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.kws_stream", "--results", "../elsewhere"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == (
        "kws_stream.py: error: --results '../elsewhere': a file name of letters, digits and _ (no path)")
    shown = subprocess.run([sys.executable, "-m", "benchmarks.kws_stream", "--help"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "--results NAME" in shown.stdout


def test_stream_benchmark_records_the_runs_label_smoothing(tmp_path):
    """kws_stream.json says how its model was trained: a run from before the setting existed
    trained on plain labels (0), a run without a readable config says nothing (None)."""
    from benchmarks.kws_stream import _label_smoothing

    (tmp_path / "config.toml").write_text("label_smoothing = 0.1\nepochs = 40\n")
    assert _label_smoothing(tmp_path) == 0.1
    (tmp_path / "config.toml").write_text("epochs = 40\n")
    assert _label_smoothing(tmp_path) == 0.0
    (tmp_path / "config.toml").write_text("epochs = [\n")
    assert _label_smoothing(tmp_path) is None
    assert _label_smoothing(tmp_path / "nowhere") is None
