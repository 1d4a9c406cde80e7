"""Pure-numpy pictures: mask overlays, outlines and image grids (uint8 RGB ``(H, W, 3)``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sts_seg.core.components import boundary

YELLOW = (255, 255, 0)
GREEN = (0, 220, 0)
RED = (255, 40, 40)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` -> uint8 ``(H, W, 3)``."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return np.clip(img[..., :3], 0, 255).astype(np.uint8)


def blend(image: np.ndarray, mask: np.ndarray, alpha: float = 0.45, color: Sequence[int] = YELLOW) -> np.ndarray:
    """Mask foreground blended over the image with ``alpha``."""
    rgb = to_rgb(image).astype(np.float32)
    fg = np.asarray(mask) > 0
    rgb[fg] = (1 - alpha) * rgb[fg] + alpha * np.asarray(color, np.float32)
    return rgb.round().astype(np.uint8)


def draw_outlines(image: np.ndarray, truth: np.ndarray | None, pred: np.ndarray | None) -> np.ndarray:
    """Truth outline in green, prediction outline in red, over the image."""
    rgb = to_rgb(image).copy()
    if truth is not None:
        rgb[boundary(truth)] = GREEN
    if pred is not None:
        rgb[boundary(pred)] = RED
    return rgb


def grid(rows: Sequence[Sequence[np.ndarray]], pad: int = 2, scale: int = 1) -> np.ndarray:
    """Tile equally sized RGB tiles row by row, with ``pad`` px of grey between them."""
    tiles = [[np.kron(to_rgb(t), np.ones((scale, scale, 1), np.uint8)) for t in r] for r in rows]
    h, w = tiles[0][0].shape[:2]
    ncol = max(len(r) for r in tiles)
    out = np.full((len(tiles) * (h + pad) + pad, ncol * (w + pad) + pad, 3), 64, np.uint8)
    for i, r in enumerate(tiles):
        for j, t in enumerate(r):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            out[y : y + h, x : x + w] = t
    return out
