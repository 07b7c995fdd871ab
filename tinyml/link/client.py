"""Talks to a tinyml firmware over any pyserial URL: /dev/ttyACM0, socket://host:port, rfc2217://...

Every read has a deadline, every request a bounded number of retries; damaged frames are
skipped and the request resent, so noise on the link costs time, never a wrong answer.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

import numpy as np
import serial

from tinyml.errors import DeviceError, DeviceRefused, TinymlError
from tinyml.link import frame as fr
from tinyml.link.ports import check_url

try:
    import termios
except ImportError:  # Windows: pyserial reports everything as SerialException there
    termios = None

# What a port raises when the board behind it goes away (reset, unplugged, emulator stopped).
# pyserial lets termios.error out of flush() (tcdrain) when a pty or USB tty hangs up
# mid-write; it is not an OSError.
LINK_ERRORS = (OSError, serial.SerialException) + ((termios.error,) if termios else ())

READ_SLICE_S = 0.02
UNKNOWN_SEQ = 0xFF  # the device's seq in replies to frames too damaged to read
MAX_DAMAGED_RESENDS = 20  # a link this noisy is broken, not unlucky


def link_error_text(exc: BaseException) -> str:
    """A link error as a reason: termios.error prints as a bare (errno, text) pair."""
    if termios is not None and isinstance(exc, termios.error) and len(exc.args) == 2:
        return str(exc.args[1])
    return str(exc)


def _open_hint(url: str) -> str:
    if url.startswith("socket://"):
        return ("Is the emulator running? `tinyml flash --board emu-cortex-m4` starts one "
                "and prints its URL.")
    return "Is the board plugged in and the port free? `tinyml ports` lists serial ports."


@dataclass
class Inference:
    """One TM_MSG_INFER reply: device timer ticks per stage, the app's score, int8 outputs."""
    feature_ticks: int
    model_ticks: int
    score: float
    outputs: np.ndarray


@dataclass
class CaptureSource:
    """What a TM_MSG_CAPTURE start says of the device's sensor."""
    ring_frames: int      # frames (a sample of every channel) the device buffers
    channels: int
    rate_hz: int
    g_per_count: float    # accelerometers; 0.0 for audio


@dataclass
class CaptureChunk:
    """Frames from index `start`; the device had read `read` frames since the capture began."""
    start: int
    read: int
    ended: bool           # the sensor's source ended (a replayed recording)
    overrun: bool         # the ring filled: frames after `read` were not kept
    frames: np.ndarray    # int16 [n, channels]


def load_chunk_bytes(rx_buffer: int) -> int:
    """Data bytes per TM_MSG_LOAD frame so that the encoded frame fits the device's receive
    buffer: COBS adds one byte per 254 and a delimiter; header 5, kind and offset 5, CRC 2."""
    return rx_buffer - 2 - (rx_buffer + 253) // 254 - 12


