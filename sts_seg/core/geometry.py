"""Native slice <-> model canvas, with an exact, recorded inverse; no pixel is ever dropped.

``pad``: the native ``(h, w)`` slice is centred on a zero canvas of ``(canvas_h, canvas_w)``
without resampling, so the inverse is exact. A placement that would crop is refused: the
canvas is chosen from the dataset's largest slice (:func:`choose_canvas`), and at inference a
larger slice gets a larger canvas (:func:`inference_placement`; the UNet is fully convolutional).
``resize``: bilinear for images, nearest for masks (a mask never holds an in-between label); the
scale is recorded, and the inverse resizes label maps back with nearest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from skimage.transform import resize

Mode = Literal["pad", "resize"]


@dataclass(frozen=True)
class Placement:
    """How a native ``(native_h, native_w)`` slice sits on a ``(canvas_h, canvas_w)`` canvas.

    For ``pad``, ``(offset_y, offset_x)`` is the canvas position of native pixel (0, 0).
    """

    mode: Mode
    native_h: int
    native_w: int
    canvas_h: int
    canvas_w: int
    offset_y: int = 0
    offset_x: int = 0

    @property
    def scale(self) -> tuple[float, float]:
        """Canvas px per native px along (y, x): 1 for ``pad``."""
        if self.mode == "pad":
            return 1.0, 1.0
        return self.canvas_h / self.native_h, self.canvas_w / self.native_w

    @property
    def downsamples(self) -> bool:
        """True when ``resize`` shrinks the slice (masks lose detail)."""
        return min(self.scale) < 1.0


def round_up(n: int, divisor: int) -> int:
    """The smallest multiple of ``divisor`` that is >= ``n``."""
    return -(-int(n) // int(divisor)) * int(divisor)


def choose_canvas(native_shapes: Iterable[Sequence[int]], divisor: int) -> int:
    """Square canvas side: the largest native slice side rounded up to a multiple of ``divisor``."""
    side = max(max(int(s[-2]), int(s[-1])) for s in native_shapes)
    return round_up(side, divisor)


def placement_for(native_shape: Sequence[int], canvas: int | tuple[int, int], mode: Mode) -> Placement:
    """Centred placement of a native ``(h, w)`` slice on the canvas; ValueError if ``pad`` would crop."""
    h, w = int(native_shape[0]), int(native_shape[1])
    ch, cw = (canvas, canvas) if isinstance(canvas, int) else (int(canvas[0]), int(canvas[1]))
    if mode == "resize":
        return Placement("resize", h, w, ch, cw)
    if h > ch or w > cw:
        raise ValueError(f"a {h}x{w} px slice does not fit a {ch}x{cw} px canvas without cropping")
    return Placement("pad", h, w, ch, cw, (ch - h) // 2, (cw - w) // 2)


def inference_placement(native_shape: Sequence[int], canvas: int, divisor: int, mode: Mode) -> Placement:
    """The training placement, on a canvas grown (to a multiple of ``divisor``) when the slice is larger."""
    if mode == "resize":
        return placement_for(native_shape, canvas, mode)
    h, w = int(native_shape[0]), int(native_shape[1])
    return placement_for((h, w), (max(canvas, round_up(h, divisor)), max(canvas, round_up(w, divisor))), mode)


def _resize(arr: np.ndarray, shape: tuple[int, ...], nearest: bool) -> np.ndarray:
    out = resize(
        arr.astype(np.float32),
        shape,
        order=0 if nearest else 1,
        mode="edge",
        anti_aliasing=False,
        preserve_range=True,
    )
    return out.astype(arr.dtype)


def to_canvas(arr: np.ndarray, p: Placement, is_mask: bool = False) -> np.ndarray:
    """``(h, w[, C])`` -> ``(canvas_h, canvas_w[, C])``; masks nearest, images bilinear."""
    if p.mode == "resize":
        return _resize(arr, (p.canvas_h, p.canvas_w, *arr.shape[2:]), nearest=is_mask)
    canvas = np.zeros((p.canvas_h, p.canvas_w, *arr.shape[2:]), dtype=arr.dtype)
    canvas[p.offset_y : p.offset_y + p.native_h, p.offset_x : p.offset_x + p.native_w] = arr
    return canvas


def to_native(canvas: np.ndarray, p: Placement, nearest: bool = True) -> np.ndarray:
    """Canvas ``(canvas_h, canvas_w[, C])`` label (or, ``nearest=False``, probability) map ->
    native ``(h, w[, C])``."""
    if p.mode == "resize":
        return _resize(canvas, (p.native_h, p.native_w, *canvas.shape[2:]), nearest=nearest)
    return canvas[p.offset_y : p.offset_y + p.native_h, p.offset_x : p.offset_x + p.native_w].copy()


def fit_image(img: np.ndarray, size: int, channels: int, what: str = "image") -> np.ndarray:
    """``(h, w, c)`` uint8 -> ``(size, size, channels)``: grey is repeated, other sizes resized.

    ValueError (naming ``what``) when the channel count cannot be matched.
    """
    img = fit_channels(img, channels, what)
    if img.shape[:2] != (size, size):
        img = to_canvas(img, placement_for(img.shape[:2], size, "resize"))
    return img


def fit_channels(img: np.ndarray, channels: int, what: str = "image") -> np.ndarray:
    """``(h, w, c)`` uint8 with ``channels`` channels: grey repeated, RGB averaged to grey."""
    if img.shape[2] == channels:
        return img
    if img.shape[2] == 1:
        return np.repeat(img, channels, axis=2)
    if channels == 1:
        return img.mean(axis=2, keepdims=True).round().astype(np.uint8)
    raise ValueError(f"{what}: image has {img.shape[2]} channels, the model expects {channels}")


def fit_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """``(h, w)`` labels -> ``(size, size)`` with nearest interpolation."""
    if mask.shape != (size, size):
        mask = to_canvas(mask, placement_for(mask.shape, size, "resize"), is_mask=True)
    return mask
