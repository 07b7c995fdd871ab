"""TFLite Micro itself (the `tflite-micro` PyPI package) as the oracle for every int8 result."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.tools import proc

DEFAULT_ARENA = 4 << 20


def _interpreter(model: bytes, arena_size: int):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model, arena_size=arena_size)


class TflmModel:
    """One model in the TFLM interpreter; run() takes a batch (first axis = samples)."""

    def __init__(self, model: str | Path | bytes, arena_size: int = DEFAULT_ARENA):
        self.model = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
        try:
            self.interpreter = _interpreter(self.model, arena_size)
        except (RuntimeError, ValueError) as exc:
            raise TinymlError(f"TFLite Micro cannot run this model: {exc}") from None
        self.input = self.interpreter.get_input_details(0)
        self.output = self.interpreter.get_output_details(0)

    def run(self, inputs: np.ndarray) -> np.ndarray:
        shape = tuple(self.input["shape"])
        outs = []
        for x in np.asarray(inputs):
            self.interpreter.set_input(np.asarray(x, dtype=self.input["dtype"]).reshape(shape), 0)
            self.interpreter.invoke()
            outs.append(self.interpreter.get_output(0).reshape(-1).copy())
        return np.array(outs)


@contextlib.contextmanager
def _quiet():
    """TFLM reports a too-small arena on the C++ side's stdout/stderr: keep the probe silent."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _probe(data: bytes, size: int, parent: int) -> None:
    """Child process: exit 0 when TFLM runs the model in `size` bytes."""
    import faulthandler

    proc.worker_dies_with_parent(parent)  # a hung probe must not outlive a killed tinyml
    faulthandler.disable()  # a crash here is an expected answer, not something to report
    with _quiet():
        try:
            interpreter = _interpreter(data, size)
            details = interpreter.get_input_details(0)
            interpreter.set_input(np.zeros(details["shape"], dtype=details["dtype"]), 0)
            interpreter.invoke()
        except (RuntimeError, ValueError):
            os._exit(1)
    os._exit(0)


def minimal_arena(model: str | Path | bytes, high: int = 1 << 22) -> int:
    """The smallest tensor arena (bytes) TFLM accepts for the model, by bisection.

    Each probe runs in a forked child: with some too-small arenas TFLM does not fail cleanly
    but crashes, and a crash must only mean "too small", not take tinyml down with it.
    """
    import multiprocessing

    # Loaded before forking: a forked child that loads TFLM itself (under pytest, after
    # TensorFlow ran in the parent) crashed on every probe, read as "no arena is big enough".
    from tflite_micro.python.tflite_micro import runtime  # noqa: F401

    data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
    ctx = multiprocessing.get_context("fork")

    def works(size: int) -> bool:
        child = ctx.Process(target=_probe, args=(data, size, os.getpid()))
        child.start()
        child.join(60)
        if child.is_alive():
            child.kill()
            child.join()
            return False
        return child.exitcode == 0

    if not works(high):
        raise TinymlError(f"TFLite Micro cannot run the model even with a {high}-byte arena")
    low = 0
    while high - low > 1:
        mid = (low + high) // 2
        if works(mid):
            high = mid
        else:
            low = mid
    return high
