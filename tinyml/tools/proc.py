"""Subprocess helpers: every child has a timeout and dies with its parent."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

from tinyml.errors import TinymlError

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: the kernel sends SIGTERM to the child if tinyml dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def own_group_dying_with_parent() -> None:
    """preexec_fn for long-lived children (emulators): Ctrl-C reaches tinyml only, which then
    stops the child in order; the child still dies if tinyml is killed outright."""
    die_with_parent()
    os.setpgrp()


def run(cmd: list[str], timeout: float, what: str, **kwargs) -> subprocess.CompletedProcess:
    """Runs cmd to completion with a deadline; a missing program or a timeout is a TinymlError."""
    try:
        return subprocess.run(cmd, timeout=timeout, capture_output=True, text=True,
                              preexec_fn=die_with_parent, **kwargs)
    except FileNotFoundError:
        raise TinymlError(f"{what}: `{cmd[0]}` is not installed. Run `make setup` (it installs "
                          "the toolchains and emulators), or install it with apt.") from None
    except subprocess.TimeoutExpired:
        raise TinymlError(f"{what}: `{' '.join(cmd[:3])} ...` did not finish within "
                          f"{timeout:g} s and was stopped.") from None


def stop(process: subprocess.Popen, grace: float = 3.0) -> None:
    """Terminates a child (and its process group), then kills it if it lingers; always reaps it."""
    if process.poll() is not None:
        return
    def signal_child(sig: int) -> None:
        try:
            if os.getpgid(process.pid) == process.pid:
                os.killpg(process.pid, sig)
            else:
                os.kill(process.pid, sig)
        except ProcessLookupError:
            pass

    signal_child(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        signal_child(signal.SIGKILL)
        process.wait(timeout=grace)
