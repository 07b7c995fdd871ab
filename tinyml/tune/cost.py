"""What a candidate costs before it is flashed: our compiler's memory figures, an instruction
estimate per operator, and the board's memory budget and latency limit.

The estimate is linear in a few counts per kernel call (MACs, input and output elements,
pixels, a constant), with coefficients fitted to per-operator instruction counts measured in
QEMU (`-icount shift=0`) by `python -m tinyml.tune.calibrate` (tinyml/tune/calibration.py).
A core without a fitted table (AVR, Xtensa, Cortex-M0+) gets the Cortex-M4 figure as a
relative measure only: its latency in milliseconds is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tinyml.boards import Board
from tinyml.errors import TinymlError

REFERENCE_CORE = "cortex-m4"


def _ceil4(n: int) -> int:
    return -(-n // 4) * 4


def op_counts(function: str, params: dict, macs: int, in_place: bool = False) -> dict[str, float]:
    """The counts one kernel call's instructions are linear in (its 'features'). The SIMD
    convolutions work on blocks of 4 output pixels and on depths rounded up to 4, so those are
    counted as the kernel runs them: a general convolution's blocks run across row ends (the
    last one padded with repeats), or within each row when it runs in place (output over its
    input, a row at a time)."""
    p = params
    one = {"call": 1.0}
    if function in ("tm_conv2d_s8", "tm_conv2d_1x1_s8", "tm_depthwise_conv2d_s8"):
        out_px = p["out_h"] * p["out_w"]
        out = out_px * p["out_c"]
        narrow = bool(p.get("narrow_acc", 0))
        counts = {"out_narrow": out if narrow else 0, "out_wide": 0 if narrow else out}
        if function == "tm_conv2d_s8":
            k = p["filter_h"] * p["filter_w"] * p["in_c"]
            px = p["out_h"] * _ceil4(p["out_w"]) if in_place else _ceil4(p["out_h"] * p["out_w"])
            counts.update({"gemm": px * p["out_c"] * _ceil4(k), "patch": px * k, "gather": px * p["filter_h"],
                           "blocks": px // 4 * p["out_c"], "rows": p["out_h"]})
        elif function == "tm_conv2d_1x1_s8":
            px = _ceil4(out_px)
            counts.update({"gemm": px * p["out_c"] * _ceil4(p["in_c"]), "widen": px * p["in_c"],
                           "blocks": px // 4 * p["out_c"]})
        else:
            counts.update({"macs": macs, "in": p["in_h"] * p["in_w"] * p["in_c"], "rows": p["out_h"] * p["out_c"],
                           "out_c": p["out_c"]})
        return {**counts, **one}
    if function == "tm_fully_connected_s8":
        # As the SIMD kernel runs: rows four at a time over groups of four inputs (the last n % 4
        # one by one), then the last rows % 4 rows alone; MVE: 16 inputs a step, tails predicated.
        b, n, rows = p["batches"], p["in_depth"], p["out_depth"]
        blocks, single = rows // 4, rows % 4
        return {"macs": b * blocks * 4 * (n - n % 4), "blocks": b * blocks, "tail": b * rows * (n % 4),
                "single_macs": b * single * (n - n % 4), "single": b * single,
                "steps16": b * -(-rows // 4) * -(-n // 16), "out": b * rows, "in": b * n, **one}
    if function in ("tm_average_pool2d_s8", "tm_max_pool2d_s8"):
        out = p["out_h"] * p["out_w"] * p["channels"]
        return {"window": out * p["filter_h"] * p["filter_w"], "out": out, **one}
    if function == "tm_mean_s8":
        return {"in": p["in_h"] * p["in_w"] * p["channels"], "out": p["channels"], **one}
    if function == "tm_softmax_s8":
        return {"elements": p["rows"] * p["depth"], **one}
    if function == "tm_add_s8":
        return {"elements": p["size"], **one}
    return one


@dataclass
class OpCall:
    index: int
    function: str
    counts: dict[str, float]


def kernel_calls(tflite: bytes | Path) -> list[OpCall]:
    """The kernel calls our compiler makes for the model, with their counts (no C written),
    each in place or not as the compiler's arena plan runs it."""
    from tinyml.compile.compiler import plan_model

    _, lowered, plan = plan_model(tflite)
    in_place = set(plan.inplace_ops)
    return [OpCall(call.op.index, call.function, op_counts(call.function, call.params, call.macs, i in in_place))
            for i, call in enumerate(lowered)
            if call.function is not None]  # RESHAPE: an alias, no code


