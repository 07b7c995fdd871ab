"""`tinyml datasets download`: against an HTTP server on 127.0.0.1 started here (with the Range
support written below), never the internet. A whole download and import, a transfer cut short
that resumes from its .part file, a damaged archive refused by its checksum, an archive whose
member would land outside its folder, the size limit; and `tinyml run --dataset speech-commands`."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from test_speech_commands import speech_commands_folder
from tinyml.datasets import load

NO_PROXY = {k: "" for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")}


class Handler(BaseHTTPRequestHandler):
    """GET of the server's files, with `Range: bytes=N-`; a path in `cut` sends that many bytes
    of its body (after headers announcing all of it) and closes the connection, once."""

    def do_GET(self):  # noqa: N802 - http.server's name
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        wanted = self.headers.get("Range")
        if wanted:
            start = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        data = body[start:]
        cut = server.cut.pop(self.path, None)
        self.wfile.write(data if cut is None else data[:cut])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files, httpd.cut, httpd.requests = {}, {}, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def archive_of(folder: Path, extra: tarfile.TarInfo | None = None) -> bytes:
    """The folder as a .tar.gz laid out like the published ones: members ./word/file.wav."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=".")
        if extra is not None:
            tar.addfile(extra, io.BytesIO(b"x" * extra.size))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def test_set(tmp_path_factory) -> bytes:
    return archive_of(speech_commands_folder(tmp_path_factory.mktemp("sc") / "src", "test-set"))


def download(cache: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyml", "datasets", "download", *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **NO_PROXY, "TINYML_DATA": str(cache)})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


NAME = "speech_commands_test_set_v0.02.tar.gz"


def test_a_download_is_checked_extracted_and_imported(server, test_set, tmp_path):
    server.files["/mirror/" + NAME] = test_set
    url = f"{server.url}/mirror/{NAME}"
    done = download(tmp_path, "speech-commands-test", "--url", url, "--sha256", sha256(test_set))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"Imported 24 examples into {tmp_path / 'speech-commands-test'}"
    data = load(tmp_path / "speech-commands-test")
    assert len(data.x) == 24 and np.all(data.split == 2)
    assert data.meta["source"] == f"Speech Commands at {tmp_path / 'downloads' / 'speech_commands_test_set_v0.02'}"
    assert (tmp_path / "downloads" / NAME).read_bytes() == test_set
    assert not list((tmp_path / "downloads").glob("*.part"))
    assert server.requests == [(f"/mirror/{NAME}", None)]
    again = download(tmp_path, "speech-commands-test", "--url", url, "--sha256", sha256(test_set))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"Already downloaded and imported: {tmp_path / 'speech-commands-test'}"
    assert len(server.requests) == 1  # nothing fetched again


def test_a_transfer_cut_short_resumes_from_its_part_file(server, test_set, tmp_path):
    server.files["/" + NAME] = test_set
    server.cut["/" + NAME] = 5000
    url, digest = f"{server.url}/{NAME}", sha256(test_set)
    part = tmp_path / "downloads" / f"{NAME}.part"
    stopped = download(tmp_path, "speech-commands-test", "--url", url, "--sha256", digest, "--retries", "0")
    assert stopped.returncode == 1
    assert stopped.stderr.splitlines()[-1] == (
        f"Error: the transfer of {url} stopped at 5,000 of {len(test_set):,} bytes: run the same "
        f"command again to resume from {part}")
    assert part.read_bytes() == test_set[:5000]
    resumed = download(tmp_path, "speech-commands-test", "--url", url, "--sha256", digest)
    assert resumed.returncode == 0, resumed.stderr
    assert server.requests == [("/" + NAME, None), ("/" + NAME, "bytes=5000-")]
    assert (tmp_path / "downloads" / NAME).read_bytes() == test_set and not part.exists()


def test_a_whole_part_file_is_not_fetched_again(server, test_set, tmp_path):
    """A .part with every byte (a run stopped before renaming it): the server answers the range
    request with 416 and the file is checked and kept, not downloaded again."""
    server.files["/" + NAME] = test_set
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / f"{NAME}.part").write_bytes(test_set)
    done = download(tmp_path, "speech-commands-test", "--url", f"{server.url}/{NAME}",
                    "--sha256", sha256(test_set))
    assert done.returncode == 0, done.stderr
    assert server.requests == [("/" + NAME, f"bytes={len(test_set)}-")]
    assert (tmp_path / "downloads" / NAME).read_bytes() == test_set


