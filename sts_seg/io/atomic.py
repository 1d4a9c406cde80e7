"""All-or-nothing outputs: everything is built in a temporary sibling and renamed into place.

A temporary sibling is named ``.<name>.tmp-<pid>-<random>``. On an exception it is removed at
once; when the process is killed (SIGKILL, power loss) it stays behind, and the next write of
the same output removes every such sibling whose process is no longer alive, so a rerun never
trips over it. SIGTERM is turned into an exception by the CLI (:func:`exit_on_sigterm`), so
``kill`` cleans up too.

Replacing a folder (``--force``) takes two renames, so it is made durable: the old output is
first renamed aside to ``.<name>.old-<pid>-<random>``, then the new one is renamed in, then the
aside copy is renamed to a temporary name and deleted. A process killed in between leaves the
aside copy; the next command that writes (or checks) the output settles it
(:func:`clean_leftovers`): with ``<name>`` missing the new output never landed and the old one
is restored; with ``<name>`` present the replace completed and the aside copy is deleted.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sts_seg.errors import DataError, OverwriteError

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old|partial)-(?P<pid>\d+)(?:-.*)?$")
#: the aside copies this process holds in the middle of a replace (never settled by itself)
_HELD: set[Path] = set()
_log = logging.getLogger(__name__)


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


def _stale(p: Path, m: re.Match[str]) -> bool:
    pid = int(m["pid"])
    if pid == os.getpid():  # an aside copy of this pid that this process does not hold: a reused pid
        return m["kind"] == "old" and p not in _HELD
    return not pid_alive(pid)


def leftovers(path: Path) -> list[Path]:
    """Temporary and aside siblings of ``path`` left by processes that are no longer running."""
    parent = Path(path).parent
    if not parent.is_dir():
        return []
    out = []
    for p in parent.iterdir():
        m = _LEFTOVER.match(p.name)
        if m and m["name"] == Path(path).name and _stale(p, m):
            out.append(p)
    return sorted(out)


def remove(path: Path) -> None:
    """Delete a file or a folder tree (missing is fine)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def clean_leftovers(path: Path) -> list[Path]:
    """Settle what killed writes of ``path`` left: when ``path`` is missing, an old output set aside
    by an unfinished replace is renamed back (the newest, if several); every other leftover of a
    dead process is removed. Returns the removed ones."""
    path = Path(path)
    found = leftovers(path)
    asides = [p for p in found if _LEFTOVER.match(p.name)["kind"] == "old"]  # type: ignore[index]
    if asides and not _exists(path):
        newest = max(asides, key=lambda p: p.lstat().st_ctime_ns)  # a rename sets ctime
        os.rename(newest, path)
        found.remove(newest)
        _log.warning("%s: restored the previous output from %s (a replace was interrupted)", path, newest.name)
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
    """Refuse a non-empty ``path`` unless ``force``, and a ``path`` inside a plain file (after
    settling what a killed write of ``path`` left, so a restored output is refused too)."""
    path = Path(path)
    check_parent(path, what)
    clean_leftovers(path)
    if path.exists() and not path.is_dir():
        raise OverwriteError(f"{path}: exists and is not a directory; choose another {what}")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise OverwriteError(f"{path}: {what} is not empty; pass --force to replace it")


def _open_permissions(path: Path, mode: int) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)  # mkdtemp/mkstemp make 0700/0600


def _sibling(path: Path, kind: str) -> Path:
    return path.parent / f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def replace_dir(src: Path, dst: Path) -> None:
    """Move the finished ``src`` (a folder, or a file) to ``dst``, replacing an existing ``dst``
    durably: ``dst`` is renamed aside, ``src`` renamed in, and only then is the aside copy renamed
    to a temporary name and removed. A kill at any point leaves ``dst`` or an aside copy that
    :func:`clean_leftovers` restores."""
    src, dst = Path(src), Path(dst)
    if not _exists(dst):
        os.rename(src, dst)
        return
    old = _sibling(dst, "old")
    _HELD.add(old)
    try:
        os.rename(dst, old)
        try:
            os.rename(src, dst)
        except BaseException:
            if not _exists(dst):
                os.rename(old, dst)  # the new output did not land: put the old one back
            raise
        trash = _sibling(dst, "tmp")
        os.rename(old, trash)  # from here a leftover is only ever deleted, never restored
    finally:
        _HELD.discard(old)
    remove(trash)


@contextmanager
def staged_dir(path: Path, force: bool = False, what: str = "output directory") -> Iterator[Path]:
    """Yield an empty sibling temp dir; on success it replaces ``path`` (:func:`replace_dir`).

    On any exception the temp dir is removed and ``path`` is left untouched.
    """
    path = Path(path)
    check_writable_dir(path, force, what)  # settles leftovers first
    path.parent.mkdir(parents=True, exist_ok=True)
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
    """Yield a temp file path next to ``path``; it is renamed onto ``path`` on success (one
    ``os.replace``, atomic: ``path`` is the old file or the new one at every moment)."""
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
