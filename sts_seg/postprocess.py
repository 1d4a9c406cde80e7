"""3D post-processing of predicted label volumes (pure numpy/scipy)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from sts_seg.baseline import largest_components
from sts_seg.config import PostprocessConfig


def drop_small(mask: np.ndarray, min_voxels: int) -> np.ndarray:
    """Remove connected components (full connectivity) with fewer than ``min_voxels`` voxels."""
    fg = np.asarray(mask) > 0
    if min_voxels <= 1 or not fg.any():
        return fg
    labels, n = ndimage.label(fg, structure=ndimage.generate_binary_structure(fg.ndim, fg.ndim))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_voxels
    keep[0] = False
    return keep[labels]


def postprocess(mask: np.ndarray, cfg: PostprocessConfig, spacing_mm: tuple[float, ...]) -> np.ndarray:
    """``[z, y, x]`` label volume -> cleaned uint8 0/1 volume (a no-op with the defaults)."""
    fg = np.asarray(mask) > 0
    if cfg.min_volume_ml > 0:
        voxel_ml = float(np.prod(spacing_mm)) / 1000.0
        fg = drop_small(fg, int(np.ceil(cfg.min_volume_ml / voxel_ml)))
    if cfg.keep_largest is not None:
        fg = largest_components(fg, cfg.keep_largest)
    return fg.astype(np.uint8)


def is_active(cfg: PostprocessConfig) -> bool:
    return cfg.keep_largest is not None or cfg.min_volume_ml > 0
