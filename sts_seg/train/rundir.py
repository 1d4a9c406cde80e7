"""The run folder appears complete at its final path or not at all.

A run is written into ``.<name>.partial`` beside the final path and renamed into place when
training ends. ``owner.json`` in it names the process writing it. If that process was killed,
the partial folder stays: ``--resume`` continues it, and a fresh run removes it first. Resuming
a finished run copies it into a partial folder, continues there and replaces the old folder
at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from sts_seg.errors import OverwriteError
from sts_seg.io.atomic import check_parent, clean_leftovers, pid_alive, remove, replace_dir

OWNER = "owner.json"


def partial_path(run_dir: Path) -> Path:
    return Path(run_dir).parent / f".{Path(run_dir).name}.partial"


def _owner_pid(partial: Path) -> int | None:
    try:
        return int(json.loads((partial / OWNER).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _busy(partial: Path) -> bool:
    pid = _owner_pid(partial)
    return pid is not None and pid != os.getpid() and pid_alive(pid)


@dataclass(frozen=True)
class RunFolder:
    """``final``: where the run ends up; ``work``: where it is written; ``resumed_from``: "final",
    "partial" (an interrupted run) or None (a fresh run); ``notes`` for the user."""

    final: Path
    work: Path
    resumed_from: str | None
    notes: tuple[str, ...] = ()

    def commit(self) -> None:
        """Rename the finished ``work`` folder onto ``final``."""
        (self.work / OWNER).unlink(missing_ok=True)
        replace_dir(self.work, self.final)


def check_run(run_dir: Path, force: bool, resume: bool) -> None:
    """Refuse a run that would be lost or cannot be resumed; changes nothing beyond settling what a
    killed replace of ``run_dir`` left (:func:`~sts_seg.io.atomic.clean_leftovers`)."""
    run_dir, partial = Path(run_dir), partial_path(run_dir)
    check_parent(run_dir, "run folder")
    clean_leftovers(run_dir)  # restores a run that a killed --force replace had set aside
    if partial.exists() and _busy(partial):
        raise OverwriteError(f"{run_dir}: another stsseg train (pid {_owner_pid(partial)}) is writing this run")
    if resume:
        if not (run_dir / "last.keras").is_file() and not (partial / "last.keras").is_file():
            raise OverwriteError(f"{run_dir}: nothing to resume (no last.keras); drop --resume to start a new run")
    elif run_dir.exists() and not run_dir.is_dir():
        raise OverwriteError(f"{run_dir}: exists and is not a folder; choose another --run")
    elif run_dir.is_dir() and any(run_dir.iterdir()) and not force:
        raise OverwriteError(f"{run_dir}: run directory exists; pass --force to replace it or --resume to continue")


def open_run(run_dir: Path, force: bool, resume: bool) -> RunFolder:
    """:func:`check_run`, then the work folder: fresh, an interrupted partial run, or a copy of the final one."""
    check_run(run_dir, force, resume)
    run_dir, partial = Path(run_dir), partial_path(run_dir)
    notes: list[str] = []
    source = None
    if resume and (partial / "last.keras").is_file():
        source = "partial"
        notes.append(f"resuming the interrupted run in {partial}")
    else:
        if partial.exists():
            remove(partial)
            notes.append(f"removed {partial}, left by an interrupted run")
        if resume:
            source = "final"
            shutil.copytree(run_dir, partial)
        else:
            partial.mkdir(parents=True)
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (partial / OWNER).write_text(json.dumps(owner))
    return RunFolder(run_dir, partial, source, tuple(notes))
