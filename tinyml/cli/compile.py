"""`tinyml compile`: an int8 .tflite becomes freestanding C (our ahead-of-time engine)."""

from pathlib import Path

import click

from tinyml.compile import SUPPORTED, compile_model, compile_models
from tinyml.errors import TinymlError


@click.command("compile")
@click.argument("models", metavar="MODEL...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True,
              help="Folder for the generated C (NAME.h, NAME.c and the kernel library). It may hold "
                   "your own files: they are left alone.")
@click.option("--name", "names", multiple=True,
              help="C prefix of the generated API, a C identifier: NAME_input(), NAME_invoke(), "
                   "NAME_output() [default: model]. Several models: one --name each, in order.")
@click.option("--optimize", type=click.Choice(["speed", "memory"]), default="speed", show_default=True,
              help="memory: compute runs of convolutions a few rows at a time where that shrinks the "
                   "arena (the tensors between them never exist whole), for a few more instructions.")
@click.option("--layers", is_flag=True, help="Print the layer table (kernel, shape, MACs, arena offset).")
def command(models: tuple[Path, ...], out: Path, names: tuple[str, ...], optimize: str, layers: bool) -> None:
    """Compile an int8 TFLite model into plain C99: weights in flash, a static arena planned
    by tensor lifetimes (in place where the operator allows), and one invoke() that calls the
    kernels in order. No interpreter, no malloc, no float.

    With --optimize memory, runs of convolutions, pooling and ADD that hold the largest tensors
    are computed a few rows at a time (row bands, MCUNetV2's patch-based inference with full-width
    patches: nothing is computed twice): the tensors between them are buffers of a few rows.
    The image models of MLPerf Tiny need 25-35% less arena that way; the outputs are the same
    bytes. Models where it saves nothing compile as with speed.

    Several models go into one folder with one kernel library and one shared arena
    (tm_shared_arena.c), as large as the largest model needs: for models that never run at the
    same time, such as an anomaly detector and the fault classifier run after its alarm.

    The output is written all or nothing: the files are staged first and moved into place only
    once every one is written, so a failure (a full disk) leaves the folder as it was.

    \b
    Examples:
      tinyml compile model.tflite -o build/model --name kws
      tinyml compile vww_96_int8.tflite -o build/vww --optimize memory --layers
      tinyml compile model_int8.tflite classifier_int8.tflite -o build/vib --name anomaly --name fault
    """
    if len(models) > 1:
        if len(names) != len(models):
            raise TinymlError(f"{len(models)} models need {len(models)} --name options (one C prefix each, in "
                              f"order), not {len(names)}")
        results = compile_models(dict(zip(names, models)), out, optimize=optimize)
        arena = max(r.arena_bytes for r in results)
        click.echo(f"Compiled {len(models)} models -> {out}, one shared arena of {arena:,} bytes "
                   f"(tm_shared_arena.c; apart they would take {sum(r.arena_bytes for r in results):,})")
        for model, result in zip(models, results):
            click.echo(f"  {result.name:<12} {model}: arena {result.arena_bytes:,}, weights "
                       f"{result.weights_bytes:,}, {result.macs:,} MACs")
        return
    if len(names) > 1:
        raise TinymlError(f"one model takes one --name, not {len(names)}")
    model, name = models[0], (names or ("model",))[0]
    result = compile_model(model, out, name=name, optimize=optimize)
    click.echo(f"Compiled {model} -> {out}/{name}.c, {name}.h (+ {len(result.files) - 2} kernel files)")
    bands = f" ({result.bands} run{'s' if result.bands > 1 else ''} of operators in row bands)" if result.bands else ""
    click.echo(f"  arena   {result.arena_bytes:,} bytes{bands}")
    click.echo(f"  weights {result.weights_bytes:,} bytes")
    click.echo(f"  MACs    {result.macs:,} per inference")
    if layers:
        click.echo(f"\n  {'#':>3} {'operator':<18} {'kernel':<24} {'output':<16} {'MACs':>11} {'offset':>7}")
        for layer in result.layers:
            shape = "x".join(str(d) for d in layer.output_shape)
            mark = " in place" if layer.in_place else " in rows" if layer.in_band else ""
            click.echo(f"  {layer.index:>3} {layer.opcode:<18} {layer.kernel:<24} {shape:<16} "
                       f"{layer.macs:>11,} {layer.arena_offset:>7}{mark}")
    click.echo(f"Supported operators: {', '.join(SUPPORTED)}")
