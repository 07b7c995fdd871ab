"""SCons builder of the tinyml platform.

Compiles with the system's toolchains (Debian's arm-none-eabi-gcc, avr-gcc, host gcc) chosen
by the board's `build.toolchain`, and turns PlatformIO's `upload` target into
`tinyml flash`, which starts the board's emulator (or the host process) on the new firmware,
or, for a real AVR board given `--upload-port`, writes it with avrdude. `framework = arduino`
is builder/frameworks/arduino.py (Debian's Arduino AVR core).
"""

from os.path import join

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()
toolchain = board.get("build.toolchain")

COMMON_FLAGS = ["-O2", "-g", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra"]

if toolchain == "arm-none-eabi":
    cpu = board.get("build.cpu")
    machine = ["-mcpu=%s" % cpu, "-mthumb"]
    fpu = board.get("build.fpu", "")
    if fpu:
        machine += ["-mfloat-abi=hard", "-mfpu=%s" % fpu]
    env.Replace(
        AR="arm-none-eabi-gcc-ar", AS="arm-none-eabi-as", CC="arm-none-eabi-gcc",
        CXX="arm-none-eabi-g++", GDB="arm-none-eabi-gdb", OBJCOPY="arm-none-eabi-objcopy",
        RANLIB="arm-none-eabi-gcc-ranlib", SIZETOOL="arm-none-eabi-size",
        PROGSUFFIX=".elf",
    )
    env.Append(
        ASFLAGS=machine,
        CCFLAGS=COMMON_FLAGS + machine,
        CFLAGS=["-std=c99"],
        LINKFLAGS=machine + ["-nostartfiles", "-Wl,--gc-sections", "--specs=nano.specs",
                             "-Wl,-Map,%s" % join("$BUILD_DIR", "firmware.map"),
                             "--specs=nosys.specs", "-Wl,-T,%s" % join("$PROJECT_SRC_DIR", "link.ld")],
        LIBS=["m", "c", "gcc"],
    )
elif toolchain == "avr":
    machine = ["-mmcu=%s" % board.get("build.mcu")]
    env.Replace(
        AR="avr-gcc-ar", AS="avr-as", CC="avr-gcc", CXX="avr-g++", OBJCOPY="avr-objcopy",
        RANLIB="avr-gcc-ranlib", SIZETOOL="avr-size", PROGSUFFIX=".elf",
    )
    env.Append(
        CCFLAGS=COMMON_FLAGS + machine,
        CFLAGS=["-std=c99"],
        CPPDEFINES=[("F_CPU", "$BOARD_F_CPU")],
        LINKFLAGS=machine + ["-Wl,--gc-sections", "-Wl,-Map,%s" % join("$BUILD_DIR", "firmware.map")],
        LIBS=["m"],
    )
elif toolchain == "host":
    env.Replace(CC="gcc", CXX="g++", AR="ar", RANLIB="ranlib", SIZETOOL="size", PROGSUFFIX="")
    env.Append(CCFLAGS=["-O2", "-g", "-Wall", "-Wextra"], CFLAGS=["-std=c99"],
               LINKFLAGS=["-Wl,-Map,%s" % join("$BUILD_DIR", "program.map")], LIBS=["m"])
else:
    raise SystemExit("tinyml platform: board %s has unknown build.toolchain %r"
                     % (env.subst("$BOARD"), toolchain))

env.Replace(
    SIZEPROGREGEXP=r"^(?:\.isr_vector|\.text|\.rodata|\.data|\.ARM\.exidx)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.noinit|\.stack)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)
if toolchain == "host":
    # A host process has no fixed budget to check; PlatformIO's size check would misread ELF sections.
    env.Replace(SIZETOOL=None)

env.Replace(PROGNAME="firmware" if toolchain != "host" else "program")
target_elf = env.BuildProgram()
targets = [target_elf]
if toolchain == "avr":  # what avrdude writes: flash only, as Intel HEX
    targets.append(env.Command(
        join("$BUILD_DIR", "firmware.hex"), target_elf,
        env.VerboseAction("$OBJCOPY -O ihex -R .eeprom $SOURCE $TARGET", "Building $TARGET")))
target_size = env.AddPlatformTarget(
    "size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"),
    "Program Size", "Print the size of the firmware's sections",
)

# `pio run -t upload`: the same code path as `tinyml flash`, so emulators start one way only.
upload_port = env.subst("$UPLOAD_PORT")
upload_cmd = '"$PYTHONEXE" -m tinyml flash --board "$BOARD" --firmware "$SOURCE"'
if upload_port:
    upload_cmd += ' --port "%s"' % upload_port
AlwaysBuild(env.AddPlatformTarget(
    "upload", target_elf, env.VerboseAction(upload_cmd, "Starting $BOARD with $SOURCE"),
    "Upload", "Start the emulator (or host process) on the firmware, Ctrl-C stops it; with "
    "--upload-port, a real AVR board is written with avrdude",
))

Default(targets + [target_size])
