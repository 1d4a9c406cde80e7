"""Outputs are built in a temporary place and renamed into place, never left half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sts_seg.errors import OverwriteError


def check_writable_dir(path: Path, force: bool, what: str = "output directory") -> None:
    """Refuse a non-empty ``path`` unless ``force``."""
    if path.exists() and not path.is_dir():
        raise OverwriteError(f"{path}: exists and is not a directory; choose another {what}")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise OverwriteError(f"{path}: {what} is not empty; pass --force to replace it")


@contextmanager
def staged_dir(path: Path, force: bool = False, what: str = "output directory") -> Iterator[Path]:
    """Yield an empty sibling temp dir; on success it replaces ``path`` in one rename.

    On any exception the temp dir is removed and ``path`` is left untouched.
    """
    path = Path(path)
    check_writable_dir(path, force, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = path.parent / f".{path.name}.old-{os.getpid()}"
        path.rename(old)
    tmp.rename(path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_file(path: Path) -> Iterator[Path]:
    """Yield a temp file path next to ``path``; it is renamed onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent, suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
