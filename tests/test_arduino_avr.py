"""The Arduino Mega 2560 (`megaatmega2560`) on the real Arduino AVR core.

The firmware is built with `framework = arduino` from Debian's arduino-core-avr 1.8.7 by the
local PlatformIO platform, runs in QEMU's mega2560 machine (the same ATmega2560) and is
validated there against TFLite Micro, as emu-arduino-mega is with the bare-metal port.

Writing a real Mega cannot run here: no Mega is plugged into this machine (there is no
/dev/ttyACM* or /dev/ttyUSB* to write), and avrdude needs the board's stk500v2 bootloader to
answer. So the upload is tested as far as it goes without one: avrdude's exact command line,
`--dry-run`, and real avrdude failing on a device that is not a board. Port discovery by USB id
is tested on a fixture of what pyserial's `serial.tools.list_ports.comports()` returns for a
plugged-in Mega or clone: a mock, allowed here only because no board is plugged in.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinyml.boards import load_board
from tinyml.errors import TinymlError
from tinyml.firmware.mapfile import object_sizes
from tinyml.flash import start_board
from tinyml.flash.avrdude import avrdude_command, run_avrdude
from tinyml.link import open_device
from tinyml.link.ports import find_port, list_ports
from tinyml.validate import validate

from conftest import REPO, emulator_pids, one_line_error, serial_url_from

TINYML = [sys.executable, "-m", "tinyml"]
CORE = Path("/usr/share/arduino/hardware/arduino/avr")  # Debian's arduino-core-avr
MEGA = "megaatmega2560"
# The map lists merged string constants (.rodata.str1.1) at their size before merging: a few
# bytes more than the linker placed.
MERGED_STRINGS_SLACK = 8


def tinyml(*args, cwd=None, timeout=120):
    """The command as a user runs it, in its own process."""
    return subprocess.run([*TINYML, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def tinyml_here(*args):
    """The same command in this process (no 3 s of start-up): output, and the TinymlError the
    CLI would print as its one line, if any."""
    from click.testing import CliRunner

    from tinyml.cli import cli

    result = CliRunner().invoke(cli, list(args))
    error = result.exception if isinstance(result.exception, TinymlError) else None
    if result.exception is not None and error is None:
        raise result.exception
    return result.output, (str(error) if error else None)




def boards_txt() -> dict[str, str]:
    entries = {}
    for line in (CORE / "boards.txt").read_text().splitlines():
        key, eq, value = line.partition("=")
        if eq and key.startswith("mega."):
            entries[key] = value
    return entries


@pytest.fixture(scope="module")
def mega():
    return load_board(MEGA)


@pytest.fixture(scope="module")
def vibration_builds(quick_vibration_run, tmp_path_factory):
    """The vibration app of the quick run for both Mega ports: Arduino core and bare metal."""
    from tinyml.firmware import build_app

    root = tmp_path_factory.mktemp("mega-vibration")
    return {board_id: build_app("vibration", quick_vibration_run.folder, load_board(board_id),
                                root / board_id)
            for board_id in (MEGA, "emu-arduino-mega")}


def test_board_file_is_the_arduino_cores_mega_2560(mega):
    """Limits, clock, upload and USB ids as the installed core's boards.txt has them."""
    txt = boards_txt()
    cpu = "mega.menu.cpu.atmega2560."
    assert mega.flash_bytes == int(txt[cpu + "upload.maximum_size"]) == 253_952
    assert mega.ram_bytes == int(txt["mega.upload.maximum_data_size"]) == 8_192
    assert f"{mega.clock_hz}L" == txt["mega.build.f_cpu"]
    assert mega.flash["avrdude"] == {"part": txt[cpu + "build.mcu"],
                                     "programmer": txt[cpu + "upload.protocol"],
                                     "baud": int(txt[cpu + "upload.speed"])}
    for k in range(6):
        assert f"{int(txt[f'mega.vid.{k}'], 16):04x}:{int(txt[f'mega.pid.{k}'], 16):04x}" in mega.usb_ids
    assert "1a86:7523" in mega.usb_ids  # the clones' CH340
    assert mega.platformio["framework"] == "arduino" and mega.ports == ("arduino", "avr_timer1", "avr_eeprom")
    assert mega.flash_method == "qemu" and mega.upload_method == "avrdude"


