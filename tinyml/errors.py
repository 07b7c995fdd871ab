"""Errors a user can act on. The CLI prints them as one line, with no traceback."""

import sys


class TinymlError(Exception):
    """Something the user can fix; the message names the thing and the fix."""


class DeviceError(TinymlError):
    """The board did not answer, or answered something we could not read."""


class DeviceRefused(DeviceError):
    """The board answered with an error reply; `code` is its error code (tinyml.link.frame.ERR_*)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def warn(message: str) -> None:
    """One line on stderr for something tinyml found broken and repaired by itself, so that a run
    that redoes work says why."""
    print(f"Warning: {message}", file=sys.stderr, flush=True)
