"""Reads a GNU ld map file: bytes each object file contributes to the linked firmware."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

# An input section line: " .text.name  0xADDRESS  0xSIZE  path/to/file.o" (the name may
# stand alone on the line before, when it is long; avr-libc's names have dashes:
# .text.avr-libc.fplib). "linker stubs" are AVR's trampolines; COMMON is uninitialised data.
_NAME = r"\.[\w.$-]+"
_SECTION = re.compile(
    rf"^ ({_NAME}|COMMON)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+\.o\)?|linker stubs)\s*$")
# Code outside .text*: vector tables, AVR's start-up and constructor sections, trampolines.
_CODE = (".text", ".isr_vector", ".vectors", ".init", ".fini", ".ctors", ".dtors", ".trampolines",
         ".jumptables", ".lowtext")
# PlatformIO's Arduino builds name objects as the Arduino IDE does: model.c.o, main.cpp.o.
_SOURCE_SUFFIX = re.compile(r"\.(?:c|cc|cpp|cxx|S|s)\.o(\)?)$")


def _kind(section: str, rodata_in_ram: bool) -> str | None:
    if section == "COMMON" or section.startswith((".bss", ".noinit")):
        return "bss"
    if section.startswith(".progmem"):  # AVR: constants kept in flash (PROGMEM)
        return "rodata"
    if section.startswith(".rodata"):
        return "data" if rodata_in_ram else "rodata"
    if section.startswith(".data"):
        return "data"
    if section.startswith(_CODE):
        return "text"
    return None


def object_name(path: str) -> str:
    """The object's file name, as `model.o` or `libc.a(memcpy.o)` whatever the build named it."""
    return _SOURCE_SUFFIX.sub(r".o\1", Path(path).name)


def object_sizes(map_path: Path, rodata_in_ram: bool = False) -> dict[str, dict[str, int]]:
    """{object file name: {"text": bytes, "rodata": bytes, "data": bytes, "bss": bytes}} of
    what survived --gc-sections (the map's discarded sections are skipped). AVR's PROGMEM
    constants count as rodata. rodata_in_ram: the linker script copies .rodata into RAM with
    .data (AVR's does), so it counts as data."""
    sizes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    pending = None
    in_discarded = False
    for line in Path(map_path).read_text().splitlines():
        if line.startswith("Discarded input sections"):
            in_discarded = True
            continue
        if line.startswith("Memory Configuration") or line.startswith("Linker script and memory map"):
            in_discarded = False
            continue
        if in_discarded:
            continue
        stripped = line.strip()
        if re.fullmatch(_NAME, stripped) and line.startswith(" ."):
            pending = stripped
            continue
        match = _SECTION.match(line)
        if not match:
            pending = None
            continue
        name = match.group(1) or pending
        pending = None
        size = int(match.group(3), 16)
        if not name or size == 0:
            continue
        kind = _kind(name, rodata_in_ram)
        if kind:
            sizes[object_name(match.group(4))][kind] += size
    return {obj: dict(kinds) for obj, kinds in sizes.items()}
