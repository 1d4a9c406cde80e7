"""Resampling volumes between voxel spacings (pure numpy).

Convention (scikit-image ``resize`` with ``order=1, mode="edge", anti_aliasing=False``, the one
nnU-Net uses): the volume's extent is kept (the outer voxel edges are aligned), output voxel ``i``
of an axis of ``n -> m`` voxels samples input coordinate ``(i + 0.5) * n / m - 0.5`` (clamped to
the volume), and the new shape is ``round(shape * spacing / target)``. Images are interpolated
linearly, one axis at a time (the same values as scikit-image's, about 5x faster). Labels are
resampled label-safely: the binary mask is interpolated linearly and thresholded at 0.5, which
keeps volumes far better than nearest neighbour when the spacing changes by non-integer factors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def target_shape(shape: Sequence[int], spacing: Sequence[float], target: Sequence[float]) -> tuple[int, int, int]:
    """The ``(z, y, x)`` shape that covers the same extent at ``target`` spacing (mm)."""
    return tuple(max(1, round(n * s / t)) for n, s, t in zip(shape, spacing, target, strict=True))  # type: ignore[return-value]


def _axis(vol: np.ndarray, axis: int, m: int) -> np.ndarray:
    """Linear resampling of one axis of ``vol`` (float32) to ``m`` samples."""
    n = vol.shape[axis]
    c = np.clip((np.arange(m, dtype=np.float64) + 0.5) * (n / m) - 0.5, 0.0, n - 1)
    i0 = np.floor(c).astype(np.intp)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (c - i0).astype(np.float32).reshape([-1 if a == axis else 1 for a in range(vol.ndim)])
    lo, out = vol.take(i0, axis=axis), vol.take(i1, axis=axis)
    out -= lo  # lo + (hi - lo) * w, in place: two volume-sized allocations per axis, not four
    out *= w
    out += lo
    return out


def resample_image(vol: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Linear resampling of a float volume to ``shape`` (float32); a no-op when the shape is equal.

    Axes are resampled one at a time, the most shrinking first (the least work).
    """
    out = np.asarray(vol).astype(np.float32, copy=False)
    if tuple(out.shape) == tuple(shape):
        return out
    for axis in sorted(range(out.ndim), key=lambda a: shape[a] / out.shape[a]):
        if out.shape[axis] != shape[axis]:
            out = _axis(out, axis, int(shape[axis]))
    return out


def resample_mask(mask: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Label-safe resampling of a binary mask (foreground ``> 0``) to ``shape``: linear, then >= 0.5."""
    fg = (np.asarray(mask) > 0).astype(np.float32)
    if tuple(fg.shape) == tuple(shape):
        return fg.astype(np.uint8)
    return (resample_image(fg, shape) >= 0.5).astype(np.uint8)