def calibrated_cores() -> list[str]:
    from tinyml.tune.calibration import TABLES

    return sorted(TABLES)


def estimate_instructions(calls: list[OpCall], core: str) -> tuple[int, dict[int, int]]:
    """(instructions of one invoke(), per operator index) on `core` (the Cortex-M4 table for a
    core without one of its own)."""
    from tinyml.tune.calibration import TABLES

    table = TABLES.get(core, TABLES[REFERENCE_CORE])
    per_op = {}
    for call in calls:
        coefficients = table["kernels"].get(call.function)
        if coefficients is None:
            raise TinymlError(f"no instruction figures for kernel {call.function} on {core}: "
                              "run `python -m tinyml.tune.calibrate`")
        per_op[call.index] = round(sum(coefficients.get(k, 0.0) * v for k, v in call.counts.items()))
    return int(sum(per_op.values()) + table["invoke"]), per_op


@dataclass
class Cost:
    """A candidate's memory and time on a board, and whether it fits."""
    arena_bytes: int
    weights_bytes: int
    code_bytes: int                   # the budget's code estimate (kernels, front-end, link)
    ram_bytes: int                    # the whole firmware's, as `tinyml build` estimates it
    flash_bytes: int
    macs: int
    instructions: int
    latency_ms: float | None          # None: the board's core has no calibrated table
    problems: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("arena_bytes", "weights_bytes", "code_bytes", "ram_bytes",
                                              "flash_bytes", "macs", "instructions", "latency_ms",
                                              "problems")}


def latency_ms(instructions: int, board: Board) -> float | None:
    """Milliseconds at the board's clock, one instruction a cycle; None for an uncalibrated core."""
    if board.core not in calibrated_cores() or not board.clock_hz:
        return None
    return 1000.0 * instructions / board.clock_hz


def candidate_cost(app: str, tflite: bytes, spec, board: Board, work_dir: Path,
                   max_latency_ms: float | None) -> Cost:
    """Compiles the int8 model with our engine, estimates the firmware's budget as `tinyml
    build` does (tinyml.firmware.budget) and the model's latency; lists what does not fit."""
    import json

    from tinyml.firmware import budget
    from tinyml.firmware.apps import prepare_app
    from tinyml.tools.fs import atomic_file

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "model_int8.tflite").write_bytes(tflite)
    metrics = {"app": app, "frontend": spec.as_dict(), "dataset": ""}
    if app == "kws":
        metrics["classes"] = ["c%d" % i for i in range(_output_size(tflite))]
    else:
        metrics["threshold"] = 1.0
    with atomic_file(work_dir / "metrics.json") as tmp:
        tmp.write_text(json.dumps(metrics))
    firmware = prepare_app(app, work_dir, board, work_dir / "build", replay=False)
    if board.sensor_port("audio" if app == "kws" else "motion") == "replay":
        firmware.replay = _replay_stand_in(app, spec)
    est = budget.estimate(firmware, board)
    instructions, _ = estimate_instructions(kernel_calls(tflite), board.core)
    latency = latency_ms(instructions, board)
    cost = Cost(firmware.compiled.arena_bytes, firmware.compiled.weights_bytes,
                sum(f for part, f, _ in est.rows if part.startswith("code")), est.ram, est.flash,
                firmware.compiled.macs, instructions, latency)
    if est.ram > board.ram_bytes:
        cost.problems.append(f"RAM {est.ram:,} > {board.ram_bytes:,} B")
    if est.flash > board.flash_bytes:
        cost.problems.append(f"flash {est.flash:,} > {board.flash_bytes:,} B")
    if max_latency_ms is not None and latency is not None and latency > max_latency_ms:
        cost.problems.append(f"latency {latency:.3g} > {max_latency_ms:g} ms")
    return cost


def _output_size(tflite: bytes) -> int:
    from tinyml.tflite.model import read_tflite

    m = read_tflite(tflite)
    return int(m.tensor(m.outputs[0]).size)


def _replay_stand_in(app: str, spec):
    """An array the size of the recording `tinyml build` embeds on a board without the sensor
    (two keyword clips and half a clip of background; eight tri-axial windows): only its size
    counts here."""
    import numpy as np

    if app == "kws":
        return np.zeros(2 * spec.clip_samples + spec.clip_samples // 2, dtype=np.int16)
    return np.zeros(8 * spec.axes * spec.window, dtype=np.int16)
