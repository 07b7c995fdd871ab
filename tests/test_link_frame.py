"""The framing in Python, and bit-for-bit agreement with the C implementation the firmware uses."""

from __future__ import annotations

import ctypes
import random
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyml.link import frame as fr
from tinyml.paths import TEMPLATES_DIR


def test_crc16_check_value():
    # The catalogued check value of CRC-16/CCITT-FALSE.
    assert fr.crc16(b"123456789") == 0x29B1


@pytest.mark.parametrize("data,encoded", [
    (b"", b"\x01"),
    (b"\x00", b"\x01\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255)) + b"\x01"),
])
def test_cobs_known_vectors(data, encoded):
    assert fr.cobs_encode(data) == encoded
    assert fr.cobs_decode(encoded) == data


@given(st.binary(max_size=1200))
def test_cobs_round_trip_has_no_zero(data):
    encoded = fr.cobs_encode(data)
    assert 0 not in encoded
    assert fr.cobs_decode(encoded) == data


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=600))
def test_frame_round_trip(msg_type, seq, payload):
    wire = fr.encode_frame(fr.Frame(msg_type, seq, payload))
    assert wire.endswith(b"\x00") and wire.count(0) == 1
    assert fr.FrameDecoder().feed(wire) == [fr.Frame(msg_type, seq, payload)]


@given(st.binary(min_size=1, max_size=64), st.integers(0, 10_000), st.integers(1, 255))
def test_any_single_byte_corruption_is_detected(payload, where, flip):
    wire = bytearray(fr.encode_frame(fr.Frame(fr.MSG_INFO, 7, payload)))
    i = where % (len(wire) - 1)  # keep the delimiter
    wire[i] ^= flip
    decoder = fr.FrameDecoder()
    frames = decoder.feed(bytes(wire))
    # A flipped byte may split the frame at a new zero, but never yields the original misread.
    assert all(f.payload != payload or f.seq != 7 for f in frames) or not frames
    assert decoder.errors >= 1


def test_decoder_resynchronises_after_garbage():
    good = fr.encode_frame(fr.Frame(fr.MSG_INFO | fr.REPLY, 3, b"board=x\n"))
    decoder = fr.FrameDecoder()
    frames = decoder.feed(b"\x13\x37garbage" + good[:5])  # garbage, then half a frame...
    frames += decoder.feed(b"\x00" + good)                 # ...cut short, then a whole one
    assert frames == [fr.Frame(fr.MSG_INFO | fr.REPLY, 3, b"board=x\n")]
    assert decoder.errors == 1


@pytest.fixture(scope="module")
def clink(tmp_path_factory):
    """tinyml_link.c from firmware_templates, compiled for the host as a shared library."""
    out = tmp_path_factory.mktemp("clink") / "libtinyml_link.so"
    src = TEMPLATES_DIR / "src"
    subprocess.run(["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", str(src), str(src / "tinyml_link.c"), "-o", str(out)],
                   check=True)
    return out


def _load(path):
    lib = ctypes.CDLL(str(path))
    lib.tm_encode.restype = ctypes.c_size_t
    lib.tm_encode.argtypes = [ctypes.c_uint8, ctypes.c_uint8, ctypes.c_char_p, ctypes.c_uint16,
                              ctypes.c_char_p, ctypes.c_size_t]
    lib.tm_crc16.restype = ctypes.c_uint16
    lib.tm_crc16.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint16]
    return lib


class Rx(ctypes.Structure):
    _fields_ = [("buf", ctypes.POINTER(ctypes.c_uint8)), ("capacity", ctypes.c_uint16),
                ("used", ctypes.c_uint16), ("overflow", ctypes.c_uint8)]


class CFrame(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint8), ("type", ctypes.c_uint8), ("seq", ctypes.c_uint8),
                ("length", ctypes.c_uint16), ("payload", ctypes.POINTER(ctypes.c_uint8))]


def c_feed_all(lib, data: bytes, capacity: int = 1024):
    """Feeds bytes to the C receiver; returns (frames, error codes)."""
    buf = (ctypes.c_uint8 * capacity)()
    rx = Rx()
    lib.tm_rx_init(ctypes.byref(rx), buf, capacity)
    frames, errors = [], []
    for byte in data:
        frame, err = CFrame(), ctypes.c_uint8(0)
        status = lib.tm_rx_feed(ctypes.byref(rx), byte, ctypes.byref(frame), ctypes.byref(err))
        if status == 1:
            frames.append((frame.type, frame.seq, bytes(frame.payload[:frame.length])))
        elif status == -1:
            errors.append(err.value)
    return frames, errors


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=700))
def test_c_encoder_matches_python_byte_for_byte(clink, msg_type, seq, payload):
    lib = _load(clink)
    out = ctypes.create_string_buffer(2048)
    n = lib.tm_encode(msg_type, seq, payload, len(payload), out, len(out))
    assert out.raw[:n] == fr.encode_frame(fr.Frame(msg_type, seq, payload))
    assert lib.tm_crc16(payload, len(payload), 0xFFFF) == fr.crc16(payload)


