"""Row bands (`tinyml compile --optimize memory`): a run of row-local operators (convolutions,
pooling, ADD) computed a few rows at a time, so the tensors between them never exist whole.

This is MCUNetV2's patch-based inference with patches as wide as the image: nothing is computed
twice, because each intermediate tensor keeps, in a buffer of a few rows, exactly the rows its
consumers still need (a sliding window: the rows no longer needed are dropped from the front).
The kernels are the usual ones, called on a band of rows with the band's height and padding.

The schedule is worked out here, at compile time: in each step the operators that read only
whole tensors compute one more row (of the tallest of them; the others keep pace), and every
other operator, in order, computes every row its inputs now allow, so that rows are dropped as
early as possible. The generated C only replays the tables (rows done per operator, first row
held per intermediate tensor), so what it computes is what was planned here and sized.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyml.compile.ops import Call
from tinyml.compile.ops import depthwise_conv2d
from tinyml.tflite.model import Model

# The kernels that compute an output row from a window of input rows (and nothing else).
ROW_LOCAL = {"tm_conv2d_s8", "tm_conv2d_1x1_s8", "tm_depthwise_conv2d_s8", "tm_average_pool2d_s8",
             "tm_max_pool2d_s8", "tm_add_s8"}
MAX_BAND_OPS = 12  # longer runs save no more: a band ends where tensors grow small anyway


@dataclass(frozen=True)
class Window:
    """How output rows read input rows: rows [lo, hi) read rows [lo*stride - pad, (hi-1)*stride
    - pad + extent) of each input, clipped to the input."""
    extent: int
    stride: int
    pad: int

    def rows(self, lo: int, hi: int, in_h: int) -> tuple[int, int]:
        return max(0, lo * self.stride - self.pad), min(in_h, (hi - 1) * self.stride - self.pad + self.extent)

    def rows_from(self, available: int) -> int:
        """How many output rows input rows [0, available) give: the last one that rows() keeps
        within them (below zero where they give none)."""
        return (available + self.pad - self.extent) // self.stride + 1


def window(call: Call) -> Window:
    p = call.params
    if call.function == "tm_add_s8":
        return Window(1, 1, 0)
    return Window((p["filter_h"] - 1) * p.get("dilation_h", 1) + 1, p["stride_h"], p["pad_h"])


@dataclass
class Band:
    first: int                   # index into calls of the band's first operator
    last: int                    # ... and of its last
    rows: list[list[int]]        # rows[k][j]: output rows of operator first + j done after step k
    held: dict[int, int]         # intermediate tensor -> rows its buffer holds
    base: dict[int, list[int]]   # intermediate tensor -> first row held during each step
    scratch_bytes: int           # one scratch for every operator of the band (they take turns)

    @property
    def steps(self) -> int:
        return len(self.rows)

    def ops(self) -> range:
        return range(self.first, self.last + 1)


def _height(model: Model, t: int) -> int | None:
    shape = model.tensor(t).shape
    return int(shape[1]) if len(shape) == 4 and shape[0] == 1 else None


def plan_band(model: Model, calls: list[Call], first: int, last: int) -> Band | None:
    """The schedule of calls[first..last] as one band, or None when they cannot make one (an
    operator that is not row-local, or nothing to keep as a band)."""
    ops = calls[first:last + 1]
    if len(ops) < 2 or any(c.function not in ROW_LOCAL for c in ops):
        return None
    data_inputs = [[t for t in c.op.inputs if t >= 0 and not model.tensor(t).is_constant] for c in ops]
    outputs = [c.op.outputs[0] for c in ops]
    if any(_height(model, t) is None for t in outputs + [t for ins in data_inputs for t in ins]):
        return None
    producer = {t: j for j, t in enumerate(outputs)}
    consumers: dict[int, list[int]] = {t: [] for t in outputs}
    for j, ins in enumerate(data_inputs):
        for t in ins:
            if t in consumers:
                consumers[t].append(j)
    outside = set(model.outputs)
    for i, call in enumerate(calls):
        if not first <= i <= last:
            outside.update(call.op.inputs)
    internal = [t for t in outputs if t not in outside and consumers[t]]
    if not internal:
        return None
    windows = [window(c) for c in ops]
    height = {t: _height(model, t) for t in outputs}
    sources = [j for j, ins in enumerate(data_inputs) if not any(t in producer for t in ins)]
    n = max(height[outputs[j]] for j in sources)
    done = [0] * len(ops)
    lo_prev = {t: 0 for t in internal}
    rows, base = [], {t: [] for t in internal}
    held = {t: 0 for t in internal}
    max_rows = [0] * len(ops)  # the most output rows one call computes (a depthwise's scratch)
    for k in range(1, n + 1):
        for j, t in enumerate(outputs):
            if j in sources:  # the band's inputs are whole: a row of the tallest source a step
                target = -(-k * height[t] // n)
            else:  # every row its inputs allow, so that their rows are dropped early
                target = height[t]
                for u in data_inputs[j]:
                    if u in producer and done[producer[u]] < height[u]:
                        target = min(target, windows[j].rows_from(done[producer[u]]))
                target = max(target, done[j])
            if t in internal:
                base[t].append(lo_prev[t])
                held[t] = max(held[t], target - lo_prev[t])
            max_rows[j] = max(max_rows[j], target - done[j])
            done[j] = target
        rows.append(list(done))
        for t in internal:  # the first row any consumer reads from the next step on
            starts = [windows[c].rows(done[c], done[c] + 1, height[t])[0]
                      for c in consumers[t] if done[c] < height[outputs[c]]]
            lo_prev[t] = min(starts + [done[producer[t]]])
    if any(done[j] != height[t] for j, t in enumerate(outputs)):
        return None
    scratch = 0
    for j, call in enumerate(ops):
        if call.function == "tm_depthwise_conv2d_s8":
            scratch = max(scratch, depthwise_conv2d.scratch_bytes({**call.params, "out_h": max_rows[j]}))
        elif call.scratch_bytes:
            # The convolutions' scratch does not depend on the rows, but in place their ring
            # does: in a band, input and output are never the same buffer.
            p = call.params
            ring = ((p["pad_h"] + 1) * p["in_w"] * p["in_c"]
                    if call.function == "tm_conv2d_s8" and call.inplace_input is not None else 0)
            scratch = max(scratch, call.scratch_bytes - ring)
    return Band(first, last, rows, held, base, scratch)


def row_bytes(model: Model, t: int) -> int:
    shape = model.tensor(t).shape
    return int(shape[2]) * int(shape[3])
