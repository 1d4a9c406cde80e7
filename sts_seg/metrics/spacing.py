"""Voxel spacing: one positive, finite size in mm per array axis, in array order."""

from __future__ import annotations

import math
from collections.abc import Sequence


def check_spacing(spacing: Sequence[float], ndim: int) -> tuple[float, ...]:
    """``spacing`` as a tuple of floats (mm), one per axis: ``(z, y, x)`` for 3D, ``(y, x)`` for 2D.

    Raises ``ValueError`` for a wrong length or a non-positive / non-finite entry.
    """
    try:
        values = tuple(float(s) for s in spacing)
    except TypeError as exc:
        raise ValueError(f"spacing must be a sequence of {ndim} floats in mm, got {spacing!r}") from exc
    if len(values) != ndim:
        raise ValueError(f"spacing {values} has {len(values)} entries; the masks have {ndim} axes")
    if not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing {values} must be positive and finite (mm)")
    return values


def voxel_volume_mm3(spacing: Sequence[float]) -> float:
    """Volume of one voxel in mm³ (mm² for 2D): the product of the spacing."""
    return float(math.prod(float(s) for s in spacing))
