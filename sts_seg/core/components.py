"""Connected components of binary masks: the one helper that baseline, post-processing, lesion
metrics and the phantom share, plus the mask boundary that surface metrics and outlines use.

``connectivity`` is scipy's rank: 1 = faces (6 in 3D, 4 in 2D) ... ``ndim`` = full (26 in 3D,
8 in 2D); ``None`` means full.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def structure(ndim: int, connectivity: int | None = None) -> np.ndarray:
    """scipy's binary structure for ``ndim`` axes and ``connectivity`` (None = full)."""
    rank = ndim if connectivity is None else connectivity
    if not 1 <= rank <= ndim:
        raise ValueError(f"connectivity must be in 1..{ndim} for {ndim}D masks, got {rank}")
    return ndimage.generate_binary_structure(ndim, rank)


def label(mask: np.ndarray, connectivity: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, sizes)``: component labels (0 = background, 1..n in raster order of each
    component's first voxel) and ``sizes[k]`` = voxels of component k (``sizes[0]`` = background)."""
    fg = np.asarray(mask) > 0
    labels, n = ndimage.label(fg, structure=structure(fg.ndim, connectivity))
    return labels, np.bincount(labels.ravel(), minlength=n + 1)


def largest(mask: np.ndarray, keep: int | None = 1, connectivity: int | None = None) -> np.ndarray:
    """Boolean ``mask`` reduced to its ``keep`` largest components; ``None`` keeps all.

    Ties in size go to the component met first in raster (C) order, so the result is
    deterministic.
    """
    fg = np.asarray(mask) > 0
    if keep is None or not fg.any():
        return fg.copy()
    labels, sizes = label(fg, connectivity)
    n = len(sizes) - 1
    if n <= keep:
        return fg.copy()
    order = np.argsort(-sizes[1:], kind="stable")  # label order is raster order of first voxel
    chosen = np.zeros(n + 1, dtype=bool)
    chosen[order[:keep] + 1] = True
    return chosen[labels]


def drop_small(mask: np.ndarray, min_voxels: int, connectivity: int | None = None) -> np.ndarray:
    """Boolean ``mask`` without the components that have fewer than ``min_voxels`` voxels."""
    fg = np.asarray(mask) > 0
    if min_voxels <= 1 or not fg.any():
        return fg
    labels, sizes = label(fg, connectivity)
    keep = sizes >= min_voxels
    keep[0] = False
    return keep[labels]


def untouched_voxels(source: np.ndarray, other: np.ndarray, connectivity: int | None = None) -> int:
    """Voxels of the components of ``source`` that share no voxel with ``other``."""
    labels, sizes = label(source, connectivity)
    if len(sizes) == 1:
        return 0
    hit = np.zeros(len(sizes), dtype=bool)
    hit[labels[np.asarray(other) > 0]] = True
    hit[0] = True  # background is not a component
    return int(sizes[~hit].sum())


def boundary(mask: np.ndarray) -> np.ndarray:
    """Boolean border of ``mask`` (same shape): foreground voxels with a face-adjacent
    background voxel; voxels outside the array count as background (2D: 4-neighbourhood)."""
    fg = np.asarray(mask)
    fg = fg if fg.dtype == np.bool_ else fg > 0
    if fg.ndim == 0:
        raise ValueError("a boundary needs an array with at least one axis")
    eroded = ndimage.binary_erosion(fg, structure=structure(fg.ndim, 1), border_value=0)
    return fg & ~eroded
