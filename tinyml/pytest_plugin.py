"""pytest plugin: hardware-in-the-loop fixtures for a connected or emulated board.

    pytest --tinyml-board emu-cortex-m4 --tinyml-run runs/kws-20261122-071513 tests/hil
    pytest --tinyml-board nano33ble --tinyml-port /dev/ttyACM0 --tinyml-run runs/kws-... tests/hil

Fixtures: `tinyml_board` (the Board), `tinyml_run` (the run folder), `tinyml_url` (the
board's pyserial URL; an emulated board is built from the run and started once per session),
`tinyml_device` (an open DeviceClient, checked to run the run's model), `tinyml_samples` (the
run's test split with the host TFLM outputs). Tests that need a board are skipped when no
--tinyml-board is given.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("tinyml", "tinyml hardware-in-the-loop")
    group.addoption("--tinyml-board", help="board id (`tinyml boards`) the HIL tests run on")
    group.addoption("--tinyml-port", help="pyserial URL of a connected board; emulated boards "
                    "are started by the plugin when it is omitted")
    group.addoption("--tinyml-run", help="training run whose app firmware the board runs")
    group.addoption("--tinyml-firmware", help="emulated boards: a built firmware to start instead "
                    "of building the run's app")
    group.addoption("--tinyml-limit", type=int, default=50,
                    help="test samples `tinyml_samples` holds [default: 50]")


@pytest.fixture(scope="session")
def tinyml_board(request):
    from tinyml.boards import load_board

    board_id = request.config.getoption("--tinyml-board")
    if not board_id:
        pytest.skip("needs a board: --tinyml-board B (and --tinyml-port URL for a real one)")
    return load_board(board_id)


@pytest.fixture(scope="session")
def tinyml_run(request):
    run = request.config.getoption("--tinyml-run")
    if not run:
        pytest.skip("needs a training run: --tinyml-run runs/APP-...")
    return Path(run)


@pytest.fixture(scope="session")
def tinyml_url(request, tinyml_board, tinyml_run, tmp_path_factory):
    """The board's URL; an emulated board runs for the whole session and is reaped after it."""
    from tinyml.flash import start_board
    from tinyml.validate.hil import read_app

    port = request.config.getoption("--tinyml-port")
    if port:
        yield port
        return
    if tinyml_board.flash_method == "platformio":
        from tinyml.link.ports import find_port

        yield find_port(tinyml_board)
        return
    firmware = request.config.getoption("--tinyml-firmware")
    if not firmware:
        from tinyml.firmware import build_app

        out = tmp_path_factory.mktemp("tinyml-firmware")
        firmware = build_app(read_app(tinyml_run), tinyml_run, tinyml_board, out).built.firmware
    with start_board(tinyml_board, Path(firmware)) as running:
        yield running.url


@pytest.fixture
def tinyml_device(tinyml_url, tinyml_board, tinyml_run):
    """An open link to the board, refused unless it runs the run's app and model."""
    from tinyml.link import open_device
    from tinyml.validate.hil import check_device, read_app

    device = open_device(tinyml_url, baud=tinyml_board.serial.baud, timeout=10)
    try:
        check_device(device.info(), tinyml_run, read_app(tinyml_run), tinyml_url)
        yield device
    finally:
        device.close()


@pytest.fixture(scope="session")
def tinyml_samples(request, tinyml_run):
    from tinyml.validate.hil import load_samples

    return load_samples(tinyml_run, request.config.getoption("--tinyml-limit"))
