"""Runs compiled models on the host: the generated C plus a tiny main(), built with gcc.

The runner reads input tensors back to back from stdin and writes each output to stdout, so
thousands of inferences cost one process. Tests compare it with TFLM byte for byte, and the
validation stage uses it as the host-side twin of the firmware.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from tinyml.compile.compiler import CompileResult
from tinyml.errors import TinymlError
from tinyml.tools import proc

RUNNER_MAIN = """\
#include <stdio.h>
#include "{name}.h"

int main(void)
{{
    static int8_t output[{upper}_OUTPUT_BYTES];
    for (;;) {{
        unsigned i;
        int8_t *input = {name}_input();
        if (fread(input, 1, {upper}_INPUT_BYTES, stdin) != {upper}_INPUT_BYTES) {{
            return 0;
        }}
        {name}_invoke();
        for (i = 0; i < {upper}_OUTPUT_BYTES; ++i) {{
            output[i] = {name}_output()[i];
        }}
        fwrite(output, 1, {upper}_OUTPUT_BYTES, stdout);
    }}
}}
"""

STRICT_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def build_host_runner(result: CompileResult, cflags: tuple[str, ...] = ("-O2",)) -> Path:
    """Compiles the model in result.out_dir with gcc into an executable runner."""
    out_dir = result.out_dir
    main = out_dir / f"{result.name}_runner.c"
    main.write_text(RUNNER_MAIN.format(name=result.name, upper=result.name.upper()))
    exe = out_dir / f"{result.name}_runner"
    sources = [str(p) for p in result.files if p.suffix == ".c"] + [str(main)]
    done = proc.run(["gcc", *STRICT_FLAGS, *cflags, "-I", str(out_dir), *sources, "-o", str(exe)],
                    timeout=300, what=f"compiling {result.name} for the host")
    if done.returncode != 0:
        raise TinymlError(f"gcc rejected the generated C for {result.name}:\n{done.stderr[-3000:]}")
    return exe


def run_host(runner: Path, inputs: np.ndarray, output_bytes: int) -> np.ndarray:
    """Runs a batch of int8 inputs (first axis = samples); returns int8 outputs [samples, bytes]."""
    inputs = np.ascontiguousarray(inputs, dtype=np.int8)
    done = subprocess.run([str(runner)], input=inputs.tobytes(), capture_output=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        raise TinymlError(f"the host runner {runner} failed with code {done.returncode}: "
                          f"{done.stderr.decode(errors='replace')[-500:]}")
    out = np.frombuffer(done.stdout, dtype=np.int8)
    return out.reshape(len(inputs), output_bytes)
