"""Published datasets fetched in one command: resumable, size-capped, checksummed, unpacked
safely, imported.

    from tinyml.datasets.download import download_dataset
    folder = download_dataset("speech-commands-test")      # the imported dataset folder

Everything lands in the dataset cache (TINYML_DATA, else datasets/cache/): the archive and its
unpacked folder under downloads/, the imported dataset as <name>/ (what `tinyml run --dataset
speech-commands` and `tinyml evaluate --dataset speech-commands-test` mean by the name).

Checksums: the size and sha256 of the Speech Commands archives are the ones TensorFlow Datasets
publishes for them (tensorflow_datasets/url_checksums/speech_commands.txt), checked whatever
--url says as long as the file name is the published one. An archive of any other name has no
checksum known here: it is checked against the length the server announced, and its sha256 is
recorded beside it (NAME.sha256) on first download, so that a later use of the cached copy is
checked against that.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import tarfile
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from tinyml import __version__
from tinyml.datasets.store import cache_dir, digest, read_meta, save
from tinyml.errors import TinymlError, warn
from tinyml.tools.fs import atomic_file, atomic_folder

MAX_BYTES = 3_000_000_000  # the largest download taken by default (v0.02 is 2.43 GB)
UNPACK_FACTOR = 3          # an archive may unpack to at most this many times --max-bytes
TIMEOUT = 60               # seconds without a byte before a transfer counts as cut
CHUNK = 1 << 20


@dataclass(frozen=True)
class Published:
    url: str
    size: int
    sha256: str
    what: str

    @property
    def file(self) -> str:
        return self.url.rsplit("/", 1)[-1]


PUBLISHED = {  # name -> the archive, as TensorFlow Datasets lists it
    "speech-commands": Published(
        "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz", 2428923189,
        "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
        "Speech Commands v0.02: 105,829 clips of 35 words, with its validation and test lists"),
    "speech-commands-test": Published(
        "http://download.tensorflow.org/data/speech_commands_test_set_v0.02.tar.gz", 112563277,
        "cc2a00c1147c2254e9be3fa0f779d8c17421dc349b86366567a8edfa9acd51df",
        "the official Speech Commands v0.02 test set: 4,890 clips in the 12 classes"),
}
KNOWN = {p.file: p for p in PUBLISHED.values()}


class _Cut(Exception):
    """A transfer that stopped early: worth resuming."""


def downloads_dir() -> Path:
    return cache_dir() / "downloads"


def _megabytes(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


def named(name: str) -> Path:
    """The imported dataset folder of a published dataset, once downloaded; else what to run."""
    folder = cache_dir() / name
    if not (folder / "meta.json").is_file():
        raise TinymlError(f"{name} is not downloaded yet: run `tinyml datasets download {name}` first "
                          f"({_megabytes(PUBLISHED[name].size)}), or give a dataset folder")
    return folder


def dataset_folder(value: str, kind: str | None = None) -> Path:
    """--dataset of the commands that train: a published dataset's name or a tinyml dataset
    folder; with `kind`, one of that kind."""
    folder = named(value) if value in PUBLISHED else Path(value)
    if not (folder / "meta.json").is_file():
        raise TinymlError(f"no tinyml dataset in {folder} (no meta.json): import one with `tinyml datasets "
                          "import`, download one with `tinyml datasets download speech-commands`, or leave "
                          "--dataset out for the synthetic set")
    found = read_meta(folder)["kind"]
    if kind is not None and found != kind:
        shown = f"{value} ({folder})" if value in PUBLISHED else str(folder)
        raise TinymlError(f"{shown} is a {found} dataset: {kind} needs a {kind} one")
    return folder


def _record(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _intact(target: Path, sha256: str | None) -> bool:
    """Whether the cached archive is the expected one (or the one recorded on first download)."""
    if sha256 is None and _record(target).is_file():
        sha256 = _record(target).read_text().split()[0]
    if sha256 is None or digest(target) == sha256:
        return True
    warn(f"{target} is damaged (not the sha256 {'recorded' if _record(target).is_file() else 'expected'} "
         f"for it): downloading it again")
    target.unlink()
    return False


def _content_range(value: str | None) -> tuple[int, int | None]:
    """(start, total) of `Content-Range: bytes START-END/TOTAL` (TOTAL may be *)."""
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", (value or "").strip())
    if not match:
        raise _Cut(f"the server answered a range request with Content-Range {value!r}")
    return int(match.group(1)), None if match.group(2) == "*" else int(match.group(2))


def _transfer(url: str, part: Path, size: int | None, sha256: str | None, max_bytes: int,
              progress: bool) -> int | None:
    """Appends the rest of url's bytes to `part` (from its current length, by an HTTP Range
    request); returns the length the server announced. Raises _Cut when the transfer stops early."""
    from tqdm import tqdm

    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"tinyml/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing after what we have: all of it, if the total says so
            whole = re.fullmatch(r"bytes \*/(\d+)", (exc.headers.get("Content-Range") or "").strip())
            if whole and int(whole.group(1)) == have:
                return have
            part.unlink()
            raise _Cut(f"the server has nothing after byte {have:,} of {url}: starting again") from None
        raise TinymlError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _Cut(f"cannot reach {url} ({getattr(exc, 'reason', exc)})") from None
    with response:
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != have:
                part.unlink()
                raise _Cut(f"the server resumed {url} at byte {start:,}, not {have:,}: starting again")
        else:  # the whole file: a server that ignores Range starts from the beginning
            have, length = 0, response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        if total is not None and size is not None and total != size:
            raise TinymlError(f"{url} is {total:,} bytes; the published {url.rsplit('/', 1)[-1]} is "
                              f"{size:,} bytes (sha256 {sha256}): another file? give its --sha256")
        if total is not None and total > max_bytes:
            raise TinymlError(f"{url} is {total:,} bytes, over the limit of {max_bytes:,} (--max-bytes)")
        with open(part, "ab" if have else "wb") as out, \
                tqdm(total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                     desc=part.name[:-len(".part")], disable=not progress) as bar:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException):
                    break  # what arrived is kept; the length check below tells a cut
                if not chunk:
                    break
                out.write(chunk)
                have += len(chunk)
                bar.update(len(chunk))
                if have > max_bytes:
                    out.close()
                    part.unlink()
                    raise TinymlError(f"{url} sent more than {max_bytes:,} bytes, the limit (--max-bytes)")
    if total is not None and have < total:
        raise _Cut(f"the transfer of {url} stopped at {have:,} of {total:,} bytes")
    return total


def fetch(url: str, target: Path, sha256: str | None = None, size: int | None = None,
          max_bytes: int = MAX_BYTES, retries: int = 3, progress: bool = True,
          echo: Callable[[str], None] = print) -> tuple[Path, bool]:
    """url's file as `target`, and whether it was downloaded now (not found in the cache).

    The bytes go to target.part first, resumed after a cut (`retries` times here, and by the
    next call after that); the whole file must have `sha256` (and `size`) when given, else the
    length the server announced, and then its sha256 is recorded beside it."""
    target = Path(target)
    if target.is_file() and _intact(target, sha256):
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    for attempt in range(retries + 1):
        try:
            total = _transfer(url, part, size, sha256, max_bytes, progress)
            break
        except _Cut as exc:
            if attempt == retries:
                resume = f" to resume from {part}" if part.is_file() else ""
                raise TinymlError(f"{exc}: run the same command again{resume}") from None
            kept = part.stat().st_size if part.is_file() else 0
            warn(f"{exc}: " + (f"resuming from byte {kept:,}" if kept else "trying again"))
            time.sleep(min(2 ** attempt, 30) - 1)
    actual = digest(part)
    if sha256 is not None and actual != sha256:
        part.unlink()
        raise TinymlError(f"{url}: the downloaded file's sha256 is {actual}, not {sha256}: a damaged "
                          "transfer or another file; it was deleted, run the command again (for a "
                          "mirror's own file, give its --sha256)")
    os.replace(part, target)
    if sha256 is None:
        with atomic_file(_record(target)) as tmp:
            tmp.write_text(f"{actual}  {target.name}\n")
        length = f"its length ({total:,} bytes)" if total is not None else "nothing (no length announced)"
        echo(f"no published checksum for {target.name}: checked {length} and recorded its sha256 in "
             f"{_record(target)}")
    return target, True


_REFUSED = {tarfile.OutsideDestinationError: "would be written outside the folder it unpacks into",
            tarfile.AbsolutePathError: "has an absolute path",
            tarfile.LinkOutsideDestinationError: "links outside the folder it unpacks into",
            tarfile.AbsoluteLinkError: "links to an absolute path",
            tarfile.SpecialFileError: "is a device or a pipe"}


def extract(archive: Path, folder: Path, max_bytes: int) -> Path:
    """The archive unpacked into `folder`, all or nothing: every member through tarfile's "data"
    filter (nothing outside the folder, no links out of it, no devices), at most max_bytes in all."""
    total = 0

    def guard(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        nonlocal total
        member = tarfile.data_filter(member, dest)
        total += member.size
        if total > max_bytes:
            raise TinymlError(f"{archive} unpacks to more than {max_bytes:,} bytes ({UNPACK_FACTOR} x "
                              "--max-bytes): refused, nothing extracted")
        return member

    try:
        with tarfile.open(archive, "r:*") as tar, atomic_folder(folder) as staging:
            tar.extractall(staging, filter=guard)
    except tarfile.FilterError as exc:
        reason = _REFUSED.get(type(exc), "is refused by tarfile's data filter")
        raise TinymlError(f"{archive}: its member {exc.tarinfo.name!r} {reason}: refused, nothing "
                          "extracted") from None
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise TinymlError(f"{archive} is not a readable .tar.gz ({exc}): delete it and download "
                          "it again") from None
    except OSError as exc:
        raise TinymlError(f"cannot unpack {archive} into {folder}: {exc}") from None
    return folder


def _layout_root(folder: Path) -> Path:
    """The folder holding the word folders: the archive's top, or its one folder (a repacked mirror)."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if not (folder / "yes").is_dir() and len(entries) == 1 and entries[0].is_dir():
        return _layout_root(entries[0])
    return folder


