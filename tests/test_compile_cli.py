"""`tinyml compile` as a user meets it: every bad model path, output folder, name or model is
one line `Error: ...` that names the thing and the fix, exit 1, no traceback, and a failed
write (a full disk) leaves the output folder as it was."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyml.compile import SUPPORTED
from tinyml.tflite.model import BUILTIN, read_tflite

TINYML_COMPILE = [sys.executable, "-m", "tinyml", "compile"]
SUPPORTED_LIST = ", ".join(SUPPORTED)


def compile_cli(*args, preexec_fn=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([*TINYML_COMPILE, *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env, preexec_fn=preexec_fn)


def assert_error(result: subprocess.CompletedProcess, message: str) -> None:
    """Exactly one line, `Error: ` and the message, exit 1, nothing on stdout."""
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"Error: {message}\n")


def transpose_conv_model() -> bytes:
    """An int8 TRANSPOSE_CONV (builtin 67), an operator the engine has no kernel for."""
    import keras
    import model_zoo

    model = keras.Sequential([keras.Input((4, 4, 2), batch_size=1),
                              keras.layers.Conv2DTranspose(3, (3, 3), strides=2, padding="same")])
    return model_zoo._convert(model, (4, 4, 2))


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    import model_zoo

    folder = tmp_path_factory.mktemp("models")
    made = {"dense_autoencoder": model_zoo.dense_autoencoder(), "float_model": model_zoo.float_model(),
            "transpose_conv": transpose_conv_model()}
    for stem, data in made.items():
        (folder / f"{stem}.tflite").write_bytes(data)
    return {stem: folder / f"{stem}.tflite" for stem in made}


@contextlib.contextmanager
def tmpfs(where: Path, options: str):
    """A real small or read-only file system (root only: CI runs as root). Skips where the
    container does not permit mount."""
    where.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---- the model path ----------------------------------------------------------------------

def test_missing_model_is_named(tmp_path):
    missing = tmp_path / "nope.tflite"
    assert_error(compile_cli(missing, "-o", tmp_path / "out"),
                 f"no model file at {missing}: check the path")
    assert not (tmp_path / "out").exists()


def test_a_folder_given_as_the_model_points_inside_it(tmp_path):
    assert_error(compile_cli(tmp_path, "-o", tmp_path / "out"),
                 f"{tmp_path} is a folder, not a .tflite file: name the model file inside it "
                 f"(a run folder's is {tmp_path / 'model_int8.tflite'})")


# ---- the output folder -------------------------------------------------------------------

def test_output_folder_that_is_a_file(models, tmp_path):
    somefile = tmp_path / "somefile.txt"
    somefile.write_text("mine")
    assert_error(compile_cli(models["dense_autoencoder"], "-o", somefile),
                 f"the output folder {somefile} is a file: choose a folder for the generated C (-o)")
    assert_error(compile_cli(models["dense_autoencoder"], "-o", somefile / "out" / "deeper"),
                 f"the output folder {somefile / 'out' / 'deeper'} cannot be created: {somefile} "
                 "is a file. Choose another output folder (-o)")
    assert somefile.read_text() == "mine"


def test_read_only_output_folder(models, tmp_path):
    """As root, chmod does not stop writes: a read-only tmpfs is the real thing there (skipped
    where mount is not permitted). As another user, a folder without write permission is."""
    if os.geteuid() == 0:
        with tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
            for out in (ro, ro / "new"):
                assert_error(compile_cli(models["dense_autoencoder"], "-o", out),
                             f"the output folder {out} is on a read-only file system: choose a "
                             "writable output folder (-o)")
            assert list(ro.iterdir()) == []
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        try:
            for out, where in ((locked, locked), (locked / "new", locked)):
                assert_error(compile_cli(models["dense_autoencoder"], "-o", out),
                             f"no permission to write in {where}: choose an output folder you can "
                             "write to (-o), or fix its permissions")
        finally:
            locked.chmod(0o755)
        assert list(locked.iterdir()) == []


def test_full_disk_leaves_the_folder_as_it_was(models, tmp_path):
    """A real full disk: a 32 KiB tmpfs (root only, skipped where mount is not permitted). The
    user's file stays, and no truncated model.c or staging folder is left behind."""
    with tmpfs(tmp_path / "small", "size=32k") as small:
        (small / "notes.txt").write_text("the user's own file")
        before = snapshot(small)
        assert_error(compile_cli(models["dense_autoencoder"], "-o", small),
                     f"no room to write the generated C in {small} (No space left on device): "
                     "free some space or choose another output folder (-o); nothing was written")
        assert snapshot(small) == before
        assert_error(compile_cli(models["dense_autoencoder"], "-o", small / "new"),
                     f"no room to write the generated C in {small / 'new'} (No space left on "
                     "device): free some space or choose another output folder (-o); nothing was written")
        assert snapshot(small) == before


