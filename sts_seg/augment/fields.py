"""Cheap smooth random fields: Gaussian-filtered white noise as two small matrix products.

A field ``G_sigma * noise`` (optionally differentiated, scipy's ``order``) is smooth on the scale
``sigma``, so it is fully described by samples every few pixels. ``smooth_noise`` therefore draws
the noise on a grid ``f = floor(sigma / 4)`` times coarser (coarse sigma 4..8 px), filters it there
and upsamples bilinearly. The filter (scipy ``mode='reflect'``, ``truncate=4``) is a cached matrix
per axis, so filtering is ``Fy @ noise @ Fx.T`` on the small grid. The amplitude is rescaled so
the field has the standard deviation the full-resolution filter would give (measured within a
few % away from the borders), hence Simard's ``alpha`` keeps its meaning. With ``f == 1``
(sigma < 8 px) the result equals ``scipy.ndimage.gaussian_filter`` on that noise.

For sigma = 40 px at 512 px this is a 53 x 53 noise grid instead of 512 x 512 and two matrix
products on it plus one bilinear upsampling, instead of two 321-tap convolution passes over
the full 512 x 512 field per component.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: the coarse grid keeps at least this many samples per sigma
COARSE_SIGMA = 4.0
TRUNCATE = 4.0


def gaussian_kernel1d(sigma: float, order: int = 0, truncate: float = TRUNCATE) -> np.ndarray:
    """scipy's 1D Gaussian kernel (``order`` 0 or 1), as a convolution kernel ``k[j + r]``."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 * (x / sigma) ** 2)
    phi /= phi.sum()
    if order == 0:
        return phi
    if order == 1:
        return -x / (sigma * sigma) * phi
    raise ValueError(f"derivative order must be 0 or 1, got {order}")


def _reflect(i: np.ndarray, n: int) -> np.ndarray:
    """scipy ``mode='reflect'`` (d c b a | a b c d | d c b a) index folding for any ``i``."""
    i = np.mod(i, 2 * n)
    return np.where(i >= n, 2 * n - 1 - i, i)


@lru_cache(maxsize=16)
def filter_matrix(n: int, sigma: float, order: int = 0) -> np.ndarray:
    """``(n, n)`` matrix M with ``M @ v == gaussian_filter1d(v, sigma, order=order)`` (reflect)."""
    k = gaussian_kernel1d(sigma, order)
    r = len(k) // 2
    rows = np.broadcast_to(np.arange(n)[:, None], (n, 2 * r + 1))
    src = _reflect(rows - np.arange(-r, r + 1)[None, :], n)  # out[i] = sum_j k(j) in[i - j]
    m = np.zeros((n, n))
    np.add.at(m, (rows, src), np.broadcast_to(k, rows.shape))
    return m


def _upsample_taps(n_out: int, n_in: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation taps ``(i0, w)``: output ``i`` = ``(1-w) v[i0] + w v[i0+1]``, at ``i/f``."""
    pos = np.arange(n_out, dtype=np.float64) / factor
    i0 = np.minimum(np.floor(pos).astype(np.intp), n_in - 2)
    return i0, (pos - i0).astype(np.float32)


def coarse_factor(sigma: float) -> int:
    """Grid step ``f`` of the noise for a field of scale ``sigma`` px (1 = full resolution)."""
    return max(1, int(sigma // COARSE_SIGMA))


def noise_shape(shape: tuple[int, int], sigma: float) -> tuple[int, int]:
    """Shape of the (coarse) noise grid that ``smooth_noise`` filters for ``shape`` and ``sigma``."""
    f = coarse_factor(sigma)
    if f == 1:
        return shape
    return ((shape[0] - 1) // f + 2, (shape[1] - 1) // f + 2)


@lru_cache(maxsize=16)
def _axis_filter(n: int, sigma: float, order: int) -> np.ndarray:
    """``(n_coarse, n_coarse)`` filter of one axis on the noise grid, amplitude-matched."""
    f = coarse_factor(sigma)
    if f == 1:
        return filter_matrix(n, sigma, order)
    k_full = gaussian_kernel1d(sigma, order)
    k_coarse = gaussian_kernel1d(sigma / f, order)
    # white-noise std of the filtered field: sqrt(sum k^2) per axis; match the full-res value
    gain = np.sqrt((k_full**2).sum() / (k_coarse**2).sum())
    return gain * filter_matrix((n - 1) // f + 2, sigma / f, order)


def _upsample(field: np.ndarray, shape: tuple[int, int], factor: int) -> np.ndarray:
    """Bilinear upsampling of a coarse field to ``shape`` (coarse sample j at pixel j*factor)."""
    if factor == 1:
        return field.astype(np.float32)
    iy, wy = _upsample_taps(shape[0], field.shape[0], factor)
    ix, wx = _upsample_taps(shape[1], field.shape[1], factor)
    f32 = field.astype(np.float32)
    rows = f32[iy] * (1 - wy)[:, None] + f32[iy + 1] * wy[:, None]  # (H, w)
    return rows[:, ix] * (1 - wx) + rows[:, ix + 1] * wx


def filter_noise(
    noise: np.ndarray, shape: tuple[int, int], sigma: float, order: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """``(H, W)`` float32 field from noise of ``noise_shape(shape, sigma)``; ``order`` = (y, x)."""
    a = _axis_filter(shape[0], float(sigma), order[0])
    b = _axis_filter(shape[1], float(sigma), order[1])
    if noise.shape != (a.shape[1], b.shape[1]):
        raise ValueError(f"noise shape {noise.shape} != {(a.shape[1], b.shape[1])}")
    return _upsample(a @ noise @ b.T, shape, coarse_factor(sigma))


def smooth_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    sigma: float,
    order: tuple[int, int] = (0, 0),
    kind: str = "normal",
) -> np.ndarray:
    """One draw of ``gaussian_filter(noise, sigma, order)`` for ``(H, W)``; ``kind``: normal|uniform.

    ``uniform`` is U(-1, 1) (Simard's elastic field), ``normal`` N(0, 1) (the distortion tool).
    """
    ns = noise_shape(shape, sigma)
    noise = rng.uniform(-1.0, 1.0, ns) if kind == "uniform" else rng.standard_normal(ns)
    return filter_noise(noise, shape, sigma, order)


def gradient_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """``(dy, dx)``: gradient of ONE Gaussian-smoothed N(0,1) noise (the distortion tool's field)."""
    noise = rng.standard_normal(noise_shape(shape, sigma))
    return filter_noise(noise, shape, sigma, (1, 0)), filter_noise(noise, shape, sigma, (0, 1))


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (reflect border) of ``(H, W)`` or ``(H, W, C)``; float32 out."""
    img = np.asarray(image, dtype=np.float32)
    h, w = img.shape[:2]
    my = filter_matrix(h, float(sigma), 0).astype(np.float32)
    mx = filter_matrix(w, float(sigma), 0).astype(np.float32)
    out = np.einsum("ij,jk...->ik...", my, img, optimize=True)
    return np.einsum("kj,ij...->ik...", mx, out, optimize=True)
