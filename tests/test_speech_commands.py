"""Speech Commands as it is published (v0.02 and v0.01 with their split lists, and the official
test set: a folder per class, _silence_ and _unknown_ included, no lists), imported from tiny
folders written here; and `tinyml evaluate RUN --dataset DIR`, scoring a trained run's int8
model in TFLite Micro on any of them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyml.datasets import import_speech_commands, load, save
from tinyml.datasets.audio import write_wav
from tinyml.datasets.kws_synth import CLASSES, KEYWORDS
from tinyml.errors import TinymlError

V01_OTHERS = ["bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine",
              "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero"]
V02_ADDED = ["backward", "follow", "forward", "learn", "visual"]
SPEAKERS = ("aaaa1111", "bbbb2222", "cccc3333")  # train, validation, test in the lists
LAYOUTS = ("v0.02", "v0.01", "test-set")


def speech_commands_folder(root: Path, layout: str = "v0.02", samples: int = 8000) -> Path:
    """A tiny Speech Commands folder in one of its published layouts, of half-second noise clips
    (16-bit mono wav, 16 kHz). v0.02 / v0.01: a folder per word (35 / 30 words), one clip per
    speaker, the lists, and _background_noise_. test-set: the 10 keywords, _silence_ (1 s clips)
    and _unknown_ (its files named word_speaker_nohash_n, as published), two clips each."""
    rng = np.random.default_rng(len(layout))
    root.mkdir(parents=True, exist_ok=True)

    def clip(folder: str, name: str, n: int = samples) -> str:
        (root / folder).mkdir(exist_ok=True)
        write_wav(root / folder / name, (rng.standard_normal(n) * 1000).astype(np.int16))
        return f"{folder}/{name}"

    if layout == "test-set":
        for word in KEYWORDS:
            for speaker in SPEAKERS[:2]:
                clip(word, f"{speaker}_nohash_0.wav")
        clip("_unknown_", "bed_aaaa1111_nohash_0.wav")
        clip("_unknown_", "wow_dddd4444_nohash_1.wav")
        clip("_silence_", "silence_0.wav", 16000)
        clip("_silence_", "silence_1.wav", 16000)
        return root
    words = KEYWORDS + V01_OTHERS + (V02_ADDED if layout == "v0.02" else [])
    lists = {"validation_list.txt": [], "testing_list.txt": []}
    for word in words:
        for speaker in SPEAKERS:
            rel = clip(word, f"{speaker}_nohash_0.wav")
            if speaker == SPEAKERS[1]:
                lists["validation_list.txt"].append(rel)
            if speaker == SPEAKERS[2]:
                lists["testing_list.txt"].append(rel)
    clip("_background_noise_", "white_noise.wav", 48000)
    for name, entries in lists.items():
        (root / name).write_text("\n".join(entries) + "\n")
    return root


def class_counts(data) -> dict[str, int]:
    return {c: int(np.sum(data.labels == i)) for i, c in enumerate(data.classes)}


def tinyml(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyml", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


# -- the importer ------------------------------------------------------------------------------

def test_the_official_test_set_layout_is_all_test_with_its_silence_and_unknown_folders(tmp_path):
    data = import_speech_commands(speech_commands_folder(tmp_path, "test-set"), progress=False)
    assert data.classes == CLASSES
    assert class_counts(data) == {**{k: 2 for k in KEYWORDS}, "_silence_": 2, "_unknown_": 2}
    assert np.all(data.split == 2)
    silence = data.labels == CLASSES.index("_silence_")
    assert np.all(data.groups[silence] == -1)  # noise has no speaker
    # the speaker of _unknown_/bed_aaaa1111_nohash_0.wav is aaaa1111, the one who also said yes
    unknown = np.flatnonzero(data.labels == CLASSES.index("_unknown_"))
    yes = np.flatnonzero(data.labels == CLASSES.index("yes"))
    assert data.groups[unknown[0]] in set(data.groups[yes])
    assert data.meta["layout"] == "test set" and data.meta["speakers"] == 3
    assert np.all(data.x[~silence][:, 8000:] == 0)  # half-second clips padded with zeros
    assert data.x.shape == (24, 16000)


def test_a_folder_without_lists_goes_into_the_split_asked_for(tmp_path):
    folder = speech_commands_folder(tmp_path / "sc", "test-set")
    assert np.all(import_speech_commands(folder, split="train", progress=False).split == 0)
    listed = speech_commands_folder(tmp_path / "listed", "v0.02")
    with pytest.raises(TinymlError, match=r"^split is for a folder without validation_list.txt and "
                                          r"testing_list.txt: the lists of .*listed decide its splits$"):
        import_speech_commands(listed, split="test", progress=False)


@pytest.mark.parametrize("layout,words", [("v0.02", 35), ("v0.01", 30)])
def test_v002_and_v001_layouts_import_with_their_version(tmp_path, layout, words):
    data = import_speech_commands(speech_commands_folder(tmp_path, layout), progress=False)
    counts = class_counts(data)
    assert {k: counts[k] for k in KEYWORDS} == {k: 3 for k in KEYWORDS}
    assert counts["_unknown_"] == 3 * (words - 10)
    assert data.meta["layout"] == f"{layout} ({words} words)"
    for split in range(3):  # one speaker per split, from the lists
        assert np.sum((data.split == split) & (data.labels < 10)) == 10
    assert counts["_silence_"] == sum(int(np.ceil(np.sum(data.split[data.labels != 10] == s) * 0.1))
                                      for s in range(3))


def test_only_reads_the_split_asked_for(tmp_path):
    data = import_speech_commands(speech_commands_folder(tmp_path, "v0.02"), only="test", progress=False)
    assert np.all(data.split == 2)
    assert class_counts(data)["yes"] == 1 and class_counts(data)["_unknown_"] == 25


def test_one_list_without_the_other_is_refused(tmp_path):
    folder = speech_commands_folder(tmp_path, "v0.01")
    (folder / "testing_list.txt").unlink()
    with pytest.raises(TinymlError, match=r"testing_list.txt is missing"):
        import_speech_commands(folder, progress=False)


def test_cli_import_refuses_a_clip_longer_than_a_second_naming_it(tmp_path):
    folder = speech_commands_folder(tmp_path / "sc", "test-set")
    long = folder / "yes" / "aaaa1111_nohash_0.wav"
    write_wav(long, np.ones(16001, dtype=np.int16))
    done = tinyml("datasets", "import", "speech-commands", str(folder), "-o", str(tmp_path / "out"))
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"Error: {long}: 16001 samples, longer than one second (16000 at 16000 Hz): cut it to "
        "one second (`sox IN OUT trim 0 1`) or leave it out")
    assert not (tmp_path / "out").exists()


def test_cli_import_of_the_test_set_with_a_split(tmp_path):
    folder = speech_commands_folder(tmp_path / "sc", "test-set")
    done = tinyml("datasets", "import", "speech-commands", str(folder), "-o", str(tmp_path / "out"),
                  "--split", "val")
    assert done.returncode == 0, done.stderr
    assert f"Imported 24 examples into {tmp_path / 'out'}" in done.stdout
    assert np.all(load(tmp_path / "out").split == 1)


# -- tinyml evaluate RUN --dataset DIR ----------------------------------------------------------

@pytest.fixture(scope="module")
def kws_run(quick_kws_run, tmp_path_factory):
    """A copy of the session's quick run (evaluations are written into it) and its dataset."""
    folder = tmp_path_factory.mktemp("eval") / quick_kws_run.folder.name
    shutil.copytree(quick_kws_run.folder, folder)
    return folder, json.loads((folder / "metrics.json").read_text())