def limit_file_size_to_4k() -> None:
    """Runs in the child before exec: writes past 4 KiB fail with EFBIG (SIGXFSZ ignored),
    the way a full disk fails a write. Needs no root."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_failed_write_keeps_the_previous_output(models, tmp_path):
    out = tmp_path / "out"
    ok = compile_cli(models["dense_autoencoder"], "-o", out)
    assert ok.returncode == 0, ok.stderr
    (out / "main.c").write_text("/* the user's own file */\n")
    before = snapshot(out)
    assert len(before["model.c"]) > 4096  # so the limit below cuts it
    assert_error(compile_cli(models["dense_autoencoder"], "-o", out, preexec_fn=limit_file_size_to_4k),
                 f"no room to write the generated C in {out} (File too large): free some space or "
                 "choose another output folder (-o); nothing was written")
    assert snapshot(out) == before
    fresh = tmp_path / "fresh"
    assert_error(compile_cli(models["dense_autoencoder"], "-o", fresh, preexec_fn=limit_file_size_to_4k),
                 f"no room to write the generated C in {fresh} (File too large): free some space or "
                 "choose another output folder (-o); nothing was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_compiling_into_an_existing_folder_keeps_the_users_files(models, tmp_path):
    (tmp_path / "main.c").write_text("int main(void) { return 0; }\n")
    ok = compile_cli(models["dense_autoencoder"], "-o", tmp_path, "--name", "vib")
    assert ok.returncode == 0, ok.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    runtime = sorted(p.name for p in (Path(__file__).parents[1] / "tinyml/compile/runtime").iterdir())
    assert names == sorted(["main.c", "vib.c", "vib.h", *runtime])
    assert (tmp_path / "main.c").read_text() == "int main(void) { return 0; }\n"


# ---- the name ----------------------------------------------------------------------------

BAD_NAMES = {
    "": "--name '' is not a C identifier: use letters, digits and _, not starting with a digit "
        "(e.g. --name model)",
    "9abc": "--name '9abc' is not a C identifier: use letters, digits and _, not starting with a "
            "digit (e.g. --name model_9abc)",
    "my-model": "--name 'my-model' is not a C identifier: use letters, digits and _, not starting "
                "with a digit (e.g. --name my_model)",
    "__x": "--name '__x' is reserved in C (it starts with __, or _ and a capital): e.g. --name x",
    "int": "--name 'int' is a C keyword: choose another, e.g. --name int_model",
    "static_assert": "--name 'static_assert' is a C keyword: choose another, e.g. --name "
                     "static_assert_model",
    "tm_conv2d": "--name 'tm_conv2d' clashes with the kernel file tm_conv2d.c written beside it: "
                 "choose another, e.g. --name tm_conv2d_model",
    "TM_KERNELS": "--name 'TM_KERNELS' clashes with the kernel file tm_kernels.h written beside it: "
                  "choose another, e.g. --name TM_KERNELS_model",
}


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_names_that_are_not_a_usable_c_prefix_are_refused(name, models, tmp_path):
    from tinyml.compile import compile_model
    from tinyml.errors import TinymlError

    with pytest.raises(TinymlError) as refused:
        compile_model(models["dense_autoencoder"], tmp_path / "out", name=name)
    assert str(refused.value) == BAD_NAMES[name]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["9abc", "tm_conv2d"])  # a traceback, a kernel overwritten
def test_cli_refuses_a_bad_name_in_one_line(name, models, tmp_path):
    assert_error(compile_cli(models["dense_autoencoder"], "-o", tmp_path / "out", "--name", name),
                 BAD_NAMES[name])
    assert not (tmp_path / "out").exists()


# ---- the model ---------------------------------------------------------------------------

def tensorflow_builtin_operators() -> dict[int, str]:
    """TFLite's BuiltinOperator enum, read from the schema module TensorFlow ships (loaded by
    itself: importing all of tensorflow is not needed for one enum)."""
    package = Path(importlib.util.find_spec("tensorflow").submodule_search_locations[0])
    spec = importlib.util.spec_from_file_location("tflite_schema",
                                                  package / "lite/python/schema_py_generated.py")
    schema = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(schema)
    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def test_every_builtin_operator_has_its_tflite_name():
    assert BUILTIN == tensorflow_builtin_operators()


def test_unsupported_builtin_is_named(models, tmp_path):
    model = models["transpose_conv"]
    assert [op.opcode for op in read_tflite(model).operators] == ["TRANSPOSE_CONV"]
    assert_error(compile_cli(model, "-o", tmp_path / "out"),
                 "operator #0 (TRANSPOSE_CONV) is not supported by tinyml compile. Supported "
                 f"operators: {SUPPORTED_LIST}.")
    assert not (tmp_path / "out").exists()


def test_float_model_error_says_what_converts_it(models, tmp_path):
    model = read_tflite(models["float_model"])
    x = model.tensor(model.inputs[0]).name
    assert_error(compile_cli(models["float_model"], "-o", tmp_path / "out"),
                 f"the model's input '{x}' is float32: tinyml compiles full-integer models with int8 "
                 "input and output. `tinyml train` writes an int8 model (RUN/model_int8.tflite); for a "
                 "model of your own, set on tf.lite.TFLiteConverter: optimizations=[tf.lite.Optimize."
                 "DEFAULT], representative_dataset (a few hundred real inputs), target_spec."
                 "supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8], inference_input_type=tf.int8, "
                 "inference_output_type=tf.int8")


def test_several_models_share_one_arena_and_stay_bit_exact(runs, tmp_path):
    from tinyml.compile import compile_models
    from tinyml.compile.host import build_host_runner, run_host
    from tinyml.convert.tflm import TflmModel

    run = runs["vibration"]
    done = compile_cli(run / "model_int8.tflite", run / "classifier_int8.tflite", "-o", tmp_path / "cli",
                       "--name", "anomaly", "--name", "fault")
    assert done.returncode == 0, done.stderr
    results = compile_models({"anomaly": run / "model_int8.tflite", "fault": run / "classifier_int8.tflite"},
                             tmp_path / "api")
    arenas = [r.arena_bytes for r in results]
    assert f"one shared arena of {max(arenas):,} bytes" in done.stdout and f"would take {sum(arenas):,}" in done.stdout
    header = (tmp_path / "api" / "tm_shared_arena.h").read_text()
    assert f"#define TM_SHARED_ARENA_BYTES {max(arenas)}u" in header
    for result in results:
        source = (tmp_path / "api" / f"{result.name}.c").read_text()
        assert "static int32_t arena[" not in source and "tm_shared_arena" in source
        inputs = np.random.default_rng(1).integers(-128, 128, size=(300, result.input_bytes), dtype=np.int8)
        model = TflmModel(run / ("model_int8.tflite" if result.name == "anomaly" else "classifier_int8.tflite"))
        assert np.array_equal(run_host(build_host_runner(result), inputs, result.output_bytes), model.run(inputs))
    assert_error(compile_cli(run / "model_int8.tflite", run / "classifier_int8.tflite", "-o", tmp_path / "x"),
                 "2 models need 2 --name options (one C prefix each, in order), not 0")
    assert_error(compile_cli(run / "model_int8.tflite", run / "classifier_int8.tflite", "-o", tmp_path / "x",
                             "--name", "a", "--name", "A"), "give each model its own name (--name), not a, A")
    assert_error(compile_cli(run / "model_int8.tflite", "-o", tmp_path / "x", "--name", "a", "--name", "b"),
                 "one model takes one --name, not 2")
