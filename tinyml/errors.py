"""Errors a user can act on. The CLI prints them as one line, with no traceback."""


class TinymlError(Exception):
    """Something the user can fix; the message names the thing and the fix."""


class DeviceError(TinymlError):
    """The board did not answer, or answered something we could not read."""
