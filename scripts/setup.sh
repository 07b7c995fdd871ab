#!/usr/bin/env bash
# Installs everything tinyml needs on a fresh Debian machine, idempotently:
#   1. Debian packages (toolchains, QEMU, espeak-ng, festival and flite voices, Chromium), only those missing;
#   2. the Python virtual environment .venv with tinyml installed editable;
#   3. PlatformIO's offline pieces (tool-scons from PyPI's scons).
# Each step is skipped when already done, so `make demo` and `make test` can both call it.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
  qemu-system-arm qemu-system-misc gcc-avr avr-libc binutils-avr
  arduino-core-avr avrdude arduino-builder  # megaatmega2560: Debian's Arduino AVR core, its uploader, the IDE's builder (tests build the exported library with it)
  espeak-ng sox gcc
  festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts flite  # voices: tinyml/datasets/tts.py
  chromium  # the report's test opens it in headless Chromium
)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "tinyml needs Python 3.11 (found $("$PYTHON" --version)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.tinyml-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing tinyml and its pinned dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$stamp"
else
  say ".venv up to date"
fi

say "PlatformIO offline: $(.venv/bin/python -m tinyml.pio.offline)"
