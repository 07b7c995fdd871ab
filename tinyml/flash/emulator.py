"""Emulated boards: QEMU with its UART on a loopback TCP port, or the host-native process on a pty.

Either way the result is a pyserial URL, so the client cannot tell it from a USB board.
Children are started in their own process group with a parent-death signal, and stopped
and reaped by RunningBoard.stop() (also on `with` exit): no orphan emulators.
"""

from __future__ import annotations

import collections
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

from tinyml.boards import Board
from tinyml.errors import TinymlError
from tinyml.link.frame import MSG_INFO, REPLY, Frame, FrameDecoder, encode_frame
from tinyml.tools import proc

START_TIMEOUT_S = 15.0
QEMU_READY = re.compile(r"waiting for connection on: .*tcp:[^:]+:(\d+)")
NATIVE_READY = re.compile(r"^tinyml-native: serial (\S+)")


class RunningBoard:
    """An emulated board that is up: `url` is where its UART answers."""

    def __init__(self, board: Board, process: subprocess.Popen, url: str, stream, first_lines):
        self.board = board
        self.process = process
        self.url = url
        self._log = collections.deque(first_lines, maxlen=50)
        self._drain = threading.Thread(target=self._drain_output, args=(stream,), daemon=True)
        self._drain.start()

    def _drain_output(self, stream) -> None:
        for line in stream:  # keeps the pipe from filling; the tail explains a crash
            self._log.append(line.rstrip())

    @property
    def log(self) -> list[str]:
        return list(self._log)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        proc.stop(self.process)

    def wait(self) -> int:
        return self.process.wait()

    def __enter__(self) -> "RunningBoard":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_tcp_port(port: str | int | None) -> int | None:
    """--port for an emulated board: a TCP port number or socket://127.0.0.1:N."""
    if port is None or isinstance(port, int):
        return port
    match = re.fullmatch(r"(?:socket://(?:127\.0\.0\.1|localhost):)?(\d{1,5})", str(port))
    if not match or not 0 < int(match.group(1)) < 65536:
        raise TinymlError(f"--port {port!r} is not a loopback TCP port for the emulator: "
                          "give a number such as 4321 or socket://127.0.0.1:4321.")
    return int(match.group(1))


def is_tcp_port(port: str | int | None) -> bool:
    """True for a port parse_tcp_port takes (an emulator's UART), False for a serial device."""
    try:
        return parse_tcp_port(port) is not None
    except TinymlError:
        return False


def _wait_for_line(process: subprocess.Popen, stream, pattern: re.Pattern, what: str):
    """Reads the child's output until pattern matches; returns (match, lines read)."""
    lines: list[str] = []
    found: list[re.Match] = []

    def reader():
        for line in stream:
            lines.append(line.rstrip())
            match = pattern.search(line)
            if match:
                found.append(match)
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(START_TIMEOUT_S)
    if found:
        return found[0], lines
    exited = process.poll()
    proc.stop(process)
    tail = " | ".join(lines[-5:]) or "no output"
    if exited is None:
        raise TinymlError(f"{what} did not come up within {START_TIMEOUT_S:g} s ({tail}); stopped it.")
    raise TinymlError(f"{what} exited with code {exited}: {tail}")


def _start_qemu(board: Board, firmware: Path, tcp_port: int | None, handshake: bool) -> RunningBoard:
    attempts = 1 if tcp_port else 3
    for attempt in range(attempts):
        port = tcp_port or free_tcp_port()
        # -icount shift=0: one virtual ns per instruction, so timers count instructions. QEMU's
        # AVR timers abort under it ("Bad icount read"): those boards say icount = false.
        icount = ["-icount", "shift=0"] if board.flash.get("icount", True) else []
        cmd = [board.flash["emulator"], "-M", board.flash["machine"], "-nographic",
               "-monitor", "none", *icount, board.flash["load"], str(firmware),
               "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on"]
        try:
            process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True,
                                       preexec_fn=proc.own_group_dying_with_parent)
        except FileNotFoundError:
            raise TinymlError(f"{cmd[0]} is not installed; `make setup` installs QEMU "
                              "(Debian packages qemu-system-arm, qemu-system-misc).") from None
        try:
            _, lines = _wait_for_line(process, process.stderr, QEMU_READY,
                                      f"QEMU {board.flash['machine']} for {board.id}")
        except TinymlError as exc:
            if "Address already in use" in str(exc) and attempt + 1 < attempts:
                continue  # another program took the port between our check and QEMU's bind
            raise
        running = RunningBoard(board, process, f"socket://127.0.0.1:{port}", process.stderr, lines)
        if handshake:
            _wait_until_firmware_answers(running, port)
        return running
    raise AssertionError("unreachable")


def _wait_until_firmware_answers(running: RunningBoard, port: int) -> None:
    """QEMU holds the machine until the first client connects (wait=on), then takes about a
    second to start it. Be that first client, so the board handed out is already running."""
    request = encode_frame(Frame(MSG_INFO, 0))
    decoder = FrameDecoder()
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=START_TIMEOUT_S) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(request)
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                data = sock.recv(4096)
                if not data:
                    break
                if any(f.type == MSG_INFO | REPLY for f in decoder.feed(data)):
                    return
    except OSError:
        pass
    running.stop()
    tail = " | ".join(running.log[-5:]) or "no output"
    raise TinymlError(f"the firmware on {running.board.id} did not answer within "
                      f"{START_TIMEOUT_S:g} s of starting; it may have crashed at start-up ({tail}).")


def _start_native(board: Board, firmware: Path) -> RunningBoard:
    try:
        process = subprocess.Popen([str(firmware)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True,
                                   preexec_fn=proc.own_group_dying_with_parent)
    except OSError as exc:
        raise TinymlError(f"cannot start the native firmware {firmware}: {exc.strerror}. "
                          "Build it with `tinyml build --board native`.") from None
    match, lines = _wait_for_line(process, process.stdout, NATIVE_READY, f"native firmware {firmware}")
    return RunningBoard(board, process, match.group(1), process.stdout, lines)


def start_board(board: Board, firmware: Path, port: str | int | None = None,
                handshake: bool = True) -> RunningBoard:
    """Starts an emulated board on `firmware`; returns once its firmware answers `info`.

    handshake=False is for firmware that does not speak the tinyml protocol (benchmarks):
    it returns as soon as the UART accepts a client, and the machine starts on connection.
    """
    firmware = Path(firmware)
    if not firmware.is_file():
        raise TinymlError(f"no firmware at {firmware}: build it first with "
                          f"`tinyml build --board {board.id}`.")
    if board.flash_method == "qemu":
        return _start_qemu(board, firmware, parse_tcp_port(port), handshake)
    if board.flash_method == "native":
        return _start_native(board, firmware)
    raise TinymlError(f"{board.id} is a real board, not an emulator: flash it with "
                      f"`tinyml flash --board {board.id} --port PORT`.")


def wait_until_stopped(running: RunningBoard, seconds: float | None = None) -> int | None:
    """Blocks until the emulator exits or `seconds` pass; returns its exit code if it exited."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while running.alive():
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(0.2)
    return running.process.returncode
