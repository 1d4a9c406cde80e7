"""Native slice <-> model canvas (``size x size``), with an exact, recorded inverse.

``pad``: the native slice is centred on a zero canvas (cropped centrally if larger); no
resampling, so the inverse is exact. ``resize``: bilinear for images, nearest for masks (a mask
never holds an in-between label); the inverse resizes masks back with nearest, which restores a
label exactly when the canvas is at least as large as the slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from skimage.transform import resize

Mode = Literal["pad", "resize"]


@dataclass(frozen=True)
class Placement:
    """How a native ``(h, w)`` slice sits on the ``size x size`` canvas.

    For ``pad``, ``(offset_y, offset_x)`` is the canvas position of native pixel (0, 0);
    negative offsets mean the slice was cropped.
    """

    mode: Mode
    native_h: int
    native_w: int
    size: int
    offset_y: int = 0
    offset_x: int = 0


def placement_for(native_shape: tuple[int, int], size: int, mode: Mode) -> Placement:
    """Centred placement of a native slice on the canvas."""
    h, w = native_shape
    if mode == "resize":
        return Placement("resize", h, w, size)
    return Placement("pad", h, w, size, (size - h) // 2, (size - w) // 2)


def _spans(offset: int, n: int, size: int) -> tuple[slice, slice]:
    """(canvas slice, native slice) along one axis."""
    c0, c1 = max(offset, 0), min(offset + n, size)
    return slice(c0, c1), slice(c0 - offset, c1 - offset)


def to_canvas(arr: np.ndarray, p: Placement, is_mask: bool = False) -> np.ndarray:
    """``(h, w[, C])`` -> ``(size, size[, C])``; masks nearest, images bilinear."""
    if p.mode == "resize":
        out_shape = (p.size, p.size, *arr.shape[2:])
        out = resize(
            arr.astype(np.float32),
            out_shape,
            order=0 if is_mask else 1,
            mode="edge",
            anti_aliasing=False,
            preserve_range=True,
        )
        return out.astype(arr.dtype)
    canvas = np.zeros((p.size, p.size, *arr.shape[2:]), dtype=arr.dtype)
    cy, ny = _spans(p.offset_y, p.native_h, p.size)
    cx, nx = _spans(p.offset_x, p.native_w, p.size)
    canvas[cy, cx] = arr[ny, nx]
    return canvas


def to_native(mask: np.ndarray, p: Placement) -> np.ndarray:
    """Canvas ``(size, size)`` label map -> native ``(h, w)`` (nearest; cropped parts are 0)."""
    if p.mode == "resize":
        out = resize(mask, (p.native_h, p.native_w), order=0, mode="edge", anti_aliasing=False, preserve_range=True)
        return out.astype(mask.dtype)
    native = np.zeros((p.native_h, p.native_w), dtype=mask.dtype)
    cy, ny = _spans(p.offset_y, p.native_h, p.size)
    cx, nx = _spans(p.offset_x, p.native_w, p.size)
    native[ny, nx] = mask[cy, cx]
    return native


def fit_image(img: np.ndarray, size: int, channels: int, what: str = "image") -> np.ndarray:
    """``(h, w, c)`` uint8 -> ``(size, size, channels)``: grey is repeated, other sizes resized.

    ValueError (naming ``what``) when the channel count cannot be matched.
    """
    if img.shape[2] != channels:
        if img.shape[2] == 1:
            img = np.repeat(img, channels, axis=2)
        elif channels == 1:
            img = img.mean(axis=2, keepdims=True).round().astype(np.uint8)
        else:
            raise ValueError(f"{what}: image has {img.shape[2]} channels, the model expects {channels}")
    if img.shape[:2] != (size, size):
        img = to_canvas(img, placement_for(img.shape[:2], size, "resize"))
    return img


def fit_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """``(h, w)`` labels -> ``(size, size)`` with nearest interpolation."""
    if mask.shape != (size, size):
        mask = to_canvas(mask, placement_for(mask.shape, size, "resize"), is_mask=True)
    return mask


def back_to_shape(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A ``(S, S)`` label map resized (nearest) to an image's own ``(h, w)``; no-op if equal."""
    if mask.shape == tuple(shape):
        return mask
    return to_native(mask, Placement("resize", shape[0], shape[1], mask.shape[0]))
