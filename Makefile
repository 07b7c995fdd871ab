# The two commands of the README. Both install what they need first (scripts/setup.sh).
.PHONY: setup demo test benchmarks

# PlatformIO: no telemetry, no update checks (there is no network to reach).
export PLATFORMIO_SETTING_ENABLE_TELEMETRY = No
export PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL = 3650
export PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD = 0

setup:
	@scripts/setup.sh

# The main job on the embedded default: synthetic keywords, emulated Cortex-M4, report at the end.
demo: setup
	.venv/bin/tinyml run kws --board emu-cortex-m4

test: setup
	.venv/bin/python -m pytest $(PYTEST_ARGS)