def predictions(run: Path, clips: np.ndarray) -> np.ndarray:
    """The run's int8 model in TFLM on the clips' int8 features: what an evaluation must count."""
    from tinyml.convert.tflm import TflmModel
    from tinyml.features import kws_features

    from tinyml.firmware.apps import frontend_spec

    spec = frontend_spec("kws", json.loads((run / "metrics.json").read_text()))
    return TflmModel(run / "model_int8.tflite").run(kws_features(clips, spec)).argmax(axis=1)


def test_evaluating_on_the_runs_own_test_split_gives_the_training_score(kws_run):
    from tinyml.train.evaluate import evaluate_on

    run, metrics = kws_run
    result = evaluate_on(run, metrics["dataset"])
    assert result["split"] == "test" and result["clips"] == metrics["test_examples"]
    assert result["accuracy"] == metrics["int8_tflm_acc"]
    confusion = np.array(result["confusion"])
    assert confusion.shape == (12, 12) and confusion.sum() == metrics["test_examples"]
    saved = run / "evaluations" / f"{Path(metrics['dataset']).name}.json"
    assert json.loads(saved.read_text()) == result


@pytest.fixture(scope="module")
def test_set_of_the_runs_voices(kws_run, tmp_path_factory):
    """The run's synthetic test clips (5 per class) written out as the official test-set layout."""
    run, metrics = kws_run
    data = load(Path(metrics["dataset"])).subset("test")
    root = tmp_path_factory.mktemp("sc-eval") / "speech_commands_test_set_v0.02"
    picked = np.concatenate([np.flatnonzero(data.labels == i)[:5] for i in range(12)])
    for n, i in enumerate(picked):
        (root / CLASSES[data.labels[i]]).mkdir(parents=True, exist_ok=True)
        write_wav(root / CLASSES[data.labels[i]] / f"{n:04x}abcd_nohash_0.wav", data.x[i])
    return root, data.x[picked], data.labels[picked]


