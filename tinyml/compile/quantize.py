"""Compile-time fixed-point arithmetic, mirroring TFLite's quantization utilities.

Everything the device would otherwise compute from float scales (multipliers, shifts,
activation ranges, softmax and add constants) is computed here once, so the generated C does
integer arithmetic only. The rounding follows TFLite's QuantizeMultiplier exactly: one LSB
of difference in a multiplier is one LSB of difference in an output.
"""

from __future__ import annotations

import math

import numpy as np

def tflite_round(x: float) -> int:
    """std::round: half away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """real ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def activation_range(activation: str, scale: float, zero_point: int,
                     qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the clamp bounds of a fused activation."""
    def q(x: float) -> int:
        # float32 division, as TFLite's CalculateActivationRangeQuantized does
        return zero_point + tflite_round(float(np.float32(x) / np.float32(scale)))

    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, q(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(activation)


def per_channel_multipliers(input_scale: float, filter_scales: np.ndarray, output_scale: float,
                            channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Conv/depthwise/FC requantization constants: one (multiplier, shift) per output channel.

    Scales are float32 in the model and widened to double before the product, as TFLM does
    (for per-tensor FULLY_CONNECTED too: a float product there mismatches the PyPI TFLM).
    """
    scales = np.asarray(filter_scales, dtype=np.float32)
    if scales.size == 1:
        scales = np.repeat(scales, channels)
    mults, shifts = [], []
    for s in scales:
        real = float(np.float64(np.float32(input_scale)) * np.float64(s) / np.float64(np.float32(output_scale)))
        m, sh = quantize_multiplier(real)
        mults.append(m)
        shifts.append(sh)
    return np.array(mults, dtype=np.int32), np.array(shifts, dtype=np.int32)


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier on int32 values (double rounding), vectorised:
    for the compiler to tabulate what the device must reproduce, never run on the device."""
    x = np.asarray(x, dtype=np.int64)
    left, right = max(shift, 0), max(-shift, 0)
    x = ((x << left) + (1 << 31)) % (1 << 32) - (1 << 31)  # int32 wrap of x * 2^left
    ab = x * np.int64(multiplier)
    # saturating rounding doubling high multiply: (ab + nudge) / 2^31, truncated toward zero
    nudged = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = np.sign(nudged) * (np.abs(nudged) >> 31)
    if multiplier == -(1 << 31):
        high = np.where(x == -(1 << 31), (1 << 31) - 1, high)
    # rounding divide by 2^right, ties away from zero
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + ((high & mask) > threshold)
