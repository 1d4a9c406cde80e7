"""autoPET-style lesion-level false-positive and false-negative volumes in mm³.

* FP volume: total volume of the *predicted* connected components that share no voxel with the
  truth (a wrong detection, counted whole; a component that touches the truth counts 0 even
  where it spills over).
* FN volume: total volume of the *truth* connected components that share no voxel with the
  prediction (a missed lesion, counted whole).

Components use full connectivity by default (3D: 26-neighbourhood, 2D: 8). The official autoPET
``val_script.py`` labels with ``cc3d`` connectivity 18 and reports millilitres; pass
``connectivity=2`` (scipy rank: 1 = faces, 2 = +edges, 3 = +corners) and divide by 1000 to
match it exactly. ``eval.connectivity`` names the neighbourhood as cc3d does (6, 18 or 26);
:func:`rank_of` turns it into the scipy rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from sts_seg.core.components import untouched_voxels
from sts_seg.metrics.overlap import check_pair
from sts_seg.metrics.spacing import check_spacing, voxel_volume_mm3

#: a 3D neighbourhood as cc3d and autoPET name it: 6 (faces), 18 (+ edges), 26 (+ corners)
Connectivity = Literal[6, 18, 26]
_RANKS = {6: 1, 18: 2, 26: 3}


def rank_of(connectivity: int, ndim: int) -> int:
    """The scipy rank of a 3D neighbourhood (6, 18 or 26) for ``ndim``-D masks: 1, 2 or 3 in 3D;
    a 2D slice has no corners beyond its edges, so there 6 -> 4-neighbourhood, 18 and 26 -> 8."""
    if connectivity not in _RANKS:
        raise ValueError(f"connectivity must be 6, 18 or 26 (a 3D neighbourhood), got {connectivity!r}")
    return min(_RANKS[connectivity], ndim)


def lesion_volumes(
    pred: np.ndarray,
    truth: np.ndarray,
    spacing: Sequence[float],
    *,
    connectivity: int | None = None,
) -> tuple[float, float]:
    """``(fp_mm3, fn_mm3)`` for two same-shape masks (foreground = ``> 0``).

    ``spacing`` is per axis in mm; the voxel volume is its product (mm² for 2D input).
    ``connectivity`` is the scipy rank (1..ndim); ``None`` means full (26 in 3D).
    """
    p, t = check_pair(pred, truth)
    sp = check_spacing(spacing, p.ndim)
    vox = voxel_volume_mm3(sp)
    return untouched_voxels(p, t, connectivity) * vox, untouched_voxels(t, p, connectivity) * vox
