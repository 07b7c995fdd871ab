"""Hardware-in-the-loop validation: the run's test split through the device, checked against
the host int8 model in TFLM.

The device is a real board on a serial port, or emulated boards this module starts itself
(several at once: a QEMU UART takes one byte per turn of QEMU's main loop, about 50 us here,
so one emulator spends most of its time waiting; while it waits, its firmware sleeps in WFI
and leaves the host CPU to the others. Measured on 2 cores: 1 instance ~20 KWS samples/s,
3 instances ~55). An emulator that dies is restarted and the
work resumes where it stopped; a device on someone else's port that goes silent is reported.
The samples done before a run gives up are kept (save_progress), for the next run to resume.
"""

from __future__ import annotations

import collections
import hashlib
import shlex
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyml.boards import Board, load_board
from tinyml.errors import DeviceError, TinymlError
from tinyml.features.normalize import normalize
from tinyml.firmware.apps import MODEL_FILE, frontend_spec, normal_levels, raw_windows, read_run
from tinyml.link import frame as fr
from tinyml.link.client import DeviceClient, Inference, open_device
from tinyml.tools.fs import atomic_file

MAX_RESTARTS = 2
DEVICE_TIMEOUT_S = 10.0


@dataclass
class Samples:
    """The test split as the device takes it, with the host's int8 outputs for it."""
    app: str
    kind: int                      # fr.INPUT_FEATURES or fr.INPUT_RAW
    inputs: np.ndarray             # per sample: int8 features, or int16 raw windows
    features: np.ndarray           # int8 model inputs (host front-end)
    labels: np.ndarray
    classes: list[str]
    host_outputs: np.ndarray       # TFLM int8 outputs
    normalised: str | None = None  # vibration: which normal levels the features are relative to


@dataclass
class DeviceResults:
    """What the device answered, per sample; filled in place by run_on_devices, so that after
    an error it still holds every sample done before it (`done`)."""
    outputs: np.ndarray
    scores: np.ndarray
    feature_ticks: np.ndarray
    model_ticks: np.ndarray
    info: dict
    seconds: float
    resends: int = 0
    restarts: int = 0
    events: list[str] = field(default_factory=list)
    done: np.ndarray | None = None  # per sample: answered, by this run or an earlier one resumed
    sent: int = 0                   # samples this run sent
    resumed: int = 0                # samples taken over from an earlier run
    build: str = ""                 # the firmware build that answered them


def new_results(samples: Samples) -> DeviceResults:
    """Results with no sample done yet."""
    n = len(samples.inputs)
    return DeviceResults(np.zeros((n, samples.host_outputs.shape[1]), dtype=np.int8),
                         np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.int64),
                         np.zeros(n, dtype=np.int64), {}, 0.0, done=np.zeros(n, dtype=bool))


def model_hash(run_dir: Path) -> str:
    """What the firmware reports as `model`: the first 16 hex digits of the .tflite's SHA-256."""
    return hashlib.sha256((Path(run_dir) / MODEL_FILE).read_bytes()).hexdigest()[:16]


def load_samples(run_dir: Path, limit: int | None = None, raw: bool = False) -> Samples:
    """The run's test split (every `len/limit`-th example when limited, so classes stay mixed)."""
    from tinyml.convert.tflm import TflmModel
    from tinyml.datasets.store import load
    from tinyml.features import dataset_features

    run_dir = Path(run_dir)
    metrics = read_run(run_dir)
    app = metrics["app"]
    folder = Path(metrics["dataset"])
    try:
        data = load(folder)
    except (OSError, ValueError, KeyError):
        raise TinymlError(f"the run's dataset {folder} is gone: regenerate it with "
                          f"`tinyml datasets make {app}` (same settings) or retrain.") from None
    test = np.flatnonzero(data.split == 2)
    if limit is not None and limit < len(test):
        test = test[np.linspace(0, len(test) - 1, limit).astype(int)]
    every = dataset_features(data, folder, frontend_spec(app, metrics)).reshape(len(data.x), -1)
    features = every[test]
    levels = normal_levels(metrics)
    normalised = None
    if levels is not None and raw:  # through the device's front-end: its built-in levels
        features, normalised = normalize(features, levels), "built-in levels (uncalibrated)"
    elif levels is not None:  # features in: each test machine at its own level, as calibrated
        from tinyml.train.vibration import normalise_by_machine

        features, normalised = normalise_by_machine(data, every)[0][test], "each machine its own level (as calibrated)"
    if raw:
        inputs = raw_windows(app, data.x[test], frontend_spec(app, metrics))
    else:
        inputs = features
    host = TflmModel(run_dir / MODEL_FILE).run(features)
    return Samples(app, fr.INPUT_RAW if raw else fr.INPUT_FEATURES, inputs, features,
                   data.labels[test], list(data.classes), host, normalised)


