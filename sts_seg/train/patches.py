"""Training patches (nnU-Net's patch sampling, in 2D): a ``size x size`` window of a slice.

A slice that holds foreground is cut around one of its foreground pixels, so the patch holds
tumour; a slice without it around one of its ``hot`` pixels when given (a hard negative keeps its
hot structure), else at a uniform position. The chosen pixel lands in the middle half of the
patch (uniform jitter of ±size/4), clipped so the window stays inside the slice. Pure numpy.
"""

from __future__ import annotations

import numpy as np


def patch_origin(
    mask: np.ndarray, size: int, rng: np.random.Generator, hot: np.ndarray | None = None
) -> tuple[int, int]:
    """Top-left corner ``(y0, x0)`` of a ``size x size`` window of the ``(H, W)`` slice whose
    label map is ``mask``; ``hot``: optional ``(H, W)`` bool, used when ``mask`` is empty."""
    h, w = mask.shape
    if size > h or size > w:
        raise ValueError(f"a {size} px patch does not fit a {w}x{h} px slice")
    targets = np.flatnonzero(mask)
    if not targets.size and hot is not None:
        targets = np.flatnonzero(hot)
    if not targets.size:
        return int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    cy, cx = divmod(int(targets[rng.integers(0, targets.size)]), w)
    jitter = rng.integers(-(size // 4), size // 4 + 1, size=2)
    y0 = int(np.clip(cy - size // 2 + jitter[0], 0, h - size))
    x0 = int(np.clip(cx - size // 2 + jitter[1], 0, w - size))
    return y0, x0


def crop_patch(
    image: np.ndarray,
    mask: np.ndarray,
    size: int,
    rng: np.random.Generator,
    hot_channel: int | None = None,
    hot_level: int = 255,
) -> tuple[np.ndarray, np.ndarray]:
    """``(image[y0:y0+size, x0:x0+size], mask[...])`` of an ``(H, W, C)`` image and its ``(H, W)``
    mask; a tumour-free slice is cut around a pixel whose ``hot_channel`` reaches ``hot_level``
    (uint8) when one does."""
    hot = None if hot_channel is None else image[..., hot_channel] >= hot_level
    y0, x0 = patch_origin(mask, size, rng, hot)
    return image[y0 : y0 + size, x0 : x0 + size], mask[y0 : y0 + size, x0 : x0 + size]
