"""`framework = arduino` on the tinyml platform: Debian's Arduino AVR core, offline.

The core (package arduino-core-avr: cores/arduino, variants/<variant>, platform.txt) is found
at the board's `build.arduino_core_dir`, or at $TINYML_ARDUINO_AVR_CORE (an Arduino IDE's copy,
say). Its .c/.cpp/.S files are compiled into libFrameworkArduino.a with the flags of the core's
platform.txt, so the linker takes only the members the firmware uses (Serial, not Serial1-3).
The firmware's own sources keep the platform's flags (-O2), as on the bare-metal AVR board.
"""

import os
import re
import sys
from os.path import isdir, isfile, join

Import("env")  # noqa: F821 - provided by SCons

board = env.BoardConfig()  # noqa: F821
if board.get("build.toolchain") != "avr":
    sys.stderr.write("tinyml platform: framework = arduino is the Arduino AVR core; board %s is "
                     "not an AVR board\n" % env.subst("$BOARD"))  # noqa: F821
    env.Exit(1)  # noqa: F821

core_root = os.environ.get("TINYML_ARDUINO_AVR_CORE") or board.get("build.arduino_core_dir")
core_dir = join(core_root, "cores", board.get("build.core", "arduino"))
variant_dir = join(core_root, "variants", board.get("build.variant"))
if not (isdir(core_dir) and isdir(variant_dir)):
    sys.stderr.write("tinyml platform: no Arduino AVR core at %s (cores/, variants/): install "
                     "Debian's arduino-core-avr (`make setup` does) or set "
                     "TINYML_ARDUINO_AVR_CORE\n" % core_root)
    env.Exit(1)  # noqa: F821


def core_version():
    """ARDUINO = 10807 for core 1.8.7 (libraries test ARDUINO >= 100 for Arduino.h)."""
    text = open(join(core_root, "platform.txt")).read() if isfile(join(core_root, "platform.txt")) else ""
    match = re.search(r"^version=(\d+)\.(\d+)\.(\d+)", text, re.M)
    if not match:
        return 10800
    major, minor, patch = (int(g) for g in match.groups())
    return major * 10000 + minor * 100 + patch


mcu = "-mmcu=%s" % board.get("build.mcu")
# platform.txt's compiler.cpp.flags without -flto: the linker map then still names each object,
# which is what the memory budget reads.
CXX_FLAGS = ["-std=gnu++11", "-fpermissive", "-fno-exceptions", "-fno-threadsafe-statics",
             "-Wno-error=narrowing"]
env.Append(  # noqa: F821
    CPPDEFINES=[("ARDUINO", core_version()), "ARDUINO_ARCH_AVR",
                "ARDUINO_%s" % board.get("build.board")],
    CPPPATH=[core_dir, variant_dir],
    CXXFLAGS=["-std=gnu++11", "-fno-exceptions", "-fno-threadsafe-statics"],
)

core_env = env.Clone()  # noqa: F821
core_env.Replace(
    CCFLAGS=["-Os", "-g", "-w", "-ffunction-sections", "-fdata-sections", mcu],
    CFLAGS=["-std=gnu11"],
    CXXFLAGS=CXX_FLAGS,
    ASFLAGS=[mcu, "-x", "assembler-with-cpp"],
)
# avr-gcc 5.4's <float.h> has no DECIMAL_DIG under -std=gnu++11, and WString.cpp needs it (only
# as the cap on the decimals of String(float, n)): 17, an IEEE double's value.
core_env.Append(CPPDEFINES=[("DECIMAL_DIG", 17)])
library = core_env.BuildLibrary(join("$BUILD_DIR", "FrameworkArduino"), core_dir)
env.Prepend(LIBS=[library])  # noqa: F821
