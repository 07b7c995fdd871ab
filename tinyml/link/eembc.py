"""The host side of the MLPerf Tiny / EEMBC DUT text protocol, as the MLPerf Tiny runner speaks
it: commands end with '%', a reply is every line up to the one holding "m-ready" (text the
device does not know gets "e-[Unknown command: WORD]" and m-ready). Used by the tests to check
that an app firmware is a valid MLPerf Tiny device under test."""

from __future__ import annotations

import re
import time

import numpy as np
import serial

from tinyml.errors import DeviceError
from tinyml.link.ports import check_url

CHUNK_BYTES = 31  # the runner sends 31 bytes (62 hex digits) per "db" command


class EembcDut:
    def __init__(self, url: str, baud: int = 115200, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout
        check_url(url)
        self.port = serial.serial_for_url(url, baudrate=baud, timeout=0.05)
        self._pending = b""

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> "EembcDut":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def command(self, text: str) -> list[str]:
        """Sends one command; returns the reply's lines (CR and NUL dropped), m-ready excluded."""
        self.port.write(text.encode("ascii") + b"%")
        lines: list[str] = []
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\n" in self._pending:
                raw, self._pending = self._pending.split(b"\n", 1)
                line = raw.replace(b"\r", b"").replace(b"\x00", b"").decode("ascii", "replace")
                if "m-ready" in line:
                    return lines
                if line:
                    lines.append(line)
            if time.monotonic() > deadline:
                raise DeviceError(f"no m-ready from {self.url} within {self.timeout:g} s after "
                                  f"{text!r}; got {lines[-5:]}")
            self._pending += self.port.read(4096)

    def load(self, data: bytes) -> list[str]:
        lines = self.command(f"db load {len(data)}")
        for i in range(0, len(data), CHUNK_BYTES):
            lines += self.command("db " + data[i:i + CHUNK_BYTES].hex())
        return lines

    def infer(self, n: int = 1, warmups: int = 0) -> tuple[list[float], int, list[str]]:
        """(results, microseconds between the two m-lap-us lines, all lines) of `infer N W`."""
        lines = self.command(f"infer {n} {warmups}")
        laps = [int(m.group(1)) for m in map(re.compile(r"^m-lap-us-([0-9]+)$").match, lines) if m]
        results = [m.group(1) for m in map(re.compile(r"^m-results-\[([^]]+)\]$").match, lines) if m]
        if len(laps) != 2 or len(results) != 1:
            raise DeviceError(f"unexpected infer reply from {self.url}: {lines}")
        return [float(x) for x in results[0].split(",") if x.strip()], laps[1] - laps[0], lines


def dequantized(outputs: np.ndarray, scale: float, zero_point: int) -> list[float]:
    """What the DUT prints for int8 outputs: scale * (q - zp), rounded to 3 decimals."""
    values = np.float32(scale) * (outputs.astype(np.float32) - np.float32(zero_point))
    return [round(float(np.floor(v * np.float32(1000.0) + np.float32(0.5))) / 1000, 3) for v in values]
