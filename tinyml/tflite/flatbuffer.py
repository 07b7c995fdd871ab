"""A bounds-checked reader for the FlatBuffers binary format, just enough for .tflite files.

Generated FlatBuffers code trusts its input; a truncated or corrupt model would then fail deep
inside with an IndexError or read garbage. Here every offset is checked against the buffer,
so a damaged file is a ModelError that says where it broke.
"""

from __future__ import annotations

import struct


class ModelError(ValueError):
    """The model file is malformed or not something tinyml can compile."""


class Table:
    """One FlatBuffers table: fields are read by their index in the schema."""

    __slots__ = ("buf", "pos", "_vtable", "_vsize", "what")

    def __init__(self, buf: bytes, pos: int, what: str):
        self.buf = buf
        self.pos = pos
        self.what = what
        _check(buf, pos, 4, what)
        (soffset,) = struct.unpack_from("<i", buf, pos)
        vtable = pos - soffset
        _check(buf, vtable, 4, f"{what} vtable")
        vsize, _ = struct.unpack_from("<HH", buf, vtable)
        if vsize < 4 or vsize % 2:
            raise ModelError(f"{what}: invalid vtable size {vsize}")
        _check(buf, vtable, vsize, f"{what} vtable")
        self._vtable = vtable
        self._vsize = vsize

    def _field(self, index: int) -> int:
        """Absolute position of field `index`, or 0 when it is absent."""
        slot = 4 + 2 * index
        if slot + 2 > self._vsize:
            return 0
        (off,) = struct.unpack_from("<H", self.buf, self._vtable + slot)
        return self.pos + off if off else 0

    def scalar(self, index: int, fmt: str, default=0):
        at = self._field(index)
        if not at:
            return default
        _check(self.buf, at, struct.calcsize(fmt), f"{self.what} field {index}")
        return struct.unpack_from("<" + fmt, self.buf, at)[0]

    def _target(self, index: int) -> int:
        at = self._field(index)
        if not at:
            return 0
        _check(self.buf, at, 4, f"{self.what} field {index}")
        (rel,) = struct.unpack_from("<I", self.buf, at)
        target = at + rel
        _check(self.buf, target, 4, f"{self.what} field {index}")
        return target

    def table(self, index: int, what: str) -> "Table | None":
        target = self._target(index)
        return Table(self.buf, target, what) if target else None

    def vector(self, index: int, fmt: str) -> tuple:
        """A vector of scalars (fmt one struct character), () when absent."""
        target = self._target(index)
        if not target:
            return ()
        (n,) = struct.unpack_from("<I", self.buf, target)
        size = struct.calcsize(fmt)
        _check(self.buf, target + 4, n * size, f"{self.what} field {index}")
        return struct.unpack_from(f"<{n}{fmt}", self.buf, target + 4)

    def bytes_view(self, index: int) -> memoryview:
        """A [ubyte] vector without copying it."""
        target = self._target(index)
        if not target:
            return memoryview(b"")
        (n,) = struct.unpack_from("<I", self.buf, target)
        _check(self.buf, target + 4, n, f"{self.what} field {index}")
        return memoryview(self.buf)[target + 4:target + 4 + n]

    def tables(self, index: int, what: str) -> list["Table"]:
        target = self._target(index)
        if not target:
            return []
        (n,) = struct.unpack_from("<I", self.buf, target)
        _check(self.buf, target + 4, 4 * n, f"{self.what} field {index}")
        out = []
        for i in range(n):
            at = target + 4 + 4 * i
            (rel,) = struct.unpack_from("<I", self.buf, at)
            out.append(Table(self.buf, at + rel, f"{what}[{i}]"))
        return out

    def string(self, index: int) -> str:
        data = self.bytes_view(index)
        return bytes(data).decode("utf-8", "replace")


def _check(buf: bytes, pos: int, size: int, what: str) -> None:
    if pos < 0 or size < 0 or pos + size > len(buf):
        raise ModelError(f"{what} points outside the file (byte {pos} of {len(buf)}): "
                         "the model is truncated or corrupt")


def root(buf: bytes, identifier: bytes | None = None) -> Table:
    if len(buf) < 8:
        raise ModelError(f"file of {len(buf)} bytes is too short to be a FlatBuffer")
    if identifier is not None and buf[4:8] != identifier:
        raise ModelError(f"file identifier is {bytes(buf[4:8])!r}, expected {identifier!r}: "
                         "not a TensorFlow Lite model")
    (pos,) = struct.unpack_from("<I", buf, 0)
    return Table(buf, pos, "model")
