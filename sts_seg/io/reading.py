"""One rule for every reader: an I/O or format error of the file's library becomes a one-line
DataError that names the file and says how to fix it (the CLI prints it and exits 1).

Only errors that a bad file can cause are mapped: :data:`READ_ERRORS` (or the types a call site
passes), the error classes that h5py, nibabel and PIL define, the ``KeyError``/``RuntimeError``
that h5py raises for a corrupt object, and whatever Pillow's decoders raise from their own code.
Anything else (``TypeError``, ``AttributeError``, ``IndexError``, ... raised by stsseg's code) is
a bug and propagates as one: the CLI reports it as an internal error.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sts_seg.errors import DataError, StsSegError

#: what reading a missing, truncated or malformed file raises, whatever the library:
#: OSError (gzip.BadGzipFile, PIL's UnidentifiedImageError and most h5py errors among them),
#: ValueError (json.JSONDecodeError, UnicodeDecodeError among them), zlib and struct errors,
#: EOFError, OverflowError (header fields out of range) and MemoryError (a header that claims
#: more than fits)
READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    EOFError,
    OverflowError,
    MemoryError,
    zlib.error,
    struct.error,
)

#: packages whose own exception classes all mean "this file is not what it claims"
#: (nibabel's ImageFileError and HeaderDataError, PIL's DecompressionBombError, h5py's errors)
_LIBRARIES = ("h5py", "nibabel", "PIL")
#: built-in types that are format errors when the library raises them from its own code: h5py's
#: ``KeyError: 'Unable to open object (bad object header ...)'``; Pillow's decoders raise any type
#: on corrupt data (``SyntaxError: broken PNG file``, a ``TypeError`` deep in a TIFF tag, ...)
_RAISED_BY_LIBRARY: dict[str, tuple[type[BaseException], ...]] = {
    "h5py": (KeyError, RuntimeError),
    "PIL": (Exception,),
}


def _root(module: str | None) -> str:
    return (module or "").split(".")[0]


def _raised_by(exc: BaseException) -> str:
    """The top-level package of the code that raised ``exc`` (the innermost Python frame)."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return _root(tb.tb_frame.f_globals.get("__name__"))


def is_read_error(exc: BaseException, errors: tuple[type[BaseException], ...] = READ_ERRORS) -> bool:
    """True when ``exc`` says the file is bad (see the module docstring), not that the code is."""
    if isinstance(exc, errors) or _root(type(exc).__module__) in _LIBRARIES:
        return True
    return isinstance(exc, _RAISED_BY_LIBRARY.get(_raised_by(exc), ()))


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextmanager
def reading(
    path: Path | str,
    what: str = "file",
    fix: str = "re-create it or choose another file",
    errors: tuple[type[BaseException], ...] = READ_ERRORS,
) -> Iterator[None]:
    """Map a read error raised while reading ``path`` to ``DataError("<path>: cannot read <what> ...")``.

    ``errors``: the exception types that mean a bad file at this call site (default
    :data:`READ_ERRORS`; the libraries' own error classes always count). Other exceptions pass
    through unchanged.
    """
    try:
        yield
    except StsSegError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: {what} not found") from None
    except Exception as exc:
        if not is_read_error(exc, errors):
            raise
        raise DataError(f"{path}: cannot read {what} ({exc.__class__.__name__}: {_short(exc)}); {fix}") from exc


def read_json(path: Path, what: str = "JSON file", fix: str = "re-create it") -> Any:
    """Parse a UTF-8 JSON file; a missing, non-UTF-8, malformed or absurdly nested file is a DataError naming it."""
    with reading(path, what, fix, (*READ_ERRORS, RecursionError)):
        return json.loads(Path(path).read_text(encoding="utf-8"))
