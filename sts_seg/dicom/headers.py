"""pydicom at the edge: the lazy import (an optional extra) and header reads whose errors name the file."""

from __future__ import annotations

import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from sts_seg.errors import ConfigError, DataError

HINT = "pip install 'stsseg[dicom]'"


def pydicom() -> ModuleType:
    """The ``pydicom`` module, or a one-line :class:`ConfigError` saying which extra installs it."""
    try:
        import pydicom as module
    except ImportError:
        raise ConfigError(f"reading DICOM needs pydicom, which is not installed: {HINT}") from None
    return module


def read_header(path: Path, pixels: bool = False) -> Any | None:
    """The pydicom Dataset of ``path`` (without pixel data unless ``pixels``), or None if it is no DICOM file.

    pydicom's warnings about over-long values (common in exported headers) are silenced: they do not
    affect what is read here.
    """
    dicom = pydicom()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dicom.dcmread(str(path), stop_before_pixels=not pixels)
    except dicom.errors.InvalidDicomError:
        return None
    except Exception as e:  # pydicom raises many types on damaged files
        raise DataError(f"{path}: cannot read the DICOM file ({type(e).__name__}: {e}); re-export it") from None


def text(ds: Any, keyword: str) -> str | None:
    """A header value as stripped text, None when absent or empty."""
    value = ds.get(keyword)
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def number(ds: Any, keyword: str) -> float | None:
    """A numeric header value (DS/IS/US), None when absent, empty or not a number."""
    value = ds.get(keyword)
    if value is None or str(value).strip() == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def numbers(ds: Any, keyword: str) -> tuple[float, ...] | None:
    """A multi-valued numeric header value (e.g. ImagePositionPatient), None when absent or malformed."""
    value = ds.get(keyword)
    if value is None or str(value).strip() == "":
        return None
    items = list(value) if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue" else [value]
    try:
        return tuple(float(v) for v in items)
    except (TypeError, ValueError):
        return None