def test_evaluating_on_a_speech_commands_folder_counts_every_clip(kws_run, test_set_of_the_runs_voices):
    from tinyml.train.evaluate import evaluate_on

    run, _ = kws_run
    root, clips, truth = test_set_of_the_runs_voices
    pred = predictions(run, clips)
    result = evaluate_on(run, root, "all")
    expected = np.zeros((12, 12), dtype=int)
    np.add.at(expected, (truth, pred), 1)
    assert result["dataset"] == "speech_commands_test_set_v0.02" and result["clips"] == 60
    assert result["confusion"] == expected.tolist()
    assert result["accuracy"] == float(np.mean(pred == truth))
    keyword = truth < 10
    assert result["keyword_accuracy"] == float(np.mean(pred[keyword] == truth[keyword]))
    assert result["false_accepts"] == int(np.sum(pred[~keyword] < 10))
    assert result["false_accept_rate"] == float(np.mean(pred[~keyword] < 10))
    assert result["per_class_accuracy"] == {c: float(np.mean(pred[truth == i] == i))
                                            for i, c in enumerate(CLASSES)}
    # no lists: every clip is test, so the default split and "test" are "all"
    assert evaluate_on(run, root)["confusion"] == result["confusion"]
    assert sorted(p.name for p in (run / "evaluations").glob("speech_commands*")) == [
        "speech_commands_test_set_v0.02.json"]


