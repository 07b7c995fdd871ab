"""`tinyml export`: a training run as a library for your own sketch (Arduino zip, PlatformIO folder)."""

from pathlib import Path

import click

from tinyml.export import arduino_library, platformio_library
from tinyml.export.library import Library, check_library_folder, check_zip_path


def _summary(kind: str, library: Library) -> None:
    click.echo(f"{kind} library {library.name} {library.version} -> {library.path} "
               f"({len(library.files)} files, {library.app} model {library.model_hash[:16]})")
    parts = ", ".join(f"{what} {size:,}" for what, size in library.ram.items())
    click.echo(f"  include  #include <{library.header}>; example examples/Replay/Replay.ino")
    click.echo(f"  RAM      about {library.ram_bytes:,} B ({parts}), not checked against a board")
    click.echo(f"  flash    {library.weights_bytes:,} B of weights, plus the code")


@click.command("export")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--arduino-library", "zip_path", type=click.Path(path_type=Path), metavar="OUT.zip",
              help="Write an Arduino library zip (Arduino IDE: Sketch > Include Library > Add "
                   ".ZIP Library...).")
@click.option("--platformio-library", "folder", type=click.Path(path_type=Path), metavar="DIR",
              help="Write a PlatformIO library folder (library.json), e.g. into a project's lib/. "
                   "An earlier export there is replaced whole; other files are refused.")
@click.option("--name", default=None,
              help="Library name (and the zip's top folder). Default: the class, TinymlKws or "
                   "TinymlVibration.")
@click.option("--library-version", default="1.0.0", show_default=True,
              help="The library's version, MAJOR.MINOR.PATCH.")
def command(run: Path, zip_path: Path | None, folder: Path | None, name: str | None,
            library_version: str) -> None:
    """Export a training run as a library: the model compiled by our engine (static arena), the
    C front-end it was trained on, a small C++ class (begin, feed, ready, result) and an
    example sketch that replays a recording from the run's test split and prints the results
    over Serial. The library does not check a board's memory; it prints what it needs.

    \b
    Examples:
      tinyml export runs/vibration-20261201-101500 --arduino-library TinymlVibration.zip
      tinyml export runs/kws-20261201-101500 --platformio-library my-project/lib/TinymlKws
    """
    if zip_path is None and folder is None:
        raise click.UsageError("say what to export: --arduino-library OUT.zip, "
                               "--platformio-library DIR, or both")
    if zip_path is not None:  # both targets checked before either is written
        check_zip_path(zip_path)
    if folder is not None:
        check_library_folder(folder)
    done = []
    if zip_path is not None:
        done.append(("Arduino", arduino_library(run, zip_path, name, library_version)))
    if folder is not None:
        done.append(("PlatformIO", platformio_library(run, folder, name, library_version)))
    for kind, library in done:
        _summary(kind, library)
