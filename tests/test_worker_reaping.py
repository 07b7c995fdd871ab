"""Worker processes die with tinyml, even when tinyml is killed by SIGKILL and cannot clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs /proc")

REPO = Path(__file__).resolve().parent.parent


def process_table() -> dict[int, tuple[int, str, str, int]]:
    """pid -> (parent pid, name, state, start time) for every process now, read from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited while we looked
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), name, fields[0], int(fields[19]))
    return table


def descendants(pid: int) -> dict[int, tuple[str, int]]:
    """Children, grandchildren, ... of pid: pid -> (name, start time)."""
    table = process_table()
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, name, _, start) in table.items():
            if ppid == parent and child not in found:
                found[child] = (name, start)
                frontier.append(child)
    return found


def still_running(processes: dict[int, tuple[str, int]]) -> dict[int, str]:
    """Those of `processes` still alive (not exited, not a zombie, pid not reused)."""
    table = process_table()
    return {pid: name for pid, (name, start) in processes.items()
            if pid in table and table[pid][3] == start and table[pid][2] != "Z"}


def wait_for(condition, timeout: float, what: str, seen=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} {seen()}")


def kill_and_collect(parent: subprocess.Popen, tree: dict[int, tuple[str, int]],
                     grace: float = 5.0) -> dict[int, str]:
    """SIGKILLs parent; returns what of its process tree still runs `grace` seconds later."""
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + grace
    while still_running(tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = still_running(tree)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    return left


def survivors_of(parent: subprocess.Popen, tree_when_ready, what: str, timeout: float,
                 seen=lambda: "") -> dict[int, str]:
    """Waits until tree_when_ready() gives the parent's process tree, SIGKILLs the parent, and
    returns what of the tree still runs 5 s later; the parent never outlives the test."""
    try:
        return kill_and_collect(parent, wait_for(tree_when_ready, timeout, what, seen=seen))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_killed_kws_generation_takes_its_workers_and_espeak_with_it(tmp_path):
    # TMPDIR: a killed worker leaves its half-spoken espeak-ng folder behind; keep it in tmp_path.
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TINYML_DATA": str(tmp_path), "TMPDIR": str(tmp_path / "tmp")}
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        parent = subprocess.Popen([sys.executable, "-m", "tinyml", "datasets", "make", "kws",
                                   "--clips-per-class", "400"], env=env, cwd=REPO,
                                  stdout=subprocess.DEVNULL, stderr=stderr)

    # Two workers speaking: each has an espeak-ng child now and then; wait for one.
    def tree_with_workers_and_espeak():
        assert parent.poll() is None, log.read_text()[-2000:]
        tree = descendants(parent.pid)
        workers = [p for p, (name, _) in tree.items() if name.startswith("python")]
        speaking = [p for p, (name, _) in tree.items() if name == "espeak-ng"]
        return tree if len(workers) >= 2 and speaking else None

    left = survivors_of(parent, tree_with_workers_and_espeak, "two workers and an espeak-ng", 120,
                        seen=lambda: f"(saw {descendants(parent.pid)}; {log.read_text()[-500:]})")
    assert left == {}, f"still running 5 s after tinyml was killed: {left}"
    assert not list(tmp_path.glob("kws-*/meta.json"))  # nothing claims to be a finished dataset


CHILD = """
import os, sys, time
sys.path.insert(0, {repo!r})
from tinyml.tools import proc
parent = int(sys.argv[1])
sys.platform = {platform!r}  # "darwin": the polling fallback other systems get
proc.worker_dies_with_parent(parent)
print("armed", flush=True)
time.sleep(120)
"""

MIDDLE = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())])
sys.exit(child.wait())  # until killed; at once if the child failed
"""


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_worker_dies_with_its_parent(platform):
    """The parent-death signal (Linux), or the thread watching getppid() (elsewhere)."""
    child_code = CHILD.format(repo=str(REPO), platform=platform)
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, child_code], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert middle.stdout.readline() == "armed\n"
        tree = descendants(middle.pid)
        assert len(tree) == 1
        left = kill_and_collect(middle, tree)
    finally:
        if middle.poll() is None:
            middle.kill()
            middle.wait()
    assert left == {}


def test_worker_whose_parent_died_before_it_asked_dies_at_once():
    """The race: the parent died before prctl, so no signal will come; the check after it sees
    that getppid() is no longer the expected parent and ends the worker right away."""
    not_my_parent = os.getpid() + 1_000_000  # no such process
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from tinyml.tools import proc
        proc.worker_dies_with_parent({not_my_parent})
        time.sleep(30)
        print("survived")
        """)], cwd=REPO, capture_output=True, text=True, timeout=20)
    assert done.returncode == -signal.SIGKILL
    assert done.stdout == ""


def test_killed_arena_search_takes_its_hung_probe_with_it():
    """minimal_arena's forked probe may hang in TFLM (its parent stops it after 60 s): if the
    parent is killed meanwhile, the probe must not stay behind."""
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import time
        from tinyml.convert import tflm
        tflm._interpreter = lambda data, size: time.sleep(120)  # TFLM stuck on this arena
        tflm.minimal_arena(b"model")
        """)], cwd=REPO)
    left = survivors_of(parent, lambda: descendants(parent.pid), "the forked probe", 60)
    assert left == {}, f"still running 5 s after its parent was killed: {left}"
