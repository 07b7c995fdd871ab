"""Hardware-in-the-loop tests written with the tinyml pytest plugin: they run on whatever board
the command line names (`pytest --tinyml-board B [--tinyml-port URL] --tinyml-run RUN
tests/hil`). The suite runs them on an emulated board in tests/test_validate.py."""

import numpy as np

from tinyml.link import frame as fr


def test_board_runs_the_run_model(tinyml_device, tinyml_board):
    info = tinyml_device.info()
    assert info["board"] == tinyml_board.id
    assert int(info["arena"]) > 0


def test_outputs_are_tflm_outputs_byte_for_byte(tinyml_device, tinyml_samples):
    rx = int(tinyml_device.info()["rx_buffer"])
    for features, host in zip(tinyml_samples.features[:20], tinyml_samples.host_outputs[:20]):
        tinyml_device.load(fr.INPUT_FEATURES, features.astype(np.int8).tobytes(), rx)
        assert tinyml_device.infer(fr.INPUT_FEATURES).outputs.tolist() == host.tolist()
