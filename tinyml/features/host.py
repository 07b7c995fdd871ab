"""The C front-ends built for the host, for tests and benchmarks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from tinyml.errors import TinymlError
from tinyml.features.spec import MfccSpec, SpectrumSpec
from tinyml.features.tables import c_header
from tinyml.tools import proc

C_DIR = Path(__file__).parent / "c"


def write_c_frontend(out_dir: Path, mfcc: MfccSpec | None = None,
                     spectrum: SpectrumSpec | None = None) -> list[Path]:
    """tm_frontend.[ch] and the generated tm_frontend_tables.h, for firmware or the host."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    names = ["tm_frontend.c", "tm_frontend.h"]
    if mfcc is not None:  # the kws firmware listens with the streaming front-end and detector
        names += ["tm_stream.c", "tm_stream.h", "tm_detect.c", "tm_detect.h"]
    for name in names:
        shutil.copyfile(C_DIR / name, out_dir / name)
        files.append(out_dir / name)
    (out_dir / "tm_frontend_tables.h").write_text(c_header(mfcc, spectrum))
    files.append(out_dir / "tm_frontend_tables.h")
    return files


def build_runner(out_dir: Path, kind: str, spec: MfccSpec | SpectrumSpec) -> Path:
    """Compiles fe_runner.c for the host (-Wall -Wextra -Werror); kind is "mfcc" or "spectrum"."""
    out_dir = Path(out_dir)
    files = write_c_frontend(out_dir, spec if kind == "mfcc" else None,
                             spec if kind == "spectrum" else None)
    exe = out_dir / f"fe_{kind}"
    done = proc.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
                     f"-DFE_RUN_{kind.upper()}", "-I", str(out_dir), str(files[0]),
                     str(C_DIR / "fe_runner.c"), "-lm", "-o", str(exe)],
                    timeout=120, what="compiling the C front-end")
    if done.returncode != 0:
        raise TinymlError(f"gcc rejected the C front-end:\n{done.stderr[-2000:]}")
    return exe


def run_runner(exe: Path, inputs: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    inputs = np.ascontiguousarray(inputs, dtype="<i2")
    done = subprocess.run([str(exe)], input=inputs.tobytes(), capture_output=True, timeout=600)
    if done.returncode != 0:
        raise TinymlError(f"{exe} failed: {done.stderr.decode(errors='replace')[-300:]}")
    return np.frombuffer(done.stdout, dtype=np.int8).reshape((len(inputs),) + out_shape)