def test_cli_evaluate_prints_the_scores_and_writes_them_into_the_run(kws_run, test_set_of_the_runs_voices):
    run, _ = kws_run
    root, clips, truth = test_set_of_the_runs_voices
    pred = predictions(run, clips)
    done = tinyml("evaluate", str(run), "--dataset", str(root))
    assert done.returncode == 0, done.stderr
    saved = json.loads((run / "evaluations" / "speech_commands_test_set_v0.02.json").read_text())
    lines = done.stdout.splitlines()
    assert lines[1] == (f"  accuracy      {np.mean(pred == truth):.2%} of 60 clips (split all of "
                        f"speech_commands_test_set_v0.02)")
    assert lines[2] == f"  keywords      {np.mean(pred[truth < 10] == truth[truth < 10]):.2%} of 50 keyword clips"
    assert lines[3] == (f"  false accepts {np.mean(pred[truth >= 10] < 10):.2%}: {np.sum(pred[truth >= 10] < 10)} "
                        "of 10 _silence_/_unknown_ clips taken for a keyword")
    assert "  per class     down " in done.stdout
    confusion = lines[lines.index("  confusion (rows: true class, columns: predicted)") + 2:][:12]
    assert [[int(v) for v in row.split()[1:]] for row in confusion] == saved["confusion"]
    assert f"Wrote {run / 'evaluations' / 'speech_commands_test_set_v0.02.json'}" in done.stdout
    as_json = tinyml("evaluate", str(run), "--dataset", str(root), "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["confusion"] == saved["confusion"]


def test_cli_evaluate_bad_input_is_one_line(kws_run, tmp_path):
    run, metrics = kws_run
    vibration = tmp_path / "vibration-run"
    vibration.mkdir()
    (vibration / "metrics.json").write_text(json.dumps({"app": "vibration"}))
    no_model = tmp_path / "kws-run"
    no_model.mkdir()
    (no_model / "metrics.json").write_text((run / "metrics.json").read_text())
    empty = tmp_path / "empty"
    empty.mkdir()
    no_test = tmp_path / "no-test"
    data = load(Path(metrics["dataset"]))
    save(data.subset("train"), no_test)
    cases = [
        ((str(run), "--dataset", str(tmp_path / "nowhere")),
         f"Error: no dataset at {tmp_path / 'nowhere'}: give a tinyml dataset folder, a Speech Commands "
         "folder, or speech-commands / speech-commands-test once downloaded"),
        ((str(run), "--dataset", str(empty)),
         f"Error: {empty} is neither a tinyml dataset (no meta.json) nor a Speech Commands folder (no "
         "folder per keyword: down, go, left, no, off, on, right, stop, up, yes)"),
        ((str(vibration), "--dataset", str(empty)),
         f"Error: {vibration} is a vibration run: --dataset scores keyword-spotting runs"),
        ((str(no_model), "--dataset", str(empty)),
         f"Error: {no_model} has no model_int8.tflite: train one with `tinyml train kws`"),
        ((str(run), "--dataset", str(no_test), "--split", "test"),
         f"Error: {no_test} has no test clips: use --split all"),
        ((str(run), "--dataset", "speech-commands-test"),
         "Error: speech-commands-test is not downloaded yet: run `tinyml datasets download "
         "speech-commands-test` first (113 MB), or give a dataset folder"),
    ]
    for args, message in cases:
        done = tinyml("evaluate", *args, env={"TINYML_DATA": str(tmp_path / "cache")})
        assert (done.returncode, done.stderr.strip()) == (1, message)


def test_the_run_report_shows_every_evaluation(kws_run, test_set_of_the_runs_voices, tmp_path):
    """build_report on the run with stand-in board artifacts: the evaluations section lists
    each file of RUN/evaluations/ with its confusion matrix."""
    from tinyml.report import build_report
    from tinyml.train.evaluate import evaluate_on

    run, metrics = kws_run
    root, _, _ = test_set_of_the_runs_voices
    first, second = evaluate_on(run, root), evaluate_on(run, metrics["dataset"])
    board = "emu-cortex-m4"
    (run / f"firmware-{board}").mkdir(exist_ok=True)
    (run / f"firmware-{board}" / "budget.json").write_text(json.dumps(
        {"rows": [["model", 1000, 100]], "arena": 100, "flash_limit": 0, "ram_limit": 0}))
    (run / f"firmware-{board}" / "layers.json").write_text("[]")
    (run / f"validate-{board}").mkdir(exist_ok=True)
    (run / f"validate-{board}" / "validation.json").write_text(json.dumps({
        "classes": CLASSES, "device_accuracy": 0.5, "agreement": 1.0, "samples": 12,
        "latency": {"model": {"median": 10.0}}, "latency_unit": "us", "samples_per_s": 5.0}))
    np.savez(run / f"validate-{board}" / "device_outputs.npz", labels=np.arange(12),
             outputs=np.eye(12, dtype=np.int8), scores=np.zeros(12), model_ticks=np.ones(12),
             feature_ticks=np.zeros(12))
    page = build_report(run, board).read_text()
    assert "<h2>Evaluations</h2>" in page
    for result in (first, second):
        row = (f"<tr><td>{result['dataset']}</td><td>{result['split']}</td><td>{result['clips']}</td>"
               f"<td>{100 * result['accuracy']:.2f}%</td><td>{100 * result['keyword_accuracy']:.2f}%</td>"
               f"<td>{100 * result['false_accept_rate']:.2f}% ({result['false_accepts']} of "
               f"{result['non_keyword_clips']})</td></tr>")
        assert row in page
        assert (run / "report" / f"evaluation-{result['dataset']}.png").stat().st_size > 5_000
        assert f"Confusion matrix on {result['dataset']}" in page
