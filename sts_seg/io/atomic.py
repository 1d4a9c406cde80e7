"""All-or-nothing outputs: everything is built in a temporary sibling and renamed into place.

A temporary sibling is named ``.<name>.tmp-<pid>-<random>`` (``.<name>.old-<pid>`` while a
replaced output is being removed). On an exception it is removed at once; when the process is
killed (SIGKILL, power loss) it stays behind, and the next write of the same output removes
every such sibling whose process is no longer alive, so a rerun never trips over it. SIGTERM is
turned into an exception by the CLI (:func:`exit_on_sigterm`), so ``kill`` cleans up too.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sts_seg.errors import DataError, OverwriteError

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old|partial)-(?P<pid>\d+)(?:-.*)?$")


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def leftovers(path: Path) -> list[Path]:
    """Temporary siblings of ``path`` left by processes that are no longer running."""
    parent = Path(path).parent
    if not parent.is_dir():
        return []
    out = []
    for p in parent.iterdir():
        m = _LEFTOVER.match(p.name)
        if m and m["name"] == Path(path).name and not pid_alive(int(m["pid"])) and int(m["pid"]) != os.getpid():
            out.append(p)
    return sorted(out)


def remove(path: Path) -> None:
    """Delete a file or a folder tree (missing is fine)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_leftovers(path: Path) -> list[Path]:
    """Remove the temporary siblings of ``path`` that dead processes left; return them."""
    found = leftovers(path)
    for p in found:
        remove(p)
    return found


def check_parent(path: Path, what: str) -> None:
    """The nearest existing ancestor of ``path`` must be a folder (not a plain file)."""
    for parent in Path(path).absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataError(f"{path}: {parent} is a file, not a folder; choose another {what} location")
            return


def check_writable_dir(path: Path, force: bool, what: str = "output directory") -> None:
    """Refuse a non-empty ``path`` unless ``force``, and a ``path`` inside a plain file."""
    path = Path(path)
    check_parent(path, what)
    if path.exists() and not path.is_dir():
        raise OverwriteError(f"{path}: exists and is not a directory; choose another {what}")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise OverwriteError(f"{path}: {what} is not empty; pass --force to replace it")


def _open_permissions(path: Path, mode: int) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)  # mkdtemp/mkstemp make 0700/0600


def replace_dir(src: Path, dst: Path) -> None:
    """Move the finished folder ``src`` to ``dst``, replacing an existing ``dst`` (two renames;
    the replaced folder is removed afterwards)."""
    old = None
    if dst.exists():
        old = dst.parent / f".{dst.name}.old-{os.getpid()}"
        remove(old)
        dst.rename(old)
    src.rename(dst)
    if old is not None:
        remove(old)


@contextmanager
def staged_dir(path: Path, force: bool = False, what: str = "output directory") -> Iterator[Path]:
    """Yield an empty sibling temp dir; on success it replaces ``path`` in one rename.

    On any exception the temp dir is removed and ``path`` is left untouched.
    """
    path = Path(path)
    check_writable_dir(path, force, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent))
    _open_permissions(tmp, 0o777)
    try:
        yield tmp
    except BaseException:
        remove(tmp)
        raise
    replace_dir(tmp, path)


@contextmanager
def staged_file(path: Path) -> Iterator[Path]:
    """Yield a temp file path next to ``path``; it is renamed onto ``path`` on success."""
    path = Path(path)
    check_parent(path, "output")
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    fd, name = tempfile.mkstemp(
        prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent, suffix="".join(path.suffixes)
    )
    os.close(fd)
    tmp = Path(name)
    _open_permissions(tmp, 0o666)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def exit_on_sigterm() -> None:
    """Make SIGTERM raise ``SystemExit`` in the main thread, so staged outputs are removed."""
    signal.signal(signal.SIGTERM, _raise_exit)
