"""Reads a GNU ld map file: bytes each object file contributes to the linked firmware."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

# An input section line: " .text.name  0xADDRESS  0xSIZE  path/to/file.o" (the name may
# stand alone on the line before, when it is long).
_SECTION = re.compile(r"^ (\.[\w.$]+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+\.o\)?)\s*$")


def object_sizes(map_path: Path) -> dict[str, dict[str, int]]:
    """{object file name: {"text": bytes, "rodata": bytes, "data": bytes, "bss": bytes}} of
    what survived --gc-sections (the map's discarded sections are skipped). AVR's PROGMEM
    constants count as rodata."""
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
        if re.fullmatch(r"\.[\w.$]+", stripped) and line.startswith(" ."):
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
        if name.startswith(".progmem"):  # AVR: constants kept in flash (PROGMEM)
            name = ".rodata" + name
        kind = next((k for k in ("text", "rodata", "data", "bss") if name.startswith("." + k)), None)
        if kind:
            sizes[Path(match.group(4)).name][kind] += size
    return {obj: dict(kinds) for obj, kinds in sizes.items()}
