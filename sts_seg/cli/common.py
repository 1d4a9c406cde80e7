"""Shared CLI pieces: option aliases, the one-line error contract, rich progress."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sts_seg.config import Config, load_config
from sts_seg.errors import StsSegError
from sts_seg.progress import ProgressFn

#: width of the console off a terminal: wider than any table, so none is cut (lines are not padded)
LOG_WIDTH = 100_000


def output_console(file: IO[str] | None = None) -> Console:
    """A console on ``file`` (default stdout): a terminal's own width; elsewhere (``make demo``, CI
    logs, pipes) :data:`LOG_WIDTH`, so tables come out at their full width instead of being cut."""
    stream = sys.stdout if file is None else file
    tty = hasattr(stream, "isatty") and stream.isatty()
    return Console(file=file, width=None if tty else LOG_WIDTH)


console = output_console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigArg = Annotated[
    Path | None,
    typer.Argument(
        help="YAML config, or a shipped config's name (stsseg config list); without it the built-in defaults "
        "(the sts recipe) apply.",
        show_default=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key, e.g. --set train.epochs=3 (repeatable).", show_default=False),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace existing outputs.")]
SourceOpt = Annotated[
    Path | None,
    typer.Option(
        "--source", "--h5", help="A Kaggle HDF5, a folder (NIfTI cases, DICOM studies) or a case list .csv/.json."
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` as one line on stderr; return the exit to raise."""
    err_console.print(f"error: {message}", markup=False)
    return typer.Exit(1)


#: exit code of an internal error (a bug in stsseg): sysexits.h's EX_SOFTWARE, apart from 1 (bad
#: input) and 2 (click's usage errors)
INTERNAL_ERROR = 70


def internal_error(exc: BaseException) -> typer.Exit:
    """Print the one-line internal-error report for ``exc``; return the exit to raise."""
    what = " ".join(f"{exc.__class__.__name__}: {exc}".split())[:200]
    err_console.print(
        f"error: internal error ({what}); please report it with the command you ran "
        "(STSSEG_DEBUG=1 shows the traceback)",
        markup=False,
    )
    return typer.Exit(INTERNAL_ERROR)


#: the exceptions a command raises to end on purpose (not bugs)
_EXITS = (typer.Exit, typer.Abort, typer.TyperException)  # typer >= 0.29 vendors click; its errors derive from this


def handle_errors(fn: F) -> F:
    """User errors -> one line on stderr, exit 1; any other exception is a bug -> one
    "internal error, please report" line, exit :data:`INTERNAL_ERROR`. ``STSSEG_DEBUG=1``
    re-raises both with a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _EXITS:
            raise
        except StsSegError as exc:
            if os.environ.get("STSSEG_DEBUG") == "1":
                raise
            raise fail(str(exc)) from None
        except Exception as exc:
            if os.environ.get("STSSEG_DEBUG") == "1":
                raise
            raise internal_error(exc) from None

    return wrapper  # type: ignore[return-value]


def config_from(path: Path | None, overrides: list[str] | None, values: dict[str, Any] | None = None) -> Config:
    """The one override mechanism: YAML file < ``--set`` < command-line options (``values``,
    dotted config keys; options left at None change nothing)."""
    return load_config(path, tuple(overrides or ()), values)


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ INFO/WARNING lines off the terminal (see :mod:`sts_seg.runtime`)."""
    from sts_seg.runtime import quiet_tensorflow as quiet

    quiet()


@contextmanager
def progress_bar(description: str, quiet: bool = False, stop_when_done: bool = False) -> Iterator[ProgressFn]:
    """A rich bar driven by ``progress(done, total, label)`` callbacks, on a terminal; elsewhere
    (logs, pipes) a plain line per 10 % only with ``STSSEG_PROGRESS=1``, so that a failing command
    prints nothing but its one error line. ``stop_when_done`` ends the live display at
    ``done == total`` (so another display, e.g. training, can follow)."""
    lines = not sys.stderr.isatty() and os.environ.get("STSSEG_PROGRESS") == "1" and not quiet
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[label]}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet or not sys.stderr.isatty(),
    )
    task = bar.add_task(description, total=None, label="")

    def update(done: int, total: int, label: str) -> None:
        bar.update(task, completed=done, total=total, label=label)
        if lines and (done == total or done % max(1, total // 10) == 0):
            err_console.print(f"{description}: {done}/{total} {label}", markup=False)
        if stop_when_done and done == total:
            bar.stop()

    with bar:
        yield update
