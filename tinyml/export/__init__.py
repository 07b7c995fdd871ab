"""Export a training run for use outside tinyml's firmware: as an Arduino library zip or a
PlatformIO library folder, for the user's own sketch.

    from tinyml.export import arduino_library
    library = arduino_library("runs/vibration-20261201-101500", "TinymlVibration.zip")
    print(library.name, library.ram_bytes)
"""

from tinyml.export.library import Library, arduino_library, platformio_library

__all__ = ["Library", "arduino_library", "platformio_library"]
