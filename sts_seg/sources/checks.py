"""Checks every case passes before anything is written; each failure is one line naming the case."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from sts_seg.errors import DataError


class _Files(Protocol):
    @property
    def case_id(self) -> str: ...
    @property
    def ct(self) -> Path: ...
    @property
    def pet(self) -> Path: ...
    @property
    def label(self) -> Path | None: ...


F = TypeVar("F", bound=_Files)


def unique_cases(files: Iterable[F]) -> dict[str, F]:
    """``{case id: files}`` sorted by id. Two studies that map to one case id are a DataError
    naming both (one would silently replace the other), and so is one file (its real path, links
    resolved) in two roles or two cases, e.g. a PET that is a link to its CT."""
    out: dict[str, F] = {}
    owner: dict[str, tuple[str, str, Path]] = {}  # real path -> (case, role, path)
    for f in files:
        if f.case_id in out:
            raise DataError(
                f"{out[f.case_id].ct} and {f.ct}: two studies map to one case id {f.case_id!r}; "
                "rename a folder or file so that each study has its own id"
            )
        out[f.case_id] = f
        for role, path in (("CT", f.ct), ("PET", f.pet), ("label", f.label)):
            if path is None:
                continue
            real = os.path.realpath(path)
            if real in owner:
                case, was, first = owner[real]
                same = "" if Path(first) == Path(path) else f" (the same file as {first})"
                raise DataError(
                    f"{path}{same}: used as the {was} of case {case} and as the {role} of case {f.case_id}; "
                    "every role of every case needs its own file"
                )
            owner[real] = (f.case_id, role, path)
    return dict(sorted(out.items()))


def check_arrays(where: str, ct: np.ndarray, pet: np.ndarray, label: np.ndarray | None) -> None:
    """3D, non-empty, equal shapes, finite CT/PET, integer labels >= 0 (``where`` names the case)."""
    arrays = {"CT": ct, "PET": pet} | ({"label": label} if label is not None else {})
    for name, arr in arrays.items():
        if arr.ndim != 3 or 0 in arr.shape:
            raise DataError(f"{where}: {name} has shape {arr.shape}; expected a non-empty 3D volume")
        if arr.dtype.kind not in "biuf":
            raise DataError(f"{where}: {name} holds {arr.dtype} values, not numbers")
    shapes = {name: arr.shape for name, arr in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{k} {v}" for k, v in shapes.items())
        raise DataError(f"{where}: shapes differ ({listed}); put CT, PET and label on one grid")
    for name in ("CT", "PET"):  # min and max are NaN or infinite when any value is (two fast reductions)
        arr = arrays[name]
        if arr.dtype.kind == "f" and not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
            raise DataError(f"{where}: {name} holds NaN or infinite values; fix or mask them")
    if label is not None and label.dtype.kind == "f" and not np.array_equal(label, np.round(label)):
        raise DataError(f"{where}: the label holds non-integer values; labels must be integers >= 0")
    if label is not None and label.min() < 0:
        raise DataError(f"{where}: the label holds negative values; labels must be integers >= 0")


def label_values(label: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a label volume. When max - min <= 1 (a binary label) they
    are just the min and the max: two fast reductions instead of a full ``np.unique``."""
    lo, hi = label.min(), label.max()
    if label.dtype.kind in "biu" and int(hi) - int(lo) <= 1:
        return np.unique(np.array([lo, hi], dtype=label.dtype))
    return np.unique(label)


def tumour_mask(
    where: str, label: np.ndarray, foreground: Sequence[int] | None, background: Sequence[int] = ()
) -> np.ndarray:
    """uint8 tumour mask: ``label > 0`` (``foreground`` None) or ``label`` in ``foreground``.

    With ``foreground`` given, a value that is neither 0, foreground nor ``background`` is a
    DataError that names the case and the values found.
    """
    if foreground is None:
        return (label > 0).astype(np.uint8)
    values = label_values(label)
    allowed = {0, *foreground, *background}
    unknown = sorted(int(v) for v in values if int(v) not in allowed)
    if unknown:
        found = ", ".join(str(int(v)) for v in values)
        raise DataError(
            f"{where}: label values {unknown} are neither background nor in data.foreground_labels "
            f"{list(foreground)} (found {found}); list them in data.foreground_labels or data.background_labels"
        )
    return np.isin(label, list(foreground)).astype(np.uint8)
