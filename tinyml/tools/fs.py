"""Filesystem helpers."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_folder(target: Path):
    """Yields a staging folder beside `target`; on success it replaces `target` in one rename,
    on failure it is removed. Readers see the old folder or the new one, never half of one."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


@contextlib.contextmanager
def atomic_file(target: Path):
    """Yields a temporary path beside `target`, with its suffix (numpy keeps a name ending in
    .npy/.npz as it is); on success it is flushed to disk and replaces `target` in one rename,
    on failure it is removed. Readers see the old file or the new one, never a torn one."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}-", suffix=target.suffix, dir=target.parent)
    os.close(handle)
    staging = Path(name)
    staging.chmod(0o644)  # mkstemp makes it private; the result is an ordinary file
    try:
        yield staging
        with open(staging, "rb") as written:
            os.fsync(written.fileno())  # on disk before the rename: a power cut cannot leave it empty
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
