"""Files from ../shared/: beside the clone here and in CI, absent from a user's clone. Tests
that read them skip, with the reason, when they are missing."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
MLPERF = SHARED / "mlperf-tiny"


def _missing(path: Path) -> str:
    return f"needs {path}: ../shared/ is not beside this clone"


def shared_path(*parts: str) -> Path:
    """The file under ../shared/, or a skip of the calling test naming it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(_missing(path))
    return path


def with_shared(*parts: str) -> pytest.MarkDecorator:
    """A skip mark for a test (or a parameter) that needs a file under ../shared/."""
    path = SHARED.joinpath(*parts)
    return pytest.mark.skipif(not path.exists(), reason=_missing(path))