def test_a_cut_within_one_command_is_retried_with_a_range(server, test_set, tmp_path):
    server.files["/" + NAME] = test_set
    server.cut["/" + NAME] = 3000
    done = download(tmp_path, "speech-commands-test", "--url", f"{server.url}/{NAME}",
                    "--sha256", sha256(test_set))
    assert done.returncode == 0, done.stderr
    assert f"stopped at 3,000 of {len(test_set):,} bytes: resuming from byte 3,000" in done.stderr
    assert server.requests == [("/" + NAME, None), ("/" + NAME, "bytes=3000-")]
    assert (tmp_path / "downloads" / NAME).read_bytes() == test_set


def test_a_damaged_archive_is_refused_by_its_checksum(server, test_set, tmp_path):
    damaged = bytearray(test_set)
    damaged[len(damaged) // 2] ^= 0xFF
    server.files["/" + NAME] = bytes(damaged)
    url = f"{server.url}/{NAME}"
    done = download(tmp_path, "speech-commands-test", "--url", url, "--sha256", sha256(test_set))
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"Error: {url}: the downloaded file's sha256 is {sha256(bytes(damaged))}, not "
        f"{sha256(test_set)}: a damaged transfer or another file; it was deleted, run the command "
        "again (for a mirror's own file, give its --sha256)")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["downloads"]  # nothing kept


def test_the_published_size_and_checksum_are_known(server, test_set, tmp_path):
    """Without --sha256 the published archive's own numbers apply, whatever the URL."""
    server.files["/" + NAME] = test_set
    done = download(tmp_path, "speech-commands-test", "--url", f"{server.url}/{NAME}")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"Error: {server.url}/{NAME} is {len(test_set):,} bytes; the published {NAME} is "
        "112,563,277 bytes (sha256 cc2a00c1147c2254e9be3fa0f779d8c17421dc349b86366567a8edfa9acd51df): "
        "another file? give its --sha256")
    assert not list(tmp_path.rglob("*.part"))


def test_an_archive_of_unknown_checksum_is_recorded_on_first_download(server, test_set, tmp_path):
    server.files["/mini.tar.gz"] = test_set
    done = download(tmp_path, "speech-commands-test", "--url", f"{server.url}/mini.tar.gz")
    assert done.returncode == 0, done.stderr
    record = tmp_path / "downloads" / "mini.tar.gz.sha256"
    assert record.read_text() == f"{sha256(test_set)}  mini.tar.gz\n"
    assert (f"no published checksum for mini.tar.gz: checked its length ({len(test_set):,} bytes) and "
            f"recorded its sha256 in {record}") in done.stdout
    # the cached copy is checked against the record when used again
    (tmp_path / "downloads" / "mini.tar.gz").write_bytes(b"not the archive")
    shutil.rmtree(tmp_path / "speech-commands-test")
    again = download(tmp_path, "speech-commands-test", "--url", f"{server.url}/mini.tar.gz")
    assert again.returncode == 0, again.stderr
    assert f"{tmp_path / 'downloads' / 'mini.tar.gz'} is damaged (not the sha256 recorded" in again.stderr
    assert (tmp_path / "downloads" / "mini.tar.gz").read_bytes() == test_set and len(server.requests) == 2


def test_an_archive_member_outside_its_folder_is_refused(server, tmp_path):
    evil = tarfile.TarInfo("../evil")
    evil.size = 4
    bad = archive_of(speech_commands_folder(tmp_path / "src", "test-set"), evil)
    server.files["/" + NAME] = bad
    cache = tmp_path / "cache"
    done = download(cache, "speech-commands-test", "--url", f"{server.url}/{NAME}", "--sha256", sha256(bad))
    assert done.returncode == 1
    archive = cache / "downloads" / NAME
    assert done.stderr.splitlines()[-1] == (f"Error: {archive}: its member '../evil' would be written outside "
                                   "the folder it unpacks into: refused, nothing extracted")
    assert not (cache / "evil").exists() and not (cache / "downloads" / "evil").exists()
    assert sorted(p.name for p in (cache / "downloads").iterdir()) == [NAME]
    assert not (cache / "speech-commands-test").exists()