class DeviceClient:
    """One open link to a device. Use as a context manager, or call close()."""

    def __init__(self, port: serial.SerialBase, url: str, timeout: float = 2.0, retries: int = 3):
        self.port = port
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.decoder = fr.FrameDecoder()
        self.resends = 0
        self._seq = 0
        self._capture_channels = 1  # of the running capture, from its start reply

    def __enter__(self) -> "DeviceClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.port.close()
        except LINK_ERRORS:
            pass

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) % 0xFF  # 0xFF is reserved for "unknown" in error replies
        return self._seq

    def _read_frames(self) -> list[fr.Frame]:
        try:
            data = self.port.read(max(1, self.port.in_waiting))
        except LINK_ERRORS as exc:
            raise DeviceError(f"lost the connection to {self.url} ({link_error_text(exc)}). "
                              "Was the board reset or the emulator stopped?") from None
        return self.decoder.feed(data) if data else []

    def request(self, msg_type: int, payload: bytes = b"") -> fr.Frame:
        """Sends one request and returns the device's reply frame.

        Resends after a timeout, when the device reports a damaged request, or when a damaged
        frame arrives instead of the reply; raises DeviceError once `retries` resends have gone
        unanswered. Every request is idempotent, so a resend never changes the result.
        """
        seq = self._next_seq()
        wire = fr.encode_frame(fr.Frame(type=msg_type, seq=seq, payload=payload))
        timeouts = damaged_resends = 0
        while True:
            try:
                self.port.write(wire)
                self.port.flush()
            except LINK_ERRORS as exc:
                raise DeviceError(f"cannot write to {self.url} ({link_error_text(exc)}).") from None
            outcome = self._await_reply(seq, msg_type, len(wire))
            if isinstance(outcome, fr.Frame):
                return outcome
            self.resends += 1
            if outcome == "timeout":
                timeouts += 1
            else:
                damaged_resends += 1
            if timeouts > self.retries or damaged_resends > MAX_DAMAGED_RESENDS:
                break
        damaged = f" ({damaged_resends} answered with damaged frames)" if damaged_resends else ""
        raise DeviceError(
            f"no answer from {self.url} after {timeouts + damaged_resends} tries of "
            f"{self.timeout:g} s{damaged}. Is a tinyml firmware running there, at the right baud rate?")

    def _await_reply(self, seq: int, msg_type: int, wire_bytes: int) -> fr.Frame | str:
        """The reply frame, or why to resend: "timeout" or "damaged" (a damaged frame arrived,
        likely our reply, or the device reported our request damaged)."""
        deadline = time.monotonic() + self.timeout
        damaged = self.decoder.errors
        while time.monotonic() < deadline:
            frames = self._read_frames()
            if self.decoder.errors != damaged and not frames:
                return "damaged"
            for reply in frames:
                if reply.type == fr.MSG_ERROR and reply.seq in (seq, UNKNOWN_SEQ):
                    if reply.payload[:1] in (bytes([fr.ERR_CRC]), bytes([fr.ERR_LENGTH])):
                        return "damaged"
                    self._raise_device_error(reply, wire_bytes)
                if reply.seq == seq and reply.type == msg_type | fr.REPLY:
                    return reply
                # anything else is a late answer to an earlier attempt: skip it
        return "timeout"

    def _raise_device_error(self, reply: fr.Frame, wire_bytes: int) -> None:
        code = reply.payload[0] if reply.payload else 0
        if code == fr.ERR_VERSION and len(reply.payload) > 1:
            raise DeviceError(f"the firmware speaks protocol v{reply.payload[1]}, this tinyml "
                              f"speaks v{fr.VERSION}: rebuild and flash the firmware.")
        if code == fr.ERR_TOO_LONG:
            raise DeviceError(f"a {wire_bytes}-byte frame is longer than the receive buffer of the "
                              f"device at {self.url} (`tinyml info` shows rx_buffer): send it in chunks.")
        what = fr.ERROR_NAMES.get(code, f"error code {code}")
        raise DeviceRefused(f"the device at {self.url} refused the request: {what}.", code)

    def load(self, kind: int, data: bytes, rx_buffer: int | None = None) -> None:
        """Fills the device's input buffer of `kind` (fr.INPUT_RAW, fr.INPUT_FEATURES) with data,
        in frames that fit its receive buffer (from `info()` unless given)."""
        chunk = load_chunk_bytes(rx_buffer or int(self.info()["rx_buffer"]))
        for offset in range(0, len(data), chunk):
            reply = self.request(fr.MSG_LOAD, struct.pack("<BI", kind, offset) + data[offset:offset + chunk])
            (held,) = struct.unpack_from("<I", reply.payload)
            if held != offset + len(data[offset:offset + chunk]):
                raise DeviceError(f"the device at {self.url} says it holds {held} bytes after "
                                  f"a load that should end at {offset + chunk}")

    def infer(self, kind: int) -> Inference:
        """Runs the device's front-end (for raw input) and model on what was loaded."""
        reply = self.request(fr.MSG_INFER, bytes([kind]))
        if len(reply.payload) < 12:
            raise DeviceError(f"an infer reply of {len(reply.payload)} bytes from {self.url} is "
                              "shorter than its 12-byte header")
        feature_ticks, model_ticks, score = struct.unpack_from("<IIf", reply.payload)
        return Inference(feature_ticks, model_ticks, score,
                         np.frombuffer(reply.payload[12:], dtype=np.int8).copy())

    def fault(self) -> tuple[int, float, np.ndarray]:
        """The vibration firmware's fault classifier on its current model input (what the last
        load or inference left there): (fault class, its probability, the int8 outputs)."""
        reply = self.request(fr.MSG_FAULT)
        if len(reply.payload) < 5:
            raise DeviceError(f"a fault reply of {len(reply.payload)} bytes from {self.url} is shorter than "
                              "its 5-byte header")
        fault, probability = struct.unpack_from("<Bf", reply.payload)
        return fault, probability, np.frombuffer(reply.payload[5:], dtype=np.int8).copy()

    def timing(self) -> tuple[int, int]:
        """Timer ticks of the last inference: (front-end, model)."""
        reply = self.request(fr.MSG_TIMING)
        return struct.unpack_from("<II", reply.payload)

    def reset(self) -> None:
        """Back to power-up state (in test mode): app state, error counters, timings cleared."""
        self.request(fr.MSG_RESET)

    def set_live(self, live: bool) -> None:
        """Live mode (the firmware reads its sensor and prints detections) or test mode."""
        self.request(fr.MSG_MODE, bytes([1 if live else 0]))

    def capture_start(self, frames: int = 0) -> CaptureSource:
        """Empties the device's capture ring and starts filling it from the sensor with
        `frames` frames (0: until stopped)."""
        reply = self.request(fr.MSG_CAPTURE, struct.pack("<BI", fr.CAPTURE_START, frames))
        if len(reply.payload) != 13:
            raise DeviceError(f"a capture start reply of {len(reply.payload)} bytes from {self.url} (13 expected)")
        frames, channels, rate, g = struct.unpack("<IBIf", reply.payload)
        self._capture_channels = channels
        return CaptureSource(frames, channels, rate, g)

    def capture_read(self, start: int, max_frames: int = 0xFFFF) -> CaptureChunk:
        """The frames from `start` on that the device holds (as many as a reply carries); asking
        for `start` also tells the device it may drop every frame before it."""
        reply = self.request(fr.MSG_CAPTURE, struct.pack("<BIH", fr.CAPTURE_READ, start, max_frames))
        payload = reply.payload
        channels = self._capture_channels
        if len(payload) < 9 or (len(payload) - 9) % (2 * channels):
            raise DeviceError(f"a capture reply of {len(payload)} bytes from {self.url} is not whole frames")
        first, read, flags = struct.unpack_from("<IIB", payload)
        frames = np.frombuffer(payload[9:], dtype="<i2").reshape(-1, channels).astype(np.int16)
        if first != start or read < first + len(frames):
            raise DeviceError(f"the device at {self.url} sent capture frames from {first} (asked {start}, "
                              f"read {read}): rebuild and flash the firmware")
        return CaptureChunk(first, read, bool(flags & fr.CAPTURE_ENDED), bool(flags & fr.CAPTURE_OVERRUN), frames)

    def capture_stop(self) -> None:
        self.request(fr.MSG_CAPTURE, bytes([fr.CAPTURE_STOP]))

    def info(self) -> dict[str, str]:
        """The firmware's identity: protocol, firmware version, board, build id, app, buffers."""
        reply = self.request(fr.MSG_INFO)
        fields = {}
        for line in reply.payload.decode("ascii", "replace").splitlines():
            key, _, value = line.partition("=")
            fields[key] = value
        return fields