@pytest.mark.slow
def test_skeleton_built_on_the_arduino_core_answers_in_qemu(mega, skeleton_builds, no_orphans):
    built = skeleton_builds(MEGA)
    objects = set(object_sizes(built.firmware.with_name("firmware.map")))
    core = {"libFrameworkArduino.a(main.o)", "libFrameworkArduino.a(wiring.o)",
            "libFrameworkArduino.a(HardwareSerial.o)", "libFrameworkArduino.a(HardwareSerial0.o)"}
    assert core <= objects  # the core's main(), init() and Serial are what runs
    assert "libFrameworkArduino.a(HardwareSerial1.o)" not in objects  # a library: Serial1 not taken
    assert {"port_arduino.o", "timer_avr_timer1.o"} <= objects
    assert not {"port_avr_usart.o", "tinyml_main.o"} & objects  # not the bare-metal port
    assert built.firmware.with_suffix(".hex").read_text().startswith(":")  # what avrdude writes
    with start_board(mega, built.firmware) as running:
        with open_device(running.url) as device:
            info = device.info()
    assert info == {"protocol": "1", "firmware": "0.1.0", "board": MEGA, "build": built.build_id,
                    "app": "skeleton", "rx_buffer": "256", "rx_errors": "0", "live": "0",
                    "timer_unit": "us", "timer_per_tick": "0.5"}