def test_the_size_limit(server, test_set, tmp_path):
    server.files["/" + NAME] = test_set
    url = f"{server.url}/{NAME}"
    done = download(tmp_path, "speech-commands-test", "--url", url, "--sha256", sha256(test_set),
                    "--max-bytes", "1000")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (f"Error: {url} is {len(test_set):,} bytes, over the limit of 1,000 "
                                   "(--max-bytes)")
    assert not list(tmp_path.rglob("*.part"))
    # unpacked, it may take at most 3 x --max-bytes: a member of zeros (small packed) is too much
    padding = tarfile.TarInfo("./padding.bin")
    padding.size = 3_000_000
    bomb = archive_of(speech_commands_folder(tmp_path / "src", "test-set"), padding)
    server.files["/" + NAME] = bomb
    limit = str(len(bomb))
    unpacked = download(tmp_path, "speech-commands-test", "--url", url, "--sha256", sha256(bomb),
                        "--max-bytes", limit)
    assert unpacked.returncode == 1
    assert re.fullmatch(rf"Error: {re.escape(str(tmp_path / 'downloads' / NAME))} unpacks to more than "
                        rf"{3 * int(limit):,} bytes \(3 x --max-bytes\): refused, nothing extracted",
                        unpacked.stderr.splitlines()[-1]), unpacked.stderr


def test_bad_options_are_one_line(tmp_path):
    done = download(tmp_path, "speech-commands", "--sha256", "abc")
    assert (done.returncode, done.stderr.strip()) == (
        1, "Error: --sha256 must be 64 hexadecimal digits, not 'abc'")
    done = download(tmp_path, "speech-commands", "--url", "http://127.0.0.1:9/")
    assert (done.returncode, done.stderr.strip()) == (
        1, "Error: --url http://127.0.0.1:9/ names no file: give the archive's own URL (.../NAME.tar.gz)")


def test_download_help_says_where_the_checksums_come_from():
    done = subprocess.run([sys.executable, "-m", "tinyml", "datasets", "download", "--help"],
                          capture_output=True, text=True, timeout=60)
    text = " ".join(done.stdout.split())
    assert done.returncode == 0
    assert "checked against the size and sha256 published by TensorFlow Datasets" in text
    assert "its sha256 is recorded in the cache on first download" in text


# -- tinyml run kws --dataset speech-commands --------------------------------------------------

def run(cache: Path, *args: str, command: str = "run") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyml", command, *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TINYML_DATA": str(cache)})


@pytest.mark.parametrize("command", ["run", "train"])
def test_run_with_speech_commands_not_downloaded_says_what_to_run(command, tmp_path):
    done = run(tmp_path, "kws", "--dataset", "speech-commands", "--runs", str(tmp_path / "runs"),
               command=command)
    assert (done.returncode, done.stderr.strip()) == (
        1, "Error: speech-commands is not downloaded yet: run `tinyml datasets download speech-commands` "
           "first (2.4 GB), or give a dataset folder")
    assert not (tmp_path / "runs").exists()


def test_run_dataset_names_the_downloaded_set(tmp_path):
    """The name resolves to the imported set in the cache: a vibration run refuses it as kws data,
    before any work; a folder that is no dataset is refused too."""
    from tinyml.datasets import import_speech_commands, save

    save(import_speech_commands(speech_commands_folder(tmp_path / "src", "test-set"), progress=False),
         tmp_path / "speech-commands")
    done = run(tmp_path, "vibration", "--dataset", "speech-commands", "--runs", str(tmp_path / "runs"))
    assert (done.returncode, done.stderr.strip()) == (
        1, f"Error: speech-commands ({tmp_path / 'speech-commands'}) is a kws dataset: vibration needs "
           "a vibration one")
    done = run(tmp_path, "kws", "--dataset", str(tmp_path / "src"), "--runs", str(tmp_path / "runs"))
    assert (done.returncode, done.stderr.strip()) == (
        1, f"Error: no tinyml dataset in {tmp_path / 'src'} (no meta.json): import one with `tinyml "
           "datasets import`, download one with `tinyml datasets download speech-commands`, or leave "
           "--dataset out for the synthetic set")
    assert not (tmp_path / "runs").exists()