def download_dataset(name: str, url: str | None = None, sha256: str | None = None,
                     max_bytes: int = MAX_BYTES, retries: int = 3, force: bool = False,
                     progress: bool = True, echo: Callable[[str], None] = print) -> Path:
    """Downloads, checks, unpacks and imports a published dataset (PUBLISHED); returns the
    imported dataset folder. Each step is skipped when its result is in the cache (unless
    `force`); `url` is a mirror; `sha256` the checksum of a file that is not the published one."""
    from tinyml.datasets.speech_commands import import_speech_commands

    published = PUBLISHED[name]
    url = url or published.url
    file = Path(urlparse(url).path).name
    if not file:
        raise TinymlError(f"--url {url} names no file: give the archive's own URL (.../NAME.tar.gz)")
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise TinymlError(f"--sha256 must be 64 hexadecimal digits, not {sha256!r}")
    known = KNOWN.get(file) if sha256 is None else None
    expected = sha256.lower() if sha256 else known.sha256 if known else None
    folder = cache_dir() / name
    if not force and (folder / "meta.json").is_file():
        echo(f"Already downloaded and imported: {folder}")
        return folder
    target = downloads_dir() / file
    unpacked = downloads_dir() / re.sub(r"(\.tar)?\.(gz|tgz|bz2|xz)$|\.tar$", "", file)
    if force:
        target.unlink(missing_ok=True)
        shutil.rmtree(unpacked, ignore_errors=True)
    archive, fresh = fetch(url, target, expected, known.size if known else None, max_bytes, retries,
                           progress, echo)
    if fresh or not unpacked.is_dir():
        echo(f"Unpacking {archive}")
        extract(archive, unpacked, UNPACK_FACTOR * max_bytes)
    dataset = import_speech_commands(_layout_root(unpacked), progress=progress)
    save(dataset, folder)
    echo(f"Imported {len(dataset.x):,} examples into {folder}")
    return folder