def live_lines(url: str, seconds: float = 60.0) -> list[str]:
    """What a firmware prints in live mode until its replayed recording ends (its LIVE END
    line), each line without its CR LF NUL ending; DeviceError if that takes over `seconds`."""
    port = serial.serial_for_url(url, timeout=READ_SLICE_S * 10)
    data = b""
    deadline = time.monotonic() + seconds
    try:
        while b"LIVE END" not in data or not data.endswith(b"\x00"):
            if time.monotonic() > deadline:
                raise DeviceError(f"live mode at {url} did not end within {seconds:g} s: {data[-300:]!r}")
            data += port.read(4096)
    finally:
        port.close()
    return [line.strip("\r\n\x00") for line in data.decode("ascii", "replace").split("\x00")
            if line.strip("\r\n\x00")]


def open_device(url: str, baud: int = 115200, timeout: float = 2.0, retries: int = 3) -> DeviceClient:
    """Opens a pyserial URL; a malformed URL, or a port that cannot be opened, is a TinymlError
    naming the fix."""
    check_url(url)
    try:
        port = serial.serial_for_url(url, baudrate=baud, timeout=READ_SLICE_S,
                                     write_timeout=timeout, do_not_open=True)
        if url.startswith("socket://"):
            # pyserial's connect would otherwise wait up to its own default on a silent host.
            socket.setdefaulttimeout(timeout)
            try:
                port.open()
            finally:
                socket.setdefaulttimeout(None)
            # QEMU's chardev has nodelay=on; without it here too each small exchange stalls ~40 ms.
            port._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            port.open()
    except (OSError, ValueError, serial.SerialException) as exc:
        reason = str(exc).split(": ", 1)[-1] if "could not open port" in str(exc).lower() else str(exc)
        raise TinymlError(f"cannot open serial port {url}: {reason}. {_open_hint(url)}") from None
    return DeviceClient(port, url, timeout=timeout, retries=retries)
