"""Always-listening keyword spotting on the host, exactly as the device does it: the streaming
front-end (tinyml.features.stream, one MFCC frame per 20 ms hop), the model every few hops in
TFLite Micro, and the integer detector (detect.py, the twin of features/c/tm_detect.c).

    from tinyml import stream
    model = stream.StreamModel.load("runs/kws-...")
    result = stream.simulate(model, audio, stream.DetectConfig(every=2, average=3))
    for d in result.detections:
        print(d.line())                     # DETECT yes p=0.912 t=1.240s

Thresholds for a target false-accept rate come from the run's validation split
(evaluate.choose_thresholds).
"""

from __future__ import annotations

from tinyml.stream.detect import (DetectConfig, Detection, Detector, keyword_thresholds,
                                  threshold_from_probability)
from tinyml.stream.evaluate import (Evaluation, Event, ThresholdChoice, choose_thresholds, evaluate,
                                    pick_thresholds, validation_stream)
from tinyml.stream.simulate import StreamModel, StreamResult, model_outputs, replay, simulate

__all__ = ["DetectConfig", "Detection", "Detector", "Evaluation", "Event", "StreamModel",
           "StreamResult", "ThresholdChoice", "choose_thresholds", "evaluate", "keyword_thresholds",
           "model_outputs", "pick_thresholds", "replay", "simulate", "threshold_from_probability",
           "validation_stream"]
