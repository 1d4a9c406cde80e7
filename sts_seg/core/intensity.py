"""CT/PET slice -> image channels, as float in 0..255 (quantised after geometry).

``channels`` mode: each channel clips one modality to a window (HU for CT, SUV for PET) and
scales it linearly to 0..255. ``seed_sum`` mode reproduces the original project's single grey
channel for parity only: per-slice ``n(s) = (255 s - m) / (M - m)`` (its
missing-255 slip included), CT + PET summed; it discards HU/SUV meaning and is not recommended.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: one channel: ``(modality, low, high)``, modality ``"ct"`` (HU) or ``"pet"`` (SUV)
Window = tuple[str, float, float]


def window(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Clip to ``[lo, hi]`` and scale linearly to ``[0, 255]`` (float32)."""
    v = np.clip(np.asarray(values, dtype=np.float32), lo, hi)
    return (v - lo) * np.float32(255.0 / (hi - lo))


def seed_normalize(s: np.ndarray) -> np.ndarray:
    """The original per-slice ``normalize``: ``(255 s - m) / (M - m)``; zeros for a flat slice."""
    s = np.asarray(s, dtype=np.float64)
    m, M = float(s.min()), float(s.max())
    if m == M:
        return np.zeros_like(s, dtype=np.float32)
    return ((255.0 * s - m) / (M - m)).astype(np.float32)


def render_slice(ct: np.ndarray, pet: np.ndarray, mode: str, windows: Sequence[Window]) -> np.ndarray:
    """``(H, W)`` CT (HU) and PET (SUV) -> ``(H, W, C)`` float32 image in 0..255 (unclipped for seed_sum).

    ``mode`` ``"channels"``: one channel per window; ``"seed_sum"``: the original's grey sum.
    """
    if mode == "seed_sum":
        return (seed_normalize(ct) + seed_normalize(pet))[..., None]
    src = {"ct": ct, "pet": pet}
    return np.stack([window(src[modality], lo, hi) for modality, lo, hi in windows], axis=-1)


def quantize(image: np.ndarray) -> np.ndarray:
    """Round and saturate to uint8 (what OpenCV's ``imwrite`` does to floats)."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