def read_app(run_dir: Path) -> str:
    """The app a run folder was trained for."""
    return read_run(run_dir)["app"]


def flash_hint(app: str, run_dir: Path, board_id: str, url: str, real_board: bool) -> str:
    """How to put the run's app on the board, as a command that runs as written."""
    words = ["tinyml", "flash", "--board", board_id, *(["--port", url] if real_board else []),
             "--app", app, "--run", str(run_dir)]
    command = " ".join(shlex.quote(word) for word in words)
    if real_board:
        return f"flash it with `{command}`, or add --flash to `tinyml validate`"
    return f"start one that does with `{command}` (it prints the new URL)"


def check_device(info: dict, run_dir: Path, app: str, url: str, board: Board | None = None) -> None:
    """Refuses a device that runs another app or another model than the run's. `board` is the
    board in use (default: the one the device names), for the flash command in the message."""
    if board is None:
        try:
            board = load_board(str(info.get("board")))
        except TinymlError:
            board = None
    board_id = board.id if board is not None else str(info.get("board"))
    real_board = board is None or board.flash_method == "platformio"
    hint = flash_hint(app, run_dir, board_id, url, real_board)
    if info.get("app") != app:
        raise TinymlError(f"the device at {url} runs the {info.get('app')!r} app, not {app}: {hint}.")
    want = model_hash(run_dir)
    if info.get("model") != want:
        raise TinymlError(f"the device at {url} runs model {info.get('model')}, but the run's model "
                          f"is {want}: {hint}.")


class _Worker:
    """One device: connects, and reconnects (restarting its emulator if it owns one)."""

    def __init__(self, url: str | None, board: Board, firmware: Path | None, baud: int,
                 on_event):
        self.board, self.firmware, self.baud = board, firmware, baud
        self.url = url
        self.running = None
        self.client: DeviceClient | None = None
        self.restarts = 0
        self.on_event = on_event

    def connect(self) -> DeviceClient:
        if self.firmware is not None:
            from tinyml.flash import start_board

            self.running = start_board(self.board, self.firmware)
            self.url = self.running.url
        self.client = open_device(self.url, baud=self.baud, timeout=DEVICE_TIMEOUT_S)
        return self.client

    def recover(self, error: Exception, at: int) -> DeviceClient:
        """After a lost link: restart the emulator we own, or give up with a clear message."""
        if self.client is not None:
            self.client.close()
        owned = self.running is not None
        if owned and self.running.alive():
            self.running.stop()
        if not owned:
            raise DeviceError(f"lost the device at {self.url} at sample {at} ({error}). "
                              "Check the cable and power, then run `tinyml validate` again.") from None
        if self.restarts >= MAX_RESTARTS:
            raise DeviceError(f"the emulated {self.board.id} stopped {self.restarts + 1} times "
                              f"(last at sample {at}: {error}); giving up.") from None
        self.restarts += 1
        self.on_event(f"the emulated {self.board.id} stopped at sample {at} ({error}); "
                      f"restarted it and resumed")
        return self.connect()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.running is not None:
            self.running.stop()


def _adopt(results: DeviceResults, info: dict) -> list[int]:
    """Takes the first device's info. Samples done by an earlier run stay done only if the same
    firmware build answered them; returns the ones to send again."""
    build = info.get("build", "")
    earlier = [int(i) for i in np.flatnonzero(results.done)]
    again = []
    if earlier and results.build != build:
        results.events.append(f"the {len(earlier)} samples of an earlier run came from firmware "
                              f"build {results.build}, this board runs {build}: sending them again")
        results.done[:] = False
        again = earlier
    elif earlier:
        results.resumed = len(earlier)
        results.events.append(f"resumed {len(earlier)} samples from an earlier run")
    results.info, results.build = info, build
    return again


