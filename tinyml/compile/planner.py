"""Static memory plan: every activation tensor gets an offset in one arena, by lifetime.

Tensors that can share bytes are merged into one buffer first: a RESHAPE output is its input,
and an in-place operator's output reuses its input's bytes when nothing later reads that
input. Buffers are then placed greedily, largest first, at the lowest offset that overlaps no
buffer alive at the same time (TFLM's greedy planner does the same with more bookkeeping).
A kernel's scratch is a buffer alive during its own operator only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyml.tflite.model import Model
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


def plan_memory(model: Model, calls: list[Call]) -> Plan:
    n_ops = len(calls)
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

    # Union-find over tensors that share a buffer.
    parent: dict[int, int] = {t: t for t in first}

    def find(t: int) -> int:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    inplace_ops = []
    for i, call in enumerate(calls):
        out = call.op.outputs[0]
        share = call.alias_input if call.alias_input is not None else call.inplace_input
        if share is None:
            continue
        src = call.op.inputs[share]
        # In place needs the input dead after this op; an alias only shares read-only bytes.
        if call.alias_input is not None or (last.get(src) == i and src not in model.outputs):
            parent[find(out)] = find(src)
            if call.alias_input is None:
                inplace_ops.append(i)

    groups: dict[int, Buffer] = {}
    for t in first:
        root = find(t)
        size = _align(model.tensor(t).nbytes)
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
        if call.scratch_bytes:
            buffers.append(Buffer([-1 - i], _align(call.scratch_bytes), i, i))

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
                inplace_ops=inplace_ops)
