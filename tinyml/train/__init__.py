"""Stage 3: train. Keras models for the two apps; each run converts to int8, checks the model
in TFLite Micro and writes runs/<app>-<timestamp>/ (model.keras, model_int8.tflite,
metrics.json, a confusion matrix or ROC curve PNG, config.toml)."""

from tinyml.train.config import KwsTrainConfig, VibrationTrainConfig

__all__ = ["KwsTrainConfig", "VibrationTrainConfig"]