def run_on_devices(samples: Samples, board: Board, run_dir: Path, urls: list[str] | None = None,
                   firmware: Path | None = None, jobs: int = 1, progress=None,
                   results: DeviceResults | None = None) -> DeviceResults:
    """Sends every sample through the device(s); `urls` for running devices, or `firmware` to
    start `jobs` emulators of `board`. `progress(n)` is called as samples complete.

    `results` (new_results(), or an earlier run's, to resume) is filled in place and returned:
    samples already done there are skipped, and when this raises it holds every sample done.
    """
    results = results if results is not None else new_results(samples)
    todo = collections.deque(int(i) for i in np.flatnonzero(~results.done))
    lock = threading.Lock()
    workers = ([_Worker(u, board, None, board.serial.baud, results.events.append) for u in urls] if urls
               else [_Worker(None, board, firmware, board.serial.baud, results.events.append)
                     for _ in range(jobs)])
    errors: list[BaseException] = []

    def take() -> int | None:
        with lock:
            return todo.popleft() if todo else None

    def work(worker: _Worker) -> None:
        i = None
        try:
            client = worker.connect()
            info = client.info()
            check_device(info, run_dir, samples.app, worker.url, board)
            with lock:
                if not results.info:
                    todo.extend(_adopt(results, info))
            rx = int(info["rx_buffer"])
            i = take()
            while i is not None:
                try:
                    client.load(samples.kind, np.ascontiguousarray(samples.inputs[i]).astype(
                        "<i2" if samples.kind == fr.INPUT_RAW else np.int8).tobytes(), rx)
                    result: Inference = client.infer(samples.kind)
                except DeviceError as exc:
                    client = worker.recover(exc, i)
                    continue  # the same sample again, on the new connection
                results.outputs[i], results.scores[i] = result.outputs, result.score
                results.feature_ticks[i], results.model_ticks[i] = result.feature_ticks, result.model_ticks
                with lock:
                    results.done[i] = True
                    results.sent += 1
                    if progress is not None:
                        progress(1)
                i = take()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)
            with lock:
                if i is not None and not results.done[i]:
                    todo.appendleft(i)  # for another board, if one is still going
        finally:
            worker.close()

    start = time.monotonic()
    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    finally:
        results.seconds = time.monotonic() - start  # of this run, like resends and restarts
        results.resends = sum(w.client.resends for w in workers if w.client)
        results.restarts = sum(w.restarts for w in workers)
    if errors and results.done.all() and all(isinstance(e, DeviceError) for e in errors):
        results.events.extend(f"{e} The other boards did its samples." for e in errors)
    elif errors:
        raise errors[0]
    return results


def progress_key(run_dir: Path, board: Board, samples: Samples) -> str:
    """What a progress file holds results for: the run's model, the board, and the very samples
    sent (the dataset, --limit and --raw)."""
    digest = hashlib.sha256(bytes([samples.kind]) + np.ascontiguousarray(samples.inputs).tobytes())
    return f"{model_hash(run_dir)} {board.id} {digest.hexdigest()[:16]}"


def save_progress(path: Path, key: str, results: DeviceResults) -> None:
    """The samples done so far, for the next run to resume from (written atomically)."""
    with atomic_file(path) as staging:
        np.savez(staging, key=key, build=results.build, done=results.done, outputs=results.outputs,
                 scores=results.scores, feature_ticks=results.feature_ticks,
                 model_ticks=results.model_ticks)


def load_progress(path: Path, key: str, samples: Samples) -> DeviceResults | None:
    """An earlier run's results for the same key, or None (no file, another key, unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["key"]) != key:
                return None
            results = new_results(samples)
            for name in ("done", "outputs", "scores", "feature_ticks", "model_ticks"):
                getattr(results, name)[:] = saved[name]
            results.build = str(saved["build"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return results
