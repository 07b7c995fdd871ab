"""Binary frames with length and CRC, delimited by COBS: the host half of tinyml_link.c.

Wire format: COBS(body) + b"\\x00", body = version, type, seq, length (u16 LE), payload,
CRC-16/CCITT-FALSE (u16 LE) of everything before it. A receiver that loses sync is back
in step at the next zero byte; the CRC and the length field catch corrupted frames.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

VERSION = 1
HEADER = struct.Struct("<BBBH")
DELIMITER = b"\x00"

# Message types; a reply carries the request's type | REPLY.
MSG_INFO = 0x01
MSG_LOAD = 0x02
MSG_INFER = 0x03
MSG_MODE = 0x04
MSG_TIMING = 0x05
MSG_RESET = 0x06
MSG_CAPTURE = 0x07
MSG_CALIBRATE = 0x08
MSG_FAULT = 0x09
REPLY = 0x80
MSG_ERROR = 0x7F

ERROR_NAMES = {
    1: "CRC mismatch",
    2: "frame longer than the device's receive buffer",
    3: "request type not implemented by this firmware",
    4: "protocol version mismatch",
    5: "length field disagrees with frame size",
    6: "bad argument (input kind, offset past the buffer, or mode)",
    7: "this firmware has no model (it is the skeleton app)",
}
ERR_CRC, ERR_TOO_LONG, ERR_UNKNOWN_TYPE, ERR_VERSION, ERR_LENGTH, ERR_ARGUMENT, ERR_NO_MODEL = range(1, 8)

# TM_MSG_CAPTURE operations and reply flags (tinyml_capture.h).
CAPTURE_START, CAPTURE_READ, CAPTURE_STOP = 0, 1, 2
CAPTURE_ENDED, CAPTURE_OVERRUN = 1, 2

# MSG_CALIBRATE operations (apps/vibration): the levels and threshold held, set (and stored
# where the board can), back to the built-in ones, the model input of the last inference, and
# set for now only (never stored).
CALIBRATE_GET, CALIBRATE_SET, CALIBRATE_DEFAULT, CALIBRATE_FEATURES, CALIBRATE_TRY = 0, 1, 2, 3, 4

# Input kinds of MSG_LOAD and MSG_INFER.
INPUT_RAW = 0       # raw sensor samples (int16 little endian), run through the device's front-end
INPUT_FEATURES = 1  # the model's int8 input tensor, front-end skipped


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as in tinyml_link.c."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def cobs_encode(data: bytes) -> bytes:
    out = bytearray([0])
    code_at, code = 0, 1
    for byte in data:
        if byte == 0:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
            continue
        out.append(byte)
        code += 1
        if code == 0xFF:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            raise ValueError("broken COBS encoding")
        out += data[i + 1:i + code]
        i += code
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""
    version: int = VERSION


class FrameError(ValueError):
    """A frame arrived damaged (bad COBS, CRC or length)."""


def encode_frame(frame: Frame) -> bytes:
    body = HEADER.pack(frame.version, frame.type, frame.seq, len(frame.payload)) + frame.payload
    body += struct.pack("<H", crc16(body))
    return cobs_encode(body) + DELIMITER


def decode_body(encoded: bytes) -> Frame:
    """One frame from its COBS bytes (delimiter excluded); FrameError when damaged."""
    try:
        body = cobs_decode(encoded)
    except ValueError as exc:
        raise FrameError(str(exc)) from None
    if len(body) < HEADER.size + 2:
        raise FrameError(f"frame of {len(body)} bytes is shorter than a header")
    (crc,) = struct.unpack_from("<H", body, len(body) - 2)
    if crc16(body[:-2]) != crc:
        raise FrameError("CRC mismatch")
    version, type_, seq, length = HEADER.unpack_from(body)
    if length != len(body) - HEADER.size - 2:
        raise FrameError(f"length field says {length}, frame holds {len(body) - HEADER.size - 2}")
    return Frame(type=type_, seq=seq, payload=body[HEADER.size:-2], version=version)


class FrameDecoder:
    """Splits a byte stream into frames; damaged ones are counted and skipped."""

    def __init__(self, max_frame: int = 1 << 16):
        self._buffer = bytearray()
        self.max_frame = max_frame
        self.errors = 0

    def feed(self, data: bytes) -> list[Frame]:
        frames = []
        self._buffer += data
        while True:
            end = self._buffer.find(0)
            if end < 0:
                if len(self._buffer) > self.max_frame:  # garbage with no delimiter: drop it
                    self._buffer.clear()
                    self.errors += 1
                return frames
            chunk = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            if not chunk:
                continue
            try:
                frames.append(decode_body(chunk))
            except FrameError:
                self.errors += 1
