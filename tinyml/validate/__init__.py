"""Stage 8: validate. Runs what earlier stages produced on a board and measures it.

    from tinyml.boards import load_board
    from tinyml.validate import validate
    result = validate("runs/kws-20261122-071513", load_board("emu-cortex-m4"), limit=500)
    print(result.summary["agreement"], result.html)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tinyml.boards import Board
from tinyml.errors import TinymlError
from tinyml.validate.hil import (load_progress, load_samples, new_results, progress_key,
                                 run_on_devices, save_progress)
from tinyml.validate.report import (done_part, save_device_outputs, save_first_mismatch, summarize,
                                    write_report)

DEFAULT_JOBS = {"qemu": 3, "native": 1}  # QEMU: throughput grows with instances (see hil.py)
PROGRESS_FILE = "progress.npz"  # in the report folder while a validation is unfinished


@dataclass
class Validation:
    summary: dict
    json: Path
    html: Path
    first_mismatch: Path | None


def validate(run_dir: str | Path, board: Board, port: str | None = None, limit: int | None = None,
             raw: bool = False, jobs: int | None = None, out_dir: Path | None = None,
             firmware: Path | None = None, build_dir: Path | None = None, flash: bool = False,
             progress: bool | Callable[[int], None] = True) -> Validation:
    """Sends the run's test split through the board and compares every output with TFLM.

    port: a running device's pyserial URL (for a real board: found by USB id when omitted).
    Otherwise an emulated board is built (or `firmware` used) and started, `jobs` times.
    raw=True sends raw sensor windows (device front-end + model), else the int8 features.
    flash=True uploads the app to a real board first. progress: a progress bar (True), none
    (False), or a function called with the number of samples just done.

    A validation that stops before the end (the board or its link failed for good, or Ctrl-C)
    keeps the samples done in out_dir/progress.npz, writes a partial report, and raises; the
    next one with the same model, board and samples resumes from them.
    """
    from tinyml.firmware import build_app
    from tinyml.firmware.apps import read_run
    from tinyml.link.ports import check_url

    run_dir = Path(run_dir)
    metrics = read_run(run_dir)
    app = metrics["app"]
    out_dir = Path(out_dir or run_dir / f"validate-{board.id}")
    urls = None
    if port is not None:
        check_url(port)  # before a build or a flash, not after
    if port is None and board.flash_method == "platformio":
        from tinyml.link.ports import find_port

        port = find_port(board)
    if port is not None:
        if flash:
            from tinyml.flash import upload

            built = build_app(app, run_dir, board, build_dir or out_dir / "firmware", render_only=True)
            upload(board, built.project_dir, port)
        urls = [port]
    elif firmware is None:
        firmware = build_app(app, run_dir, board, build_dir or out_dir / "firmware").built.firmware
    samples = load_samples(run_dir, limit, raw)
    progress_file = out_dir / PROGRESS_FILE
    key = progress_key(run_dir, board, samples)
    results = load_progress(progress_file, key, samples) or new_results(samples)
    bar = None
    update = progress if callable(progress) else None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=len(samples.inputs), initial=int(results.done.sum()),
                   desc=f"validating on {board.id}", unit="sample")
        update = bar.update
    try:
        run_on_devices(samples, board, run_dir, urls, firmware,
                       jobs or DEFAULT_JOBS.get(board.flash_method, 1), update, results)
    except (TinymlError, KeyboardInterrupt) as exc:
        if not results.done.any():
            raise
        save_progress(progress_file, key, results)
        if isinstance(exc, KeyboardInterrupt):
            raise
        partial = _report(samples, results, board, metrics, out_dir)
        raise type(exc)(f"{exc} Validated {partial.summary['samples']} of {len(samples.inputs)} "
                        f"samples: partial report {partial.html}; run the same command again to "
                        "resume from them.") from None
    finally:
        if bar is not None:
            bar.close()
    validation = _report(samples, results, board, metrics, out_dir)
    progress_file.unlink(missing_ok=True)
    return validation


def _report(samples, results, board: Board, metrics: dict, out_dir: Path) -> Validation:
    """The report of the samples done (all of them, or a partial one)."""
    planned = len(samples.inputs)
    samples, results = done_part(samples, results)
    summary = summarize(samples, results, board, metrics)
    summary["samples_planned"], summary["complete"] = planned, summary["samples"] == planned
    out_dir.mkdir(parents=True, exist_ok=True)
    save_device_outputs(samples, results, out_dir)
    mismatch = save_first_mismatch(samples, results, out_dir)
    if mismatch is not None:
        summary["first_mismatch"] = str(mismatch)
    json_path, html_path = write_report(summary, results, out_dir)
    return Validation(summary, json_path, html_path, mismatch)


__all__ = ["TinymlError", "Validation", "validate"]
