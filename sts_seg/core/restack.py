"""Slices back onto the native ``[z, y, x]`` grid through the prepare manifest's rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from sts_seg.core.geometry import Placement, to_native


class SliceRecord(Protocol):
    """What restacking needs of a manifest row: where the slice came from and how it was placed."""

    case: str
    z: int
    native_z: int
    native_h: int
    native_w: int

    @property
    def name(self) -> str: ...

    @property
    def placement(self) -> Placement: ...


def restack(rows: Sequence[SliceRecord], masks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{case: (Z, Y, X) uint8}`` from canvas masks keyed by slice name; absent slices stay 0."""
    vols: dict[str, np.ndarray] = {}
    for r in rows:
        vol = vols.get(r.case)
        if vol is None:
            vol = vols[r.case] = np.zeros((r.native_z, r.native_h, r.native_w), np.uint8)
        vol[r.z] = to_native(masks[r.name], r.placement)
    return vols


def covered_slices(rows: Sequence[SliceRecord]) -> dict[str, np.ndarray]:
    """``{case: (Z,) bool}``: which slices of each volume the rows cover."""
    out: dict[str, np.ndarray] = {}
    for r in rows:
        out.setdefault(r.case, np.zeros(r.native_z, bool))[r.z] = True
    return out
