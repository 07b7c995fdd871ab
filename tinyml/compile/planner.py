"""Static memory plan: every activation tensor gets an offset in one arena, by lifetime.

Tensors that can share bytes are merged into one buffer first: a RESHAPE output is its input,
and an in-place operator's output reuses its input's bytes when nothing later reads that
input. Buffers are then placed greedily, largest first, at the lowest offset that overlaps no
buffer alive at the same time (TFLM's greedy planner does the same with more bookkeeping).
A kernel's scratch is a buffer alive during its own operator only.

Row bands (tinyml.compile.bands) change three things: a tensor between a band's operators is a
buffer of the rows it holds, alive for the whole band; what goes into or out of a band is alive
for the whole band (the band reads and writes it a few rows at a time); and the band's operators
share one scratch, never run in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyml.tflite.model import Model
from tinyml.compile.bands import MAX_BAND_OPS, Band, plan_band, row_bytes
from tinyml.compile.ops import Call

ALIGN = 4


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class Buffer:
    tensors: list[int]      # tensor indices sharing these bytes (-1 - op index for scratch)
    size: int
    first: int              # first operator that writes it (-1: before invoke)
    last: int               # last operator that reads it (len(ops): after invoke)
    offset: int = -1


@dataclass
class Plan:
    arena_bytes: int
    offsets: dict[int, int]           # tensor index -> arena offset
    scratch: dict[int, int]           # operator index -> scratch offset
    buffers: list[Buffer] = field(default_factory=list)
    inplace_ops: list[int] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)


def plan_memory(model: Model, calls: list[Call], bands: list[Band] = ()) -> Plan:
    n_ops = len(calls)
    in_band = {i for band in bands for i in band.ops()}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in model.inputs:
        first[t] = -1
    for i, call in enumerate(calls):
        for t in call.op.inputs:
            if t >= 0 and not model.tensor(t).is_constant:
                last[t] = i
        for t in call.op.outputs:
            first.setdefault(t, i)
    for t in model.outputs:
        last[t] = n_ops
    held: dict[int, int] = {}
    for band in bands:
        for i in band.ops():
            for t in calls[i].op.inputs:
                if t in last:
                    last[t] = max(last[t], band.last)
            for t in calls[i].op.outputs:
                first[t] = min(first[t], band.first)
        for t, rows in band.held.items():
            held[t] = rows * row_bytes(model, t)

    # Union-find over tensors that share a buffer.
    parent: dict[int, int] = {t: t for t in first}

    def find(t: int) -> int:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    # A band's output lives from the band's start: a larger tensor run in place on it later
    # would make its buffer that large for the whole band. Its group keeps its size.
    cap = {call.op.outputs[0]: model.tensor(call.op.outputs[0]).nbytes
           for band in bands for call in calls[band.first:band.last + 1]}
    inplace_ops = []
    for i, call in enumerate(calls):
        out = call.op.outputs[0]
        share = call.alias_input if call.alias_input is not None else call.inplace_input
        if share is None or i in in_band:
            continue
        src = call.op.inputs[share]
        limit = cap.get(find(src))
        if limit is not None and model.tensor(out).nbytes > limit:
            continue
        # In place needs the input dead after this op; an alias only shares read-only bytes.
        if call.alias_input is not None or (last.get(src) == i and src not in model.outputs):
            parent[find(out)] = find(src)
            if call.alias_input is None:
                inplace_ops.append(i)

    groups: dict[int, Buffer] = {}
    for t in first:
        root = find(t)
        size = _align(held.get(t, model.tensor(t).nbytes))
        buf = groups.get(root)
        if buf is None:
            groups[root] = Buffer([t], size, first[t], last.get(t, first[t]))
        else:
            buf.tensors.append(t)
            buf.size = max(buf.size, size)
            buf.first = min(buf.first, first[t])
            buf.last = max(buf.last, last.get(t, first[t]))
    buffers = list(groups.values())
    for i, call in enumerate(calls):
        if call.scratch_bytes and i not in in_band:
            buffers.append(Buffer([-1 - i], _align(call.scratch_bytes), i, i))
    for band in bands:
        if band.scratch_bytes:
            buffers.append(Buffer([-1 - i for i in band.ops() if calls[i].scratch_bytes],
                                  _align(band.scratch_bytes), band.first, band.last))

    placed: list[Buffer] = []
    for buf in sorted(buffers, key=lambda b: (-b.size, b.first)):
        live = sorted((p for p in placed if p.first <= buf.last and buf.first <= p.last),
                      key=lambda p: p.offset)
        offset = 0
        for other in live:
            if offset + buf.size <= other.offset:
                break
            offset = max(offset, other.offset + other.size)
        buf.offset = offset
        placed.append(buf)

    offsets, scratch = {}, {}
    for buf in placed:
        for t in buf.tensors:
            if t >= 0:
                offsets[t] = buf.offset
            else:
                scratch[-1 - t] = buf.offset
    arena = max((b.offset + b.size for b in placed), default=0)
    return Plan(arena_bytes=arena, offsets=offsets, scratch=scratch, buffers=placed,
                inplace_ops=inplace_ops, bands=list(bands))


def plan_smallest(model: Model, calls: list[Call]) -> Plan:
    """The plan with the row bands that make the arena smallest (--optimize memory), found
    greedily: the band that shrinks the arena most (the shorter of two that shrink it
    alike) is taken, then the next, until none shrinks it."""
    best = plan_memory(model, calls)
    while True:
        taken = {i for band in best.bands for i in band.ops()}
        found: tuple[int, int, Plan] | None = None
        for a in range(len(calls)):
            for b in range(a + 1, min(len(calls), a + MAX_BAND_OPS)):
                if b in taken or a in taken:
                    break
                band = plan_band(model, calls, a, b)
                if band is None:
                    continue
                plan = plan_memory(model, calls, best.bands + [band])
                if plan.arena_bytes < best.arena_bytes and (
                        found is None or (plan.arena_bytes, b - a) < found[:2]):
                    found = (plan.arena_bytes, b - a, plan)
        if found is None:
            return best
        best = found[2]
