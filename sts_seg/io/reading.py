"""One rule for every reader: any exception of the file's library becomes a one-line DataError
that names the file and says how to fix it (the CLI prints it and exits 1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sts_seg.errors import DataError, StsSegError


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextmanager
def reading(path: Path | str, what: str = "file", fix: str = "re-create it or choose another file") -> Iterator[None]:
    """Map any exception raised while reading ``path`` to ``DataError("<path>: cannot read <what> ...")``."""
    try:
        yield
    except StsSegError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: {what} not found") from None
    except Exception as exc:  # the library's own error types vary (OSError, ValueError, KeyError, ...)
        raise DataError(f"{path}: cannot read {what} ({exc.__class__.__name__}: {_short(exc)}); {fix}") from exc


def read_json(path: Path, what: str = "JSON file", fix: str = "re-create it") -> Any:
    """Parse a UTF-8 JSON file; a missing, non-UTF-8 or malformed file is a DataError naming it."""
    with reading(path, what, fix):
        return json.loads(Path(path).read_text(encoding="utf-8"))