@pytest.mark.slow
def test_tinyml_validate_on_the_arduino_core_is_identical_to_tflm(quick_vibration_run, tmp_path,
                                                                  no_orphans):
    """`tinyml validate` builds the firmware with the core, starts QEMU and checks every byte."""
    out = tmp_path / "report"
    done = tinyml("validate", "--run", str(quick_vibration_run.folder), "--board", MEGA,
                  "--limit", "40", "--out", str(out), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"40 samples on {MEGA} (features in)" in done.stdout
    assert "100.00% identical to TFLM (0 differ)" in done.stdout
    assert "note:" not in done.stdout  # no emulator restarted, no samples resent from scratch
    assert (out / "firmware" / ".pio" / "build" / MEGA / "libFrameworkArduino.a").is_file()


@pytest.mark.slow
def test_raw_windows_through_the_devices_front_end_are_identical_to_tflm(
        quick_vibration_run, vibration_builds, mega, tmp_path, no_orphans):
    """Raw sensor windows are 7 load frames of 254 bytes each: the core's Serial ring has to
    hold them while live mode keeps the device busy (see the board file's build_flags)."""
    result = validate(quick_vibration_run.folder, mega, limit=12, raw=True, out_dir=tmp_path,
                      firmware=vibration_builds[MEGA].built.firmware, progress=False)
    summary = result.summary
    assert summary["samples"] == 12 and summary["input"] == "raw"
    assert summary["agreement"] == 1.0 and summary["mismatched_samples"] == 0
    assert summary["link"]["emulator_restarts"] == 0 and summary["link"]["events"] == []
    assert summary["latency"]["features"]["median"] > 0  # Timer1 counts in QEMU


@pytest.mark.slow
def test_memory_budget_counts_the_arduino_core(vibration_builds):
    arduino, bare = vibration_builds[MEGA], vibration_builds["emu-arduino-mega"]
    for build in (arduino, bare):
        sections, budget = build.built.sections, build.budget
        assert budget.measured and budget.fits()
        # every byte the linker placed: avr-size's flash (.text + .data) and RAM (.data + .bss)
        assert 0 <= budget.flash - (sections[".text"] + sections[".data"]) <= MERGED_STRINGS_SLACK
        assert 0 <= budget.ram - (sections[".data"] + sections[".bss"]
                                  + build.built.board.memory.stack_bytes) <= MERGED_STRINGS_SLACK
    rows = {part: (flash, ram) for part, flash, ram in arduino.budget.rows}
    bare_rows = {part: (flash, ram) for part, flash, ram in bare.budget.rows}
    core_flash, core_ram = rows["Arduino core"]
    assert core_flash > 1_000  # main(), init(), HardwareSerial, Print
    assert core_ram > 512 + 64  # Serial's receive ring (512 B, build_flags) and transmit ring
    assert "Arduino core" not in bare_rows
    for part in ("model weights", "model code", "model arena", "front-end", "replay recording"):
        assert rows[part] == bare_rows[part], part  # the same engine, compiled the same way
    # The app keeps its calibration in the real Mega's EEPROM (ports/avr_eeprom): a little more
    # code, no more RAM than the emulated Mega, which keeps it in RAM.
    assert rows["app"][1] == bare_rows["app"][1] and 0 < rows["app"][0] - bare_rows["app"][0] < 600
    estimate = {part: (flash, ram) for part, flash, ram in arduino.estimate.rows}
    assert estimate["Arduino core"][0] >= core_flash and estimate["Arduino core"][1] >= core_ram
    assert "  Arduino core " in arduino.budget.table()


@pytest.mark.slow
def test_flash_without_a_port_starts_the_firmware_in_qemu(skeleton_builds, no_orphans):
    built = skeleton_builds(MEGA)
    before = emulator_pids()
    process = subprocess.Popen([*TINYML, "flash", "--board", MEGA, "--firmware", str(built.firmware)],
                               stdout=subprocess.PIPE, text=True)
    try:
        url = serial_url_from(process)
        assert url and url.startswith("socket://127.0.0.1:")
        with open_device(url) as device:
            assert device.info()["build"] == built.build_id
        assert len(emulator_pids() - before) == 1
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
        assert process.returncode == 0 and f"Stopped {MEGA}." in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_avrdude_command_is_the_arduino_ides_for_the_mega(mega):
    command = avrdude_command(mega, Path("/b/firmware.hex"), "/dev/ttyACM0")
    assert command == ["avrdude", "-p", "atmega2560", "-c", "wiring", "-b", "115200", "-D",
                       "-P", "/dev/ttyACM0", "-U", "flash:w:/b/firmware.hex:i"]
    # the flags of the core's own avrdude recipe (platform.txt)
    recipe = re.search(r"^tools\.avrdude\.upload\.pattern=(.*)$", (CORE / "platform.txt").read_text(), re.M)
    for flag in ("-p{build.mcu}", "-c{upload.protocol}", "-b{upload.speed}", " -D ", "-P{serial.port}",
                 "-Uflash:w:{build.path}/{build.project_name}.hex:i"):
        assert flag in recipe.group(1).replace('"', ""), flag


def test_flash_dry_run_prints_the_avrdude_command_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert not Path("/dev/ttyACM7").exists()
    out, error = tinyml_here("flash", "--board", MEGA, "--port", "/dev/ttyACM7", "--dry-run")
    assert error is None
    hex_file = tmp_path / "build" / f"skeleton-{MEGA}" / ".pio" / "build" / MEGA / "firmware.hex"
    assert (f"avrdude -p atmega2560 -c wiring -b 115200 -D -P /dev/ttyACM7 -U flash:w:{hex_file}:i"
            in out.splitlines())
    assert not (tmp_path / "build").exists()  # nothing was built
    out, error = tinyml_here("flash", "--board", MEGA, "--port", "/dev/ttyACM7", "--dry-run",
                             "--firmware", "fw/firmware.elf")
    assert error is None and out.splitlines()[-1] == (
        "avrdude -p atmega2560 -c wiring -b 115200 -D -P /dev/ttyACM7 -U flash:w:fw/firmware.hex:i")
    _, error = tinyml_here("flash", "--board", MEGA, "--dry-run")
    assert error.startswith("--dry-run prints the command that writes a real board: add the serial "
                            "port") and "\n" not in error


def test_flash_to_a_port_that_is_not_there_fails_before_building(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, error = tinyml_here("flash", "--board", MEGA, "--port", "/dev/ttyACM7")
    assert error.startswith("no serial port /dev/ttyACM7 on this machine") and "\n" not in error
    assert not (tmp_path / "build").exists()


@pytest.fixture
def empty_hex(tmp_path) -> Path:
    path = tmp_path / "firmware.hex"
    path.write_text(":00000001FF\n")  # an Intel HEX with only its end record
    return path


def test_avrdude_failing_on_a_device_that_is_not_a_board_is_one_line(empty_hex):
    """Real avrdude on /dev/null: it cannot set a serial line there and gives up at once."""
    done = tinyml("flash", "--board", MEGA, "--firmware", str(empty_hex), "--port", "/dev/null")
    assert f"avrdude -p atmega2560 -c wiring -b 115200 -D -P /dev/null -U flash:w:{empty_hex}:i" \
        in done.stdout.splitlines()  # the exact command, printed before it runs
    line = one_line_error(done)
    assert ("avrdude could not write the Arduino Mega 2560 on /dev/null (exit 1: avrdude error: "
            "unable to open programmer wiring on port /dev/null)") in line
    assert "`tinyml ports`" in line and "reset button" in line


@pytest.mark.slow
def test_upload_of_a_project_builds_it_offline_then_runs_avrdude(mega, skeleton_builds, capsys):
    """What `tinyml validate --port P --flash` does with the project it renders."""
    from tinyml.flash import upload

    project = skeleton_builds(MEGA).project_dir
    with pytest.raises(TinymlError, match=r"^avrdude could not write the Arduino Mega 2560 on /dev/null"):
        upload(mega, project, "/dev/null")
    hex_file = project / ".pio" / "build" / MEGA / "firmware.hex"
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"avrdude -p atmega2560 -c wiring -b 115200 -D -P /dev/null -U flash:w:{hex_file}:i")


def test_avrdude_past_its_timeout_is_stopped_and_reaped(mega, empty_hex):
    """A pseudo-terminal never answers avrdude's sign-on (avrdude would retry for 30 s)."""
    controller, device = os.openpty()
    name = os.ttyname(device)
    try:
        start = time.monotonic()
        with pytest.raises(TinymlError) as err:
            run_avrdude(mega, empty_hex, name, timeout=1.5, echo=lambda line: None)
        assert time.monotonic() - start < 6
    finally:
        os.close(controller)
        os.close(device)
    assert str(err.value).startswith(f"avrdude did not finish within 1.5 s on {name} and was stopped: "
                                     f"check that {name} is the Arduino Mega 2560 (`tinyml ports`)")
    left = subprocess.run(["pgrep", "-f", f"avrdude .*-P {name} "], capture_output=True, text=True)
    assert left.stdout == ""


def test_missing_avrdude_names_the_package(mega, empty_hex, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without avrdude
    with pytest.raises(TinymlError, match=r"^avrdude is not installed: run `sudo apt-get install "
                                          r"avrdude` \(or `make setup`\), then flash again\.$"):
        run_avrdude(mega, empty_hex, "/dev/null", echo=lambda line: None)


def plugged_in(*ports):
    """What pyserial's comports() lists for USB serial ports: (device, vid, pid, description)."""
    from serial.tools.list_ports_common import ListPortInfo

    listed = []
    for device, vid, pid, description in ports:
        info = ListPortInfo(device, skip_link_detection=True)
        info.vid, info.pid, info.description = vid, pid, description
        listed.append(info)
    return listed


MEGA_R3 = ("/dev/ttyACM0", 0x2341, 0x0042, "Arduino Mega 2560")
MEGA_OLD = ("/dev/ttyACM1", 0x2341, 0x0010, "Arduino Mega 2560")
MEGA_SRL = ("/dev/ttyACM2", 0x2A03, 0x0042, "Arduino Mega 2560")
CLONE = ("/dev/ttyUSB0", 0x1A86, 0x7523, "USB2.0-Serial")
NANO = ("/dev/ttyACM3", 0x2341, 0x805A, "Nano 33 BLE")


def test_ports_recognise_the_mega_and_its_clones_by_usb_id(mega, monkeypatch):
    import serial.tools.list_ports

    monkeypatch.setattr(serial.tools.list_ports, "comports",
                        lambda: plugged_in(MEGA_R3, MEGA_OLD, MEGA_SRL, CLONE, NANO))
    found = {p.device: p.boards for p in list_ports()}
    assert found == {"/dev/ttyACM0": [MEGA], "/dev/ttyACM1": [MEGA], "/dev/ttyACM2": [MEGA],
                     "/dev/ttyUSB0": ["esp32dev", MEGA], "/dev/ttyACM3": ["nano33ble"]}
    with pytest.raises(TinymlError, match=rf"^4 ports look like {MEGA} \(Arduino Mega 2560\): "
                                          r"/dev/ttyACM0 \(Arduino Mega 2560\), .*Choose one with --port\.$"):
        find_port(mega)

    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: plugged_in(MEGA_R3, NANO))
    assert find_port(mega) == "/dev/ttyACM0"
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: plugged_in(CLONE, NANO))
    assert find_port(mega) == "/dev/ttyUSB0"

    from click.testing import CliRunner

    from tinyml.cli.ports import command as ports_command

    listed = CliRunner().invoke(ports_command, [])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if line.startswith("/dev/ttyUSB0"))
    assert row.split() == ["/dev/ttyUSB0", "1a86:7523", "esp32dev,", MEGA, "USB2.0-Serial"]


