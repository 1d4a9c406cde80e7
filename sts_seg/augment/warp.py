"""Backward warping with given source-coordinate maps (pure numpy).

Convention: pixel centres sit at integer coordinates, ``(0, 0)`` is the top-left pixel, ``y`` is
the row and ``x`` the column. A warp gets two ``(H, W)`` maps ``src_y, src_x`` and writes
``out[y, x] = in[src_y[y, x], src_x[y, x]]``. Everything outside the input is background 0:

* images: bilinear with a constant 0 border (as OpenCV ``remap(INTER_LINEAR, BORDER_CONSTANT)``),
  so a sample half a pixel outside blends the edge pixel with 0;
* masks: nearest neighbour (round half up), 0 outside, so a mask never gains a label.

All channels of an image are sampled with the same weights, so they move identically.
"""

from __future__ import annotations

import numpy as np


def identity_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(ys, xs)`` broadcastable float32 index grids ``(H, 1)`` and ``(1, W)``."""
    h, w = shape
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    return ys, xs


def to_dtype_like(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Float result back to ``like``'s dtype: uint8 is rounded and saturated to 0..255."""
    if like.dtype == np.uint8:
        values = np.rint(values)
        return np.clip(values, 0, 255, out=values).astype(np.uint8)
    return values.astype(like.dtype, copy=False)


def warp_image(image: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """Bilinear backward warp of ``(H, W)`` or ``(H, W, C)``; 0 outside; same dtype out.

    ``src_y``/``src_x``: source coordinates in pixels, broadcastable to the output ``(H', W')``.
    Integer coordinates (flips, multiples of 90°) take a copy-only path with the same result.
    """
    img = image if image.ndim == 3 else image[..., None]
    h, w, c = img.shape
    src_y, src_x = np.broadcast_arrays(np.asarray(src_y, dtype=np.float32), np.asarray(src_x, dtype=np.float32))
    # channel planes with a one-pixel zero frame: the constant border becomes ordinary samples
    planes = np.zeros((c, h + 2, w + 2), dtype=np.float32)
    planes[:, 1:-1, 1:-1] = np.moveaxis(img, -1, 0)
    planes = planes.reshape(c, -1)
    sy = np.clip(src_y, -1.0, float(h)).ravel()
    sx = np.clip(src_x, -1.0, float(w)).ravel()
    y0 = np.minimum(np.floor(sy), h - 1)
    x0 = np.minimum(np.floor(sx), w - 1)
    wy, wx = sy - y0, sx - x0
    i00 = (y0.astype(np.intp) + 1) * (w + 2) + (x0.astype(np.intp) + 1)
    out = np.empty((c, sy.size), dtype=np.float32)
    if not (wy.any() or wx.any()):
        for k in range(c):
            np.take(planes[k], i00, out=out[k])
    else:
        i01, i10 = i00 + 1, i00 + (w + 2)
        i11 = i10 + 1
        w11 = wy * wx
        w10, w01 = wy - w11, wx - w11
        w00 = 1.0 - wy - w01
        for k in range(c):  # np.take on a flat plane is several times faster than row gathers
            plane, acc = planes[k], out[k]
            np.take(plane, i00, out=acc)
            acc *= w00
            acc += np.take(plane, i01) * w01
            acc += np.take(plane, i10) * w10
            acc += np.take(plane, i11) * w11
    res = to_dtype_like(out, image).reshape(c, *src_y.shape)
    res = np.ascontiguousarray(np.moveaxis(res, 0, -1))
    return res[..., 0] if image.ndim == 2 else res


def warp_mask(mask: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """Nearest-neighbour backward warp of a ``(H, W)`` label mask; 0 outside; never new labels."""
    h, w = mask.shape
    src_y, src_x = np.broadcast_arrays(np.asarray(src_y, dtype=np.float32), np.asarray(src_x, dtype=np.float32))
    padded = np.zeros((h + 2, w + 2), dtype=mask.dtype)
    padded[1:-1, 1:-1] = mask
    iy = np.clip(np.floor(src_y + 0.5), -1, h).astype(np.intp) + 1
    ix = np.clip(np.floor(src_x + 0.5), -1, w).astype(np.intp) + 1
    return padded[iy, ix]


def warp_pair(
    image: np.ndarray, mask: np.ndarray, src_y: np.ndarray, src_x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Warp image (bilinear) and mask (nearest) with the SAME source maps."""
    if image.shape[:2] != mask.shape:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape} differ in size")
    return warp_image(image, src_y, src_x), warp_mask(mask, src_y, src_x)


def affine_maps(
    shape: tuple[int, int], matrix: np.ndarray, center: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Source maps of an output->source affine map about ``center`` (default the true centre).

    ``matrix`` is 2x2 in ``(y, x)`` order: ``src - c = matrix @ (dst - c)``.
    """
    h, w = shape
    cy, cx = ((h - 1) / 2.0, (w - 1) / 2.0) if center is None else center
    ys, xs = identity_grid(shape)
    dy, dx = ys - np.float32(cy), xs - np.float32(cx)
    m = np.asarray(matrix, dtype=np.float64)
    src_y = np.float32(m[0, 0]) * dy + np.float32(m[0, 1]) * dx + np.float32(cy)
    src_x = np.float32(m[1, 0]) * dy + np.float32(m[1, 1]) * dx + np.float32(cx)
    return src_y, src_x