@pytest.mark.parametrize("payload", [b"", b"\0", b"\x01" * 247, b"\x01" * 248, b"\x01" * 249,
                                     b"\x01" * 502, b"\x01" * 247 + b"\0", b"\0" * 300,
                                     b"\x07" * 600 + b"\0"])
def test_c_encoder_blocks_that_end_at_254_bytes_a_zero_or_the_crc(clink, payload):
    """tm_send streams COBS blocks over the header, payload and CRC without a buffer: blocks of
    253, 254 and 255 nonzero bytes (502 ones: a header with no zero, then 249 of the payload
    fill a block), runs that cross from one part to the next, zeros at the end."""
    lib = _load(clink)
    out = ctypes.create_string_buffer(2048)
    n = lib.tm_encode(1, 1, payload, len(payload), out, len(out))
    assert out.raw[:n] == fr.encode_frame(fr.Frame(1, 1, payload))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 255), st.integers(0, 254), st.binary(max_size=700))
def test_c_decoder_reads_python_frames(clink, msg_type, seq, payload):
    lib = _load(clink)
    frames, errors = c_feed_all(lib, fr.encode_frame(fr.Frame(msg_type, seq, payload)))
    assert frames == [(msg_type, seq, payload)] and errors == []


def test_c_encoder_refuses_what_does_not_fit(clink):
    lib = _load(clink)
    out = ctypes.create_string_buffer(16)
    assert lib.tm_encode(1, 1, b"x" * 100, 100, out, len(out)) == 0


def test_c_decoder_reports_each_kind_of_damage(clink):
    lib = _load(clink)
    good = fr.encode_frame(fr.Frame(fr.MSG_INFO, 1, b"abc"))
    bad_crc = bytearray(good)
    bad_crc[3] ^= 0x40
    too_long = fr.encode_frame(fr.Frame(fr.MSG_INFO, 2, b"y" * 100))
    other_version = fr.encode_frame(fr.Frame(fr.MSG_INFO, 3, b"", version=9))
    frames, errors = c_feed_all(lib, bytes(bad_crc) + too_long + other_version + good, capacity=64)
    assert errors == [fr.ERR_CRC, fr.ERR_TOO_LONG, fr.ERR_VERSION]
    assert frames == [(fr.MSG_INFO, 1, b"abc")]  # and it is back in step for the good frame


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """tests/c/link_harness.c + tinyml_link.c, with AddressSanitizer and UBSan, aborting on error."""
    out = tmp_path_factory.mktemp("harness") / "link_harness"
    src = TEMPLATES_DIR / "src"
    subprocess.run(["gcc", "-std=c99", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-I", str(src),
                    str(src / "tinyml_link.c"), str(Path(__file__).parent / "c" / "link_harness.c"),
                    "-o", str(out)], check=True)
    return out


def damaged_stream(rng: random.Random, frames: int):
    """Valid frames with about 1 byte in 100 flipped, dropped or duplicated, plus bursts of noise.
    Returns the stream, every frame sent, and the frames that went out undamaged."""
    out = bytearray()
    sent, intact = [], []
    for _ in range(frames):
        payload = rng.randbytes(rng.randrange(0, 300))
        frame = (rng.randrange(256), rng.randrange(255), payload)
        sent.append(frame)
        original = fr.encode_frame(fr.Frame(*frame))
        wire = bytearray(original)
        for i in reversed(range(len(wire))):
            roll = rng.random()
            if roll < 0.003:
                wire[i] ^= rng.randrange(1, 256)
            elif roll < 0.006:
                del wire[i]
            elif roll < 0.009:
                wire.insert(i, wire[i])
        if rng.random() < 0.05:
            wire = bytearray(rng.randbytes(rng.randrange(1, 50))) + wire
        if wire == original and (not out or out[-1] == 0):  # a lost delimiter spoils the next one too
            intact.append(frame)
        out += wire
    return bytes(out), sent, intact


def test_c_and_python_decoders_agree_on_a_damaged_stream(harness):
    """2,000 frames through a noisy link: both decoders keep the same frames, and the C one
    (under ASan/UBSan) neither crashes nor reads out of bounds."""
    stream, sent, intact = damaged_stream(random.Random(1234), 2000)
    result = subprocess.run([str(harness)], input=stream, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    c_frames = [line.split(" ", 3) for line in result.stdout.decode().splitlines()
                if line.startswith("F ")]
    c_frames = [(int(t), int(s), bytes.fromhex(p)) for _, t, s, p in c_frames]
    py_frames = [(f.type, f.seq, f.payload) for f in fr.FrameDecoder().feed(stream)]
    assert c_frames == py_frames
    assert len(intact) > 400  # the stream really mixes good and damaged frames
    assert set(intact) <= set(c_frames)  # every undamaged frame got through...
    assert set(c_frames) <= set(sent)    # ...and no damaged one was misread as something else


def test_c_decoder_survives_pure_noise(harness):
    noise = random.Random(99).randbytes(200_000)
    result = subprocess.run([str(harness)], input=noise, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
