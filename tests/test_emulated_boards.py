"""The foundation loop, for real: render -> PlatformIO build -> emulator -> pyserial -> info.

Every emulated board runs its firmware in QEMU (or as a host process on a pty), and the
client talks to it through the same pyserial code a USB board would get.
"""

from __future__ import annotations

import pytest

from tinyml.errors import DeviceError
from tinyml.flash import start_board
from tinyml.link import frame as fr
from tinyml.link import open_device

from conftest import EMULATED_BOARDS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("board_id", EMULATED_BOARDS)
def test_board_answers_info_with_its_identity(board_id, skeleton_builds, no_orphans):
    built = skeleton_builds(board_id)
    assert built.firmware.is_file()
    if built.board.arch != "host":
        assert 0 < built.flash_used < built.board.flash_bytes
        assert 0 < built.ram_used < built.board.ram_bytes
    with start_board(built.board, built.firmware) as running:
        with open_device(running.url, baud=built.board.serial.baud) as device:
            info = device.info()
    if "cortexm" in built.board.ports:  # its start-up paints the stack: how deep it went
        assert 0 < int(info.pop("stack_peak")) <= built.board.memory.stack_bytes // 2
    assert info == {
        "protocol": "1",
        "firmware": "0.1.0",
        "board": board_id,
        "build": built.build_id,
        "app": "skeleton",
        "rx_buffer": str(built.board.serial.rx_buffer),
        "rx_errors": "0",
        "live": "0",
        "timer_unit": built.board.timer.unit,
        "timer_per_tick": built.board.timer.per_tick,
    }
    assert not running.alive()


@pytest.mark.parametrize("board_id", ["emu-arduino-mega", "native"])
def test_garbage_and_partial_frames_are_detected_not_misread(board_id, skeleton_builds, no_orphans):
    built = skeleton_builds(board_id)
    with start_board(built.board, built.firmware) as running:
        with open_device(running.url, timeout=1.0) as device:
            half = fr.encode_frame(fr.Frame(fr.MSG_INFO, 9))[:4]
            corrupt = bytearray(fr.encode_frame(fr.Frame(fr.MSG_INFO, 10, b"pad")))
            corrupt[2] ^= 0x10
            device.port.write(b"\x55\xaa\x01\x00" + half + b"\x00" + bytes(corrupt))
            info = device.info()
            assert info["board"] == board_id
            # three damaged frames: the noise, the cut one and the corrupted one
            assert info["rx_errors"] == "3"


def test_oversized_request_is_refused_with_a_clear_error(skeleton_builds, no_orphans):
    built = skeleton_builds("emu-arduino-mega")  # 256-byte receive buffer
    with start_board(built.board, built.firmware) as running:
        with open_device(running.url, timeout=1.0) as device:
            with pytest.raises(DeviceError, match=r"longer than the receive buffer.*send it in chunks"):
                device.request(fr.MSG_INFO, b"x" * 400)
            with pytest.raises(DeviceError, match="not implemented by this firmware"):
                device.request(0x42)
            assert device.info()["board"] == "emu-arduino-mega"  # still in step afterwards


def test_reconnecting_to_a_running_emulator_works(skeleton_builds, no_orphans):
    built = skeleton_builds("emu-cortex-m4")
    with start_board(built.board, built.firmware) as running:
        for _ in range(3):
            with open_device(running.url) as device:
                assert device.info()["build"] == built.build_id


def test_emulator_stopped_mid_session_is_reported(skeleton_builds, no_orphans):
    built = skeleton_builds("emu-cortex-m4")
    with start_board(built.board, built.firmware) as running:
        device = open_device(running.url, timeout=0.5, retries=1)
        assert device.info()["board"] == "emu-cortex-m4"
        running.stop()
        with pytest.raises(DeviceError, match=r"lost the connection|no answer"):
            device.info()
        device.close()
