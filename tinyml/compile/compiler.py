"""The compile stage end to end: read, lower each operator, plan memory, write C."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyml.compile import codegen
from tinyml.tflite.model import Model, op_macs, read_tflite
from tinyml.compile.ops import Call, CompileError, lower
from tinyml.compile.ops.base import INT8_RECIPE
from tinyml.compile.planner import Plan, plan_memory, plan_smallest
from tinyml.errors import TinymlError


@dataclass
class LayerInfo:
    index: int
    opcode: str
    kernel: str
    output_shape: tuple[int, ...]
    macs: int
    arena_offset: int
    in_place: bool
    in_band: bool = False   # computed a few rows at a time (--optimize memory)


@dataclass
class CompileResult:
    name: str
    out_dir: Path
    files: list[Path]
    arena_bytes: int
    weights_bytes: int
    macs: int
    model_hash: str
    input_bytes: int = 0
    output_bytes: int = 0
    layers: list[LayerInfo] = field(default_factory=list)
    bands: int = 0  # runs of operators computed a few rows at a time (--optimize memory)


def _check_io(model: Model) -> None:
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise CompileError(f"the model has {len(model.inputs)} inputs and {len(model.outputs)} "
                           "outputs; tinyml compiles single-input, single-output models")
    for role, index in (("input", model.inputs[0]), ("output", model.outputs[0])):
        t = model.tensor(index)
        if t.dtype != "int8":
            raise CompileError(f"the model's {role} '{t.name}' is {t.dtype}: tinyml compiles "
                               f"full-integer models with int8 input and output. {INT8_RECIPE}")


OPTIMIZE = ("speed", "memory")


def compile_models(models: dict[str, str | Path | bytes], out_dir: str | Path,
                   optimize: str = "speed", share_with: dict[str, int] | None = None) -> list[CompileResult]:
    """Compiles several int8 models ({C prefix: .tflite}) into one folder with one kernel library
    and one arena (tm_shared_arena.c) as large as the largest model's plan: for models that
    never run at the same time, such as an anomaly model and the classifier run after an alarm.
    share_with: other work that uses the arena between inferences ({what: bytes}), such as a
    front-end's FFT buffers; the arena is at least that large."""
    if len(set(n.lower() for n in models)) != len(models) or not models:
        raise TinymlError(f"give each model its own name (--name), not {', '.join(models) or 'none'}")
    planned = {name: _plan(source, name, True, optimize) for name, source in models.items()}
    arena = max([p[3].arena_bytes for p in planned.values()] + list((share_with or {}).values()))
    shared = codegen.shared_arena_files(arena, [*models, *(share_with or {})])
    return [_write(*planned[name], Path(out_dir), shared) for name in models]


def compile_model(model_path: str | Path | bytes, out_dir: str | Path, name: str = "model",
                  narrow_requant: bool = True, optimize: str = "speed") -> CompileResult:
    """Compiles an int8 .tflite into C sources in out_dir. Raises ModelError/CompileError for
    the model, TinymlError for the name and the output folder (which is written all or nothing).

    optimize="memory" computes runs of convolutions a few rows at a time where that makes the
    arena smaller (row bands, tinyml.compile.bands), for a few more instructions; "speed" never.
    narrow_requant=False keeps every layer on the general output stage, even where the
    accumulator bound proves the short one exact (tests use it to check both paths).
    """
    return _write(*_plan(model_path, name, narrow_requant, optimize), Path(out_dir))


def plan_model(model_path: str | Path | bytes, narrow_requant: bool = True,
               optimize: str = "speed") -> tuple[Model, list[Call], Plan]:
    """The model read, its operators lowered to kernel calls and its arena planned: all the
    compiler decides before it writes C, and what `tinyml tune` costs a candidate from."""
    if optimize not in OPTIMIZE:
        raise TinymlError(f"optimize for {optimize!r}? choose {' or '.join(OPTIMIZE)}")
    model = read_tflite(model_path)  # first: it names a missing, folder or unreadable path
    _check_io(model)
    calls: list[Call] = [lower(model, op) for op in model.operators]
    for call in calls:
        call.macs = op_macs(model, call.op)
    if not narrow_requant:
        for call in calls:
            if "narrow_acc" in call.params:
                call.params["narrow_acc"] = 0
    plan = plan_smallest(model, calls) if optimize == "memory" else plan_memory(model, calls)
    return model, calls, plan


def _plan(model_path, name: str, narrow_requant: bool, optimize: str):
    """(name, model, calls, arena plan, sha256) of one model, before anything is written."""
    name = codegen.c_prefix(name)  # before anything is read or written
    model, calls, plan = plan_model(model_path, narrow_requant, optimize)
    raw = Path(model_path).read_bytes() if isinstance(model_path, (str, Path)) else bytes(model_path)
    return name, model, calls, plan, hashlib.sha256(raw).hexdigest()


def _write(name: str, model: Model, calls: list[Call], plan: Plan, model_hash: str, out_dir: Path,
           shared: dict[str, str] | None = None) -> CompileResult:
    files = codegen.generate(model, calls, plan, out_dir, name, model_hash, shared)
    weights = sum(c.values.nbytes for call in calls for c in call.constants)
    in_band = {i for band in plan.bands for i in band.ops()}
    layers = [LayerInfo(c.op.index, c.op.opcode, c.function or "(alias)",
                        model.tensor(c.op.outputs[0]).shape, c.macs,
                        plan.offsets[c.op.outputs[0]], c.op.index in plan.inplace_ops, i in in_band)
              for i, c in enumerate(calls)]
    return CompileResult(name=name, out_dir=Path(out_dir), files=files,
                         arena_bytes=plan.arena_bytes, weights_bytes=weights,
                         macs=sum(c.macs for c in calls), model_hash=model_hash,
                         input_bytes=int(np.prod(model.tensor(model.inputs[0]).shape)),
                         output_bytes=int(np.prod(model.tensor(model.outputs[0]).shape)),
                         layers=layers, bands=len(plan.bands))
