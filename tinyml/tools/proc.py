"""Subprocess helpers: every child has a timeout and dies with its parent."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from tinyml.errors import TinymlError

_PR_SET_PDEATHSIG = 1
# Loaded now, not in the child: dlopen() between fork and exec can deadlock.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_ORPHAN_POLL_S = 0.5

_forking_pid = os.getpid()


def _remember_forking_pid() -> None:
    """Runs in the parent just before every fork (preexec_fn children included), so the child
    knows which parent it should have even if that parent is already gone."""
    global _forking_pid
    _forking_pid = os.getpid()


os.register_at_fork(before=_remember_forking_pid)


def _signal_on_parent_death(parent: int, sig: int) -> bool:
    """Linux: the kernel sends `sig` to this process when `parent` dies, even by SIGKILL.
    False elsewhere. A parent that died before the request took effect sends nothing, so
    then `sig` comes at once."""
    if not sys.platform.startswith("linux"):
        return False
    _LIBC.prctl(_PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def die_with_parent() -> None:
    """preexec_fn: the kernel sends SIGTERM to the child if tinyml dies, even by SIGKILL.
    Linux only: elsewhere nothing of ours survives the exec to watch the parent."""
    _signal_on_parent_death(_forking_pid, signal.SIGTERM)


def own_group_dying_with_parent() -> None:
    """preexec_fn for long-lived children (emulators): Ctrl-C reaches tinyml only, which then
    stops the child in order; the child still dies if tinyml is killed outright."""
    die_with_parent()
    os.setpgrp()


def _kill_self_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_ORPHAN_POLL_S)
    os.kill(os.getpid(), signal.SIGKILL)


def worker_dies_with_parent(parent: int) -> None:
    """For Python children (pool workers, forked probes): SIGKILL when `parent` dies. Without it
    a killed tinyml's workers are orphaned and go on working for minutes. Where Linux's
    parent-death signal is missing, a thread watches getppid()."""
    if not _signal_on_parent_death(parent, signal.SIGKILL):
        threading.Thread(target=_kill_self_when_orphaned, args=(parent,), daemon=True).start()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers die with this process. Workers are forked (Linux) or
    spawned, never made by a fork server, so this process is their parent."""
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                               initializer=worker_dies_with_parent, initargs=(os.getpid(),))


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
