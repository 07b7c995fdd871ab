"""Hardware-in-the-loop validation: the run's test split through the device, checked against
the host int8 model in TFLM.

The device is a real board on a serial port, or emulated boards this module starts itself
(several at once: a QEMU UART takes one byte per turn of QEMU's main loop, about 50 us here,
so one emulator spends most of its time waiting; while it waits, its firmware sleeps in WFI
and leaves the host CPU to the others. Measured on 2 cores: 1 instance ~20 KWS samples/s,
3 instances ~55). An emulator that dies is restarted and the
work resumes where it stopped; a device on someone else's port that goes silent is reported.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyml.boards import Board
from tinyml.errors import DeviceError, TinymlError
from tinyml.firmware.apps import MODEL_FILE, frontend_spec, raw_windows, read_run
from tinyml.link import frame as fr
from tinyml.link.client import DeviceClient, Inference, open_device

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


@dataclass
class DeviceResults:
    outputs: np.ndarray
    scores: np.ndarray
    feature_ticks: np.ndarray
    model_ticks: np.ndarray
    info: dict
    seconds: float
    resends: int = 0
    restarts: int = 0
    events: list[str] = field(default_factory=list)


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
    features = dataset_features(data, folder)[test].reshape(len(test), -1)
    if raw:
        inputs = raw_windows(app, data.x[test], frontend_spec(app, metrics))
    else:
        inputs = features
    host = TflmModel(run_dir / MODEL_FILE).run(features)
    return Samples(app, fr.INPUT_RAW if raw else fr.INPUT_FEATURES, inputs, features,
                   data.labels[test], list(data.classes), host)


def read_app(run_dir: Path) -> str:
    """The app a run folder was trained for."""
    return read_run(run_dir)["app"]


def check_device(info: dict, run_dir: Path, app: str, url: str) -> None:
    """Refuses a device that runs another app or another model than the run's."""
    if info.get("app") != app:
        raise TinymlError(f"the device at {url} runs the {info.get('app')!r} app, not {app}: "
                          f"flash it with `tinyml flash --app {app} --run {run_dir}`.")
    want = model_hash(run_dir)
    if info.get("model") != want:
        raise TinymlError(f"the device at {url} runs model {info.get('model')}, but the run's model "
                          f"is {want}: flash it with `tinyml flash --app {app} --run {run_dir}`.")


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


def run_on_devices(samples: Samples, board: Board, run_dir: Path, urls: list[str] | None = None,
                   firmware: Path | None = None, jobs: int = 1, progress=None) -> DeviceResults:
    """Sends every sample through the device(s); `urls` for running devices, or `firmware` to
    start `jobs` emulators of `board`. `progress(n)` is called as samples complete."""
    n = len(samples.inputs)
    outputs = np.zeros((n, samples.host_outputs.shape[1]), dtype=np.int8)
    scores = np.zeros(n, dtype=np.float64)
    feature_ticks = np.zeros(n, dtype=np.int64)
    model_ticks = np.zeros(n, dtype=np.int64)
    events: list[str] = []
    lock = threading.Lock()
    workers = ([_Worker(u, board, None, board.serial.baud, events.append) for u in urls] if urls else
               [_Worker(None, board, firmware, board.serial.baud, events.append) for _ in range(jobs)])
    shards = np.array_split(np.arange(n), len(workers))
    infos: list[dict] = []
    errors: list[BaseException] = []

    def work(worker: _Worker, indices: np.ndarray) -> None:
        try:
            client = worker.connect()
            info = client.info()
            check_device(info, run_dir, samples.app, worker.url)
            with lock:
                infos.append(info)
            rx = int(info["rx_buffer"])
            k = 0
            while k < len(indices):
                i = indices[k]
                try:
                    client.load(samples.kind, np.ascontiguousarray(samples.inputs[i]).astype(
                        "<i2" if samples.kind == fr.INPUT_RAW else np.int8).tobytes(), rx)
                    result: Inference = client.infer(samples.kind)
                except DeviceError as exc:
                    client = worker.recover(exc, int(i))
                    continue  # the same sample again, on the new connection
                outputs[i], scores[i] = result.outputs, result.score
                feature_ticks[i], model_ticks[i] = result.feature_ticks, result.model_ticks
                k += 1
                if progress is not None:
                    with lock:
                        progress(1)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)
        finally:
            worker.close()

    start = time.monotonic()
    threads = [threading.Thread(target=work, args=(w, s), daemon=True) for w, s in zip(workers, shards)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    if errors:
        raise errors[0]
    return DeviceResults(outputs, scores, feature_ticks, model_ticks, infos[0] if infos else {},
                         seconds, sum(w.client.resends for w in workers if w.client),
                         sum(w.restarts for w in workers), events)
