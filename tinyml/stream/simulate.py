"""The device's listening loop on the host: the streaming front-end (features.stream), the
model in TFLite Micro, the detector (stream.detect), on a recording of any length."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.features import reference
from tinyml.features.spec import MfccSpec
from tinyml.features.stream import MfccStream
from tinyml.stream.detect import (DetectConfig, Detection, Detector, hop_ms, is_due,
                                  keyword_thresholds, probability_milli)

BLOCK_SAMPLES = 160_000  # audio pushed at a time: 10 s, 500 frames


@dataclass
class StreamModel:
    """A keyword model as the stream runs it: its classes, front-end and output quantization."""
    path: Path
    classes: list[str]
    spec: MfccSpec
    scale: float
    zero_point: int
    dataset: str | None = None  # the run's dataset folder, when it has one
    _tflm: object = field(default=None, repr=False)

    @classmethod
    def load(cls, source: str | Path) -> "StreamModel":
        """A kws run folder, or a bare int8 .tflite with MLPerf Tiny's classes (firmware.apps)."""
        from tinyml.convert.tflm import TflmModel
        from tinyml.firmware.apps import frontend_spec, run_or_model

        metrics, model_file = run_or_model("kws", Path(source))
        spec = frontend_spec("kws", metrics)
        tflm = TflmModel(model_file)
        shape = tuple(int(d) for d in tflm.input["shape"])
        outputs = int(np.prod(tflm.output["shape"]))
        if int(np.prod(shape)) != spec.frames * spec.coefficients or outputs != len(metrics["classes"]):
            raise TinymlError(f"{model_file} takes {shape} and gives {outputs} outputs; the stream "
                              f"needs {spec.shape} int8 features in and one output per class "
                              f"({len(metrics['classes'])}): pass a kws run")
        q = tflm.output["quantization_parameters"]
        return cls(path=model_file, classes=list(metrics["classes"]), spec=spec,
                   scale=float(q["scales"][0]), zero_point=int(q["zero_points"][0]),
                   dataset=metrics.get("dataset"), _tflm=tflm)

    def run(self, windows: np.ndarray) -> np.ndarray:
        """int8 outputs [n, classes] of int8 windows [n, frames, coefficients]."""
        if len(windows) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.int8)
        return self._tflm.run(windows).astype(np.int8)

    def default_thresholds(self, config: DetectConfig, probability: float = 0.7) -> list[int | None]:
        return keyword_thresholds(self.classes, probability, config.average, self.scale)


@dataclass
class StreamResult:
    hops: np.ndarray          # per inference: frames computed when the model ran
    outputs: np.ndarray       # int8 [inferences, classes]
    detections: list[Detection]
    duration_ms: int


def model_outputs(model: StreamModel, audio: np.ndarray, every: int) -> tuple[np.ndarray, np.ndarray]:
    """(hops, int8 outputs) of the model on the streaming front-end's window at every due hop:
    what the device feeds its model, without the decisions."""
    spec = model.spec
    stream = MfccStream(spec)
    audio = np.asarray(audio, dtype=np.int16).reshape(-1)
    frames = np.zeros((0, spec.coefficients), dtype=np.int8)  # the newest frames, hop `last` last
    hops, outputs = [], []
    for start in range(0, len(audio), BLOCK_SAMPLES):
        new = stream.push(audio[start:start + BLOCK_SAMPLES])
        frames = np.concatenate([frames, new])
        first = stream.frames - len(frames) + 1  # the hop of frames[0]
        due = [h for h in range(stream.frames - len(new) + 1, stream.frames + 1)
               if is_due(h, every, spec.frames)]
        windows = np.stack([frames[h - first + 1 - spec.frames:h - first + 1] for h in due]) if due \
            else np.zeros((0,) + spec.shape, dtype=np.int8)
        windows = reference.normalize_window(windows, spec)
        hops.extend(due)
        outputs.append(model.run(windows))
        frames = frames[-(spec.frames - 1):]
    out = np.concatenate(outputs) if outputs else np.zeros((0, len(model.classes)), dtype=np.int8)
    return np.asarray(hops, dtype=np.int64), out


def replay(outputs: np.ndarray, hops: np.ndarray, classes: list[str], thresholds: list[int | None],
           config: DetectConfig, scale: float, zero_point: int,
           spec: MfccSpec = MfccSpec()) -> list[Detection]:
    """The detector on a sequence of model outputs, as the device steps it."""
    detector = Detector(thresholds, config, zero_point, spec)
    found = []
    for hop, output in zip(hops.tolist(), np.asarray(outputs).tolist()):
        fired = detector.step(output, hop)
        if fired >= 0:
            score = detector.sums[fired]
            found.append(Detection(hop=hop, ms=int(hop_ms(hop, spec)), label=classes[fired], score=score,
                                   probability_milli=probability_milli(score, config.average, scale)))
    return found


def simulate(model: StreamModel, audio: np.ndarray, config: DetectConfig = DetectConfig(),
             thresholds: list[int | None] | None = None) -> StreamResult:
    """What the device reports on `audio` (int16 at the model's rate): every detection."""
    if thresholds is None:
        thresholds = model.default_thresholds(config)
    if len(thresholds) != len(model.classes):
        raise TinymlError(f"{len(thresholds)} thresholds for {len(model.classes)} classes: "
                          "give one per class (None for a class that never fires)")
    hops, outputs = model_outputs(model, audio, config.every)
    detections = replay(outputs, hops, model.classes, thresholds, config, model.scale,
                        model.zero_point, model.spec)
    return StreamResult(hops=hops, outputs=outputs, detections=detections,
                        duration_ms=len(audio) * 1000 // model.spec.sample_rate)