@pytest.mark.slow
def test_flash_without_a_port_says_which_plugged_in_port_looks_like_a_mega(skeleton_builds, monkeypatch,
                                                                          no_orphans):
    import serial.tools.list_ports

    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: plugged_in(MEGA_R3))
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # keep pytest's SIGTERM handler
    out, error = tinyml_here("flash", "--board", MEGA, "--firmware", str(skeleton_builds(MEGA).firmware),
                             "--seconds", "1")
    assert error is None
    assert out.splitlines()[0] == ("note: /dev/ttyACM0 (2341:0042) looks like a megaatmega2560: add "
                                   "--port /dev/ttyACM0 to write it with avrdude instead.")
    assert out.splitlines()[-1] == f"Stopped {MEGA}."


def test_boards_lists_the_mega_with_its_upload_method():
    out, error = tinyml_here("boards")
    assert error is None
    row = next(line for line in out.splitlines() if line.startswith(MEGA + " "))
    assert row.split()[1:7] == ["avr", "16", "MHz", "248", "KiB", "8"]
    assert "USB (avrdude), QEMU if no --port" in row
    out, _ = tinyml_here("boards", "--json")
    listed = {board["id"]: board for board in json.loads(out)}
    assert listed[MEGA]["flash"]["upload"] == "avrdude" and listed[MEGA]["flash"]["method"] == "qemu"


