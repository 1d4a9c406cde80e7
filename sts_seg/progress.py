"""Progress reporting: stages call ``progress(done, total, label)``; the CLI renders it with rich."""

from __future__ import annotations

from collections.abc import Callable

#: progress callback: ``progress(done, total, label)``
ProgressFn = Callable[[int, int, str], None]


def no_progress(done: int, total: int, label: str) -> None:
    """The default progress callback: do nothing."""
