"""tinyml's local PlatformIO platform: toolchains come from the system, nothing is downloaded."""

from platformio.public import PlatformBase


class TinymlPlatform(PlatformBase):
    pass
