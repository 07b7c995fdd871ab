"""Board definitions: complete, consistent with PlatformIO's view of them, and clear when wrong."""

import configparser
import json
import re

import pytest

from tinyml.boards import list_boards, load_board
from tinyml.errors import TinymlError
from tinyml.paths import HOME, PIO_PLATFORM_DIR

REQUIRED = {"emu-cortex-m4", "emu-cortex-m55", "emu-arduino-mega", "native",
            "esp32dev", "nano33ble", "rpipico", "megaatmega2560"}


def root_ini() -> configparser.ConfigParser:
    ini = configparser.ConfigParser(inline_comment_prefixes=(";",))
    ini.read(HOME / "platformio.ini")
    return ini


def test_required_boards_exist_with_every_field():
    boards = {b.id: b for b in list_boards()}
    assert REQUIRED <= set(boards)
    for b in boards.values():
        assert b.flash_bytes > 0 and b.ram_bytes > 0 and b.serial.baud > 0
        assert b.flash_method in ("qemu", "native", "platformio")
        assert b.upload_method in (None, "platformio", "avrdude"), b.id
        assert b.ports, b.id
        # as pyserial lists them (lower-case hex), or port discovery never matches
        assert all(re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{4}", usb_id) for usb_id in b.usb_ids), b.id


def test_emulated_board_limits_match_the_local_platform():
    """The local platform's board manifests repeat the limits PlatformIO checks: keep them equal."""
    for board in list_boards():
        if board.platformio["platform"] != "tinyml":
            continue
        manifest = json.loads((PIO_PLATFORM_DIR / "boards" / f"{board.id}.json").read_text())
        assert manifest["upload"]["maximum_size"] == board.flash_bytes, board.id
        assert manifest["upload"]["maximum_ram_size"] == board.ram_bytes, board.id
        assert manifest["name"] == board.name


def test_root_platformio_ini_has_an_env_per_board():
    ini = root_ini()
    for board in list_boards():
        section = f"env:{board.env}"
        assert ini.has_section(section), section
        assert ini.get(section, "board") == board.platformio["board"]
        platform = ini.get(section, "platform")
        if board.platformio["platform"] == "tinyml":
            assert platform == "symlink://pio-platform"
        else:
            assert platform == board.platformio["platform"]
            assert ini.get(section, "framework") == board.platformio["framework"]


def test_real_board_envs_are_marked_as_needing_internet():
    text = (HOME / "platformio.ini").read_text()
    real_block = text[text.index("NEED INTERNET"):]
    for board in list_boards():
        if board.needs_internet:
            assert f"[env:{board.env}]" in real_block


def test_unknown_board_error_names_the_fix():
    with pytest.raises(TinymlError) as err:
        load_board("emu-cortex-m7")
    message = str(err.value)
    assert "unknown board 'emu-cortex-m7'" in message
    assert "Did you mean 'emu-cortex-m4'?" in message
    assert "tinyml boards" in message


def test_broken_board_file_is_named(tmp_path):
    (tmp_path / "bad.toml").write_text('name = "x"\n')
    with pytest.raises(TinymlError, match=r"board file .*bad.toml is invalid.*boards/README.md"):
        load_board("bad", boards_dir=tmp_path)
