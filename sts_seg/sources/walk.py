"""Finding a dataset's files: every layout walks its tree with :func:`find_files`, which follows
symbolic links to folders (users link patient folders into a tree) without walking one real
folder twice, so a link loop ends and one folder linked in twice is read once (with a note)."""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from pathlib import Path

from sts_seg.errors import DataError


def _refuse(exc: OSError) -> None:
    raise DataError(f"{exc.filename}: cannot list the folder ({exc.strerror}); fix its permissions or remove it")


def find_files(root: Path, pattern: str = "*", *, skipped: list[str] | None = None) -> list[Path]:
    """Sorted files at any depth under ``root`` whose name matches ``pattern`` (``fnmatch``,
    case-sensitive, e.g. ``"CTres.nii.gz"`` or ``"*__CT.nii.gz"``).

    Links to folders are followed; each real folder (``os.path.realpath``) is walked once, so a
    link back to an ancestor (a loop) or a second link to a folder already walked is not entered
    again: it is described in ``skipped`` when a list is given. Paths are as reached from
    ``root`` (through a link's own name, not its target). Links to files count as files; broken
    links are left out. A folder that cannot be listed is a DataError naming it.
    """
    root = Path(root)
    seen = {os.path.realpath(root): root}
    out = []
    for top, dirs, files in os.walk(root, followlinks=True, onerror=_refuse):
        kept = []
        for d in sorted(dirs):
            real = os.path.realpath(os.path.join(top, d))
            if real in seen:
                if skipped is not None:
                    skipped.append(f"{Path(top, d)} is {seen[real]} again (a symbolic link); not read twice")
                continue
            seen[real] = Path(top, d)
            kept.append(d)
        dirs[:] = kept  # os.walk descends only into these
        out += [Path(top, f) for f in files if fnmatchcase(f, pattern) and os.path.isfile(os.path.join(top, f))]
    return sorted(out)
