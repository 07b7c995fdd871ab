"""Rendering: complete PlatformIO projects for every board, deterministic build ids."""

import configparser
import re

import pytest

from tinyml.boards import load_board
from tinyml.firmware.render import render_project

SHARED = {"tinyml_link.c", "tinyml_link.h", "tinyml_device.c", "tinyml_device.h",
          "tinyml_port.h", "tinyml_config.h"}


def env_of(project, board):
    ini = configparser.ConfigParser()
    ini.read(project / "platformio.ini")
    return ini[f"env:{board.env}"]


@pytest.mark.parametrize("board_id,platform,pio_board", [
    ("esp32dev", "espressif32", "esp32dev"),
    ("nano33ble", "nordicnrf52", "nano33ble"),
    ("rpipico", "raspberrypi", "pico"),
])
def test_real_board_projects_are_complete(tmp_path, board_id, platform, pio_board):
    board = load_board(board_id)
    render_project(board, tmp_path)
    files = {p.name for p in (tmp_path / "src").iterdir()}
    assert SHARED | {"port_arduino.cpp"} <= files
    assert "tinyml_main.c" not in files  # the Arduino core owns main()
    assert "startup_cortexm.c" not in files
    env = env_of(tmp_path, board)
    assert (env["platform"], env["board"], env["framework"]) == (platform, pio_board, "arduino")
    assert env["monitor_speed"] == "115200"
    assert "Needs internet" in (tmp_path / "platformio.ini").read_text()
    config = (tmp_path / "src" / "tinyml_config.h").read_text()
    assert f'#define TINYML_BOARD_ID "{board_id}"' in config
    # Calibration survives power-off there: the flash store is compiled in and switched on.
    assert {"port_arduino_flash.cpp", "tinyml_store.c"} <= files
    assert re.search(r"#define TINYML_STORE\b", config) and board.store == "flash"


def test_emulated_project_uses_the_local_platform_and_linker_budget(tmp_path):
    board = load_board("emu-cortex-m4")
    render_project(board, tmp_path)
    env = env_of(tmp_path, board)
    assert env["platform"].startswith("symlink://") and env["platform"].endswith("pio-platform")
    link = (tmp_path / "src" / "link.ld").read_text()
    assert "ORIGIN = 0x00000000, LENGTH = 1048576" in link
    assert "ORIGIN = 0x20000000, LENGTH = 262144" in link
    config = (tmp_path / "src" / "tinyml_config.h").read_text()
    assert "#define TINYML_UART_BASE 0x40004000u" in config


def test_build_id_is_a_hash_of_the_sources(tmp_path):
    board = load_board("native")
    first = render_project(board, tmp_path / "a")
    second = render_project(board, tmp_path / "b")
    other = render_project(load_board("emu-cortex-m4"), tmp_path / "c")
    assert first == second and len(first) == 12
    assert first != other
    assert f'"{first}"' in (tmp_path / "a" / "src" / "tinyml_config.h").read_text()


def test_only_boards_with_a_store_port_keep_calibration_through_power_off(tmp_path):
    """A store port defines TINYML_STORE; emulated boards keep calibration in RAM."""
    stores = {b: load_board(b).store for b in ("megaatmega2560", "esp32dev", "nano33ble", "rpipico",
                                                "emu-cortex-m4", "emu-arduino-mega", "native")}
    assert stores == {"megaatmega2560": "eeprom", "esp32dev": "flash", "nano33ble": "flash", "rpipico": "flash",
                      "emu-cortex-m4": None, "emu-arduino-mega": None, "native": None}
    for board_id, store in stores.items():
        assert ("TINYML_STORE" in load_board(board_id).defines) == (store is not None), board_id
    render_project(load_board("emu-cortex-m4"), tmp_path)
    assert "TINYML_STORE" not in (tmp_path / "src" / "tinyml_config.h").read_text()
