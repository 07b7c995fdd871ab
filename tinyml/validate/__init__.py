"""Stage 8: validate. Runs what earlier stages produced on a board and measures it.

    from tinyml.boards import load_board
    from tinyml.validate import validate
    result = validate("runs/kws-20261122-071513", load_board("emu-cortex-m4"), limit=500)
    print(result.summary["agreement"], result.html)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyml.boards import Board
from tinyml.errors import TinymlError
from tinyml.validate.hil import load_samples, run_on_devices
from tinyml.validate.report import save_device_outputs, save_first_mismatch, summarize, write_report

DEFAULT_JOBS = {"qemu": 3, "native": 1}  # QEMU: throughput grows with instances (see hil.py)


@dataclass
class Validation:
    summary: dict
    json: Path
    html: Path
    first_mismatch: Path | None


def validate(run_dir: str | Path, board: Board, port: str | None = None, limit: int | None = None,
             raw: bool = False, jobs: int | None = None, out_dir: Path | None = None,
             firmware: Path | None = None, build_dir: Path | None = None, flash: bool = False,
             progress: bool = True) -> Validation:
    """Sends the run's test split through the board and compares every output with TFLM.

    port: a running device's pyserial URL (for a real board: found by USB id when omitted).
    Otherwise an emulated board is built (or `firmware` used) and started, `jobs` times.
    raw=True sends raw sensor windows (device front-end + model), else the int8 features.
    flash=True uploads the app to a real board first.
    """
    from tinyml.firmware import build_app
    from tinyml.firmware.apps import read_run

    run_dir = Path(run_dir)
    metrics = read_run(run_dir)
    app = metrics["app"]
    out_dir = Path(out_dir or run_dir / f"validate-{board.id}")
    urls = None
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
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(samples.inputs), desc=f"validating on {board.id}", unit="sample")
    try:
        results = run_on_devices(samples, board, run_dir, urls, firmware,
                                 jobs or DEFAULT_JOBS.get(board.flash_method, 1),
                                 bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    summary = summarize(samples, results, board, metrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_device_outputs(samples, results, out_dir)
    mismatch = save_first_mismatch(samples, results, out_dir)
    if mismatch is not None:
        summary["first_mismatch"] = str(mismatch)
    json_path, html_path = write_report(summary, results, out_dir)
    return Validation(summary, json_path, html_path, mismatch)


__all__ = ["TinymlError", "Validation", "validate"]
