"""3D post-processing of predicted label volumes (pure numpy/scipy)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sts_seg.core.components import drop_small, largest


def postprocess(
    mask: np.ndarray,
    spacing_mm: Sequence[float],
    keep_largest: int | None = None,
    min_volume_ml: float = 0.0,
) -> np.ndarray:
    """``[z, y, x]`` label volume -> cleaned uint8 0/1 volume (a no-op with the defaults).

    Components (26-connectivity) smaller than ``min_volume_ml`` are dropped first, then only the
    ``keep_largest`` largest remain (None: all).
    """
    fg = np.asarray(mask) > 0
    if min_volume_ml > 0:
        voxel_ml = float(np.prod(spacing_mm)) / 1000.0
        fg = drop_small(fg, int(np.ceil(min_volume_ml / voxel_ml)))
    if keep_largest is not None:
        fg = largest(fg, keep_largest)
    return fg.astype(np.uint8)
