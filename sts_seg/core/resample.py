"""Resampling volumes between voxel spacings (pure numpy/scikit-image).

Convention (scikit-image ``resize``, the one nnU-Net uses): the volume's extent is kept, voxel
centres are mapped linearly (edges aligned), and the new shape is ``round(shape * spacing / target)``.
Images are interpolated linearly. Labels are resampled label-safely: the binary mask is
interpolated linearly and thresholded at 0.5, which keeps volumes far better than nearest
neighbour when the spacing changes by non-integer factors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from skimage.transform import resize


def target_shape(shape: Sequence[int], spacing: Sequence[float], target: Sequence[float]) -> tuple[int, int, int]:
    """The ``(z, y, x)`` shape that covers the same extent at ``target`` spacing (mm)."""
    return tuple(max(1, round(n * s / t)) for n, s, t in zip(shape, spacing, target, strict=True))  # type: ignore[return-value]


def resample_image(vol: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Linear resampling of a float volume to ``shape`` (float32); a no-op when the shape is equal."""
    if tuple(vol.shape) == tuple(shape):
        return vol.astype(np.float32, copy=False)
    out = resize(vol.astype(np.float32), tuple(shape), order=1, mode="edge", anti_aliasing=False, preserve_range=True)
    return out.astype(np.float32)


def resample_mask(mask: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Label-safe resampling of a binary mask (foreground ``> 0``) to ``shape``: linear, then >= 0.5."""
    fg = (np.asarray(mask) > 0).astype(np.float32)
    if tuple(fg.shape) == tuple(shape):
        return fg.astype(np.uint8)
    return (resample_image(fg, shape) >= 0.5).astype(np.uint8)
