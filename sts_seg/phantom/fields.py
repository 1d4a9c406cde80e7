"""Array helpers shared by the phantom modules: smooth random fields, profiles, ellipse distances.

All randomness comes from an explicit ``numpy.random.Generator``; nothing touches global state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _upsampler(n: int, c: int) -> np.ndarray:
    """``(n, c)`` matrix spreading ``c`` coarse samples smoothly (Gaussian weights) over ``n``."""
    pos = np.linspace(0.0, c - 1.0, n)[:, None]
    w = np.exp(-0.5 * ((pos - np.arange(c)[None, :]) / 0.7) ** 2)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def smooth_noise(rng: np.random.Generator, shape: Sequence[int], scale: float) -> np.ndarray:
    """Zero-mean, unit-std float32 random field of ``shape`` whose correlation length is about
    ``scale`` voxels: coarse white noise, upsampled separably with Gaussian weights (cheap)."""
    shape = tuple(int(n) for n in shape)
    coarse = tuple(max(2, int(np.ceil(n / max(scale, 1.0))) + 2) for n in shape)
    field = rng.standard_normal(coarse).astype(np.float32)
    for n, c in zip(shape[::-1], coarse[::-1], strict=True):  # last axis, then rotate it to the front
        field = (field.reshape(-1, c) @ _upsampler(n, c).T).reshape((*field.shape[:-1], n))
        field = np.ascontiguousarray(np.moveaxis(field, -1, 0))
    std = float(field.std())
    return ((field - field.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def smooth_series(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """A smooth 1D zero-mean unit-std series of length ``n`` (correlation length ``scale``)."""
    return smooth_noise(rng, (max(n, 2),), scale)[:n]


def profile(u: np.ndarray, knots: Sequence[tuple[float, float]], outside: float | None = None) -> np.ndarray:
    """Piecewise-linear ``value(u)`` through ``(u, value)`` knots; ``outside`` beyond them (else
    the end values)."""
    xs, ys = zip(*knots, strict=True)
    left = right = outside
    return np.interp(u, xs, ys, left=left, right=right).astype(np.float32)


def rho(yy: np.ndarray, xx: np.ndarray, cy: np.ndarray, cx: np.ndarray, ay: np.ndarray, ax: np.ndarray) -> np.ndarray:
    """Normalised elliptical radius (1 on the outline) of voxel grid ``yy``/``xx`` for ellipses
    with centres ``cy``/``cx`` and semi-axes ``ay``/``ax`` (voxels), all broadcast together."""
    ay = np.maximum(ay, 1e-3)
    ax = np.maximum(ax, 1e-3)
    return np.sqrt(((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2)


def z_extent(active: np.ndarray) -> slice:
    """The slice range ``[first, last]`` where the 1D boolean ``active`` is True (empty if none)."""
    idx = np.flatnonzero(active)
    return slice(int(idx[0]), int(idx[-1]) + 1) if idx.size else slice(0, 0)


def col(a: np.ndarray) -> np.ndarray:
    """A per-slice ``(nz,)`` array as ``(nz, 1, 1)`` for broadcasting against ``(nz, ny, nx)``."""
    return np.asarray(a, dtype=np.float32)[:, None, None]


def paint_ellipses(
    cls: np.ndarray,
    value: int,
    cy: np.ndarray,
    cx: np.ndarray,
    ay: np.ndarray,
    ax: np.ndarray,
    where: np.ndarray | None = None,
) -> None:
    """Set the ``(nz, ny, nx)`` class volume ``cls`` to ``value`` inside per-slice ellipses
    (``(nz,)`` centres and semi-axes in voxels; slices with a semi-axis below 0.05 are skipped).
    ``where``, a boolean lookup table over class values, limits which classes may be overwritten."""
    on = (ay > 0.05) & (ax > 0.05)
    zs = z_extent(on)
    if zs.stop <= zs.start:
        return
    ny, nx = cls.shape[1:]
    cy, cx, ay, ax, on = cy[zs], cx[zs], ay[zs], ax[zs], on[zs]
    y0 = max(0, int(np.floor((cy - ay)[on].min())))
    y1 = min(ny, int(np.ceil((cy + ay)[on].max())) + 1)
    x0 = max(0, int(np.floor((cx - ax)[on].min())))
    x1 = min(nx, int(np.ceil((cx + ax)[on].max())) + 1)
    if y1 <= y0 or x1 <= x0:
        return
    yy = np.arange(y0, y1, dtype=np.float32)[None, :, None]
    xx = np.arange(x0, x1, dtype=np.float32)[None, None, :]
    inside = (rho(yy, xx, col(cy), col(cx), col(ay), col(ax)) < 1.0) & col(on).astype(bool)
    sub = cls[zs, y0:y1, x0:x1]
    if where is not None:
        inside &= where[sub]
    sub[inside] = value
