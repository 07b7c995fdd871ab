"""`tinyml compile`: an int8 .tflite becomes freestanding C (our ahead-of-time engine)."""

from pathlib import Path

import click

from tinyml.compile import SUPPORTED, compile_model


@click.command("compile")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True,
              help="Folder for the generated C (NAME.h, NAME.c and the kernel library). It may hold "
                   "your own files: they are left alone.")
@click.option("--name", default="model", show_default=True,
              help="C prefix of the generated API, a C identifier: NAME_input(), NAME_invoke(), "
                   "NAME_output().")
@click.option("--layers", is_flag=True, help="Print the layer table (kernel, shape, MACs, arena offset).")
def command(model: Path, out: Path, name: str, layers: bool) -> None:
    """Compile an int8 TFLite model into plain C99: weights in flash, a static arena planned
    by tensor lifetimes (in place where the operator allows), and one invoke() that calls the
    kernels in order. No interpreter, no malloc, no float.

    The output is written all or nothing: the files are staged first and moved into place only
    once every one is written, so a failure (a full disk) leaves the folder as it was.

    \b
    Example:
      tinyml compile model.tflite -o build/model --name kws
    """
    result = compile_model(model, out, name=name)
    click.echo(f"Compiled {model} -> {out}/{name}.c, {name}.h (+ {len(result.files) - 2} kernel files)")
    click.echo(f"  arena   {result.arena_bytes:,} bytes")
    click.echo(f"  weights {result.weights_bytes:,} bytes")
    click.echo(f"  MACs    {result.macs:,} per inference")
    if layers:
        click.echo(f"\n  {'#':>3} {'operator':<18} {'kernel':<24} {'output':<16} {'MACs':>11} {'offset':>7}")
        for layer in result.layers:
            shape = "x".join(str(d) for d in layer.output_shape)
            mark = " in place" if layer.in_place else ""
            click.echo(f"  {layer.index:>3} {layer.opcode:<18} {layer.kernel:<24} {shape:<16} "
                       f"{layer.macs:>11,} {layer.arena_offset:>7}{mark}")
    click.echo(f"Supported operators: {', '.join(SUPPORTED)}")
