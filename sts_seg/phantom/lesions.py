"""Sarcomas and hot lymph nodes, painted into the class volume.

A sarcoma is a union of 1-3 rotated ellipsoids whose surface is perturbed by smooth noise
(3-14 cm across, longer along the limb), placed in a leg below the groin, clipped by bone and
bulging the skin when it reaches it. Large ones may have a necrotic core (labelled as tumour).
Nodes are 1-2 cm balls in the groin or next to a tumour; they are never labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sts_seg.core.components import largest
from sts_seg.phantom.fields import smooth_noise
from sts_seg.phantom.layout import Layout
from sts_seg.phantom.tissue import TUMOUR_CLASSES, Tissue, allow

T = Tissue
NOT_TUMOUR = allow(T.CORTEX, T.MARROW, T.SPONGY, T.BLADDER, T.BOWEL, *TUMOUR_CLASSES)


@dataclass(frozen=True)
class Lesion:
    """One lesion in the sub-box ``box`` of the volume; arrays have the box's shape.

    ``mask``: lesion voxels (necrosis included); ``core``: necrotic core (subset of ``mask``);
    ``depth``: distance to the surface over its maximum, 0..1; ``texture``: unit-std smooth
    field for heterogeneity; ``peak``: relative uptake (tumours) or SUV (nodes)."""

    box: tuple[slice, slice, slice]
    mask: np.ndarray
    core: np.ndarray
    depth: np.ndarray
    texture: np.ndarray
    peak: float
    diameter_mm: float


def _rotation(rng: np.random.Generator) -> np.ndarray:
    """A random rotation about z with a small tilt (3x3, acting on (z, y, x))."""
    a, t = rng.uniform(0, np.pi), rng.uniform(-0.3, 0.3)
    rz = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(t), 0, -np.sin(t)], [0, 1, 0], [np.sin(t), 0, np.cos(t)]])
    return rz @ ry


def _shape(rng: np.random.Generator, lay: Layout, centre: np.ndarray, semi: np.ndarray, margin: float):
    """Box (clipped to the volume) and the perturbed union-of-ellipsoids mask inside it."""
    lobes = [(centre, semi, _rotation(rng))]
    for _ in range(int(rng.integers(0, 3))):
        d = rng.normal(size=3)
        off = semi * rng.uniform(0.4, 0.8) * d / np.linalg.norm(d)
        lobes.append((centre + off, semi * rng.uniform(0.4, 0.7, size=3), _rotation(rng)))
    reach = max(float(np.max(np.abs(c - centre) + s.max())) for c, s, _ in lobes) * 1.25 + margin
    lo = np.maximum(np.floor(centre - reach), 0).astype(int)
    hi = np.minimum(np.ceil(centre + reach) + 1, lay.shape).astype(int)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    grid = np.stack(np.meshgrid(*(np.arange(s.start, s.stop) for s in box), indexing="ij"), -1)
    r = np.full(grid.shape[:3], np.inf, np.float32)
    for c, s, rot in lobes:
        local = (grid - c) @ rot  # coordinates along the lobe's axes
        r = np.minimum(r, np.sqrt(((local / s) ** 2).sum(-1)))
    noise = smooth_noise(rng, r.shape, scale=max(2.0, 0.6 * float(semi.mean())))
    mask = r < 1 + 0.2 * noise
    return box, mask


def _largest(mask: np.ndarray) -> np.ndarray:
    """The largest face-connected component (ties: the first in raster order)."""
    return largest(mask, 1, connectivity=1)


def _tumour(rng: np.random.Generator, lay: Layout, cls: np.ndarray, peak: float, taken: np.ndarray) -> Lesion | None:
    """Try once to place a sarcoma; None if it did not fit. ``taken``: ``(nz,)`` slices that
    already hold tumour (all tumours together must leave some slices free)."""
    nz, ny, nx = lay.shape
    v = lay.vox_mm
    leg = int(rng.integers(0, 2))
    diameter = float(np.exp(rng.uniform(np.log(35), np.log(140))))
    top = max(lay.crotch_mm, float(lay.u_mm[0]))
    legs_mm = float(lay.u_mm[-1]) - top
    semi = np.array([min(diameter / 2 * rng.uniform(0.9, 1.6), 80.0), diameter / 2 * rng.uniform(0.7, 1.0),
                     diameter / 2 * rng.uniform(0.7, 1.0)]) / v  # fmt: skip
    semi[0] = min(semi[0], 0.35 * max(legs_mm, 3 * v) / v, 0.3 * nz)
    lo_u = top + 0.5 * semi[0] * v
    hi_u = lay.u_mm[-1] - 0.8 * semi[0] * v
    u = rng.uniform(lo_u, hi_u) if hi_u > lo_u else 0.5 * (top + lay.u_mm[-1])
    z = lay.slice_of(u)
    ry, rx = float(lay.leg_ay[leg, z]), float(lay.leg_ax[leg, z])
    if min(ry, rx) < 2:
        return None
    semi[1:] = np.minimum(semi[1:], 0.75 * min(ry, rx))
    semi = np.maximum(semi, 1.2)
    d, phi = rng.uniform(0.2, 0.7), rng.uniform(0, 2 * np.pi)
    centre = np.array([z, lay.leg_cy[leg, z] + d * ry * np.sin(phi), lay.leg_cx[leg, z] + d * rx * np.cos(phi)])
    if not (semi[1] + 1 < centre[1] < ny - semi[1] - 2 and semi[2] + 1 < centre[2] < nx - semi[2] - 2):
        return None
    fat = lay.fat_mm * rng.uniform(0.4, 0.9) / v
    box, mask = _shape(rng, lay, centre, semi, margin=fat + 1)
    sub = cls[box]
    mask = _largest(mask & ~NOT_TUMOUR[sub])
    slices = taken.copy()
    slices[box[0]] |= mask.any(axis=(1, 2))
    z_span = np.flatnonzero(slices)
    if mask.sum() < 4 or z_span[-1] - z_span[0] + 1 > 0.8 * nz:  # too small, or spans the scan
        return None
    sub[(ndimage.distance_transform_edt(~mask) <= fat) & (sub == T.AIR)] = T.FAT  # skin bulge
    depth = ndimage.distance_transform_edt(mask).astype(np.float32)
    depth /= max(float(depth.max()), 1e-6)
    texture = smooth_noise(rng, mask.shape, scale=max(1.5, 12.0 / v))
    core = np.zeros_like(mask)
    if diameter >= 45 and rng.random() < 0.6:
        edge = ndimage.distance_transform_edt(mask) >= 1.5
        core = mask & edge & (depth + 0.12 * texture > rng.uniform(0.4, 0.6))
    sub[mask] = T.TUMOUR
    sub[core] = T.NECROSIS
    return Lesion(box, mask, core, depth, texture, peak, diameter)


def place_tumours(rng: np.random.Generator, lay: Layout, cls: np.ndarray) -> list[Lesion]:
    """Paint one (80 %) or two sarcomas into ``cls`` in place; at least one always fits."""
    want = 1 if rng.random() < 0.8 else 2
    out: list[Lesion] = []
    taken = np.zeros(lay.shape[0], dtype=bool)
    for attempt in range(60):
        peak = 1.0 if not out else float(rng.uniform(0.5, 1.0))
        lesion = _tumour(rng, lay, cls, peak, taken)
        if lesion is not None:
            out.append(lesion)
            taken[lesion.box[0]] |= lesion.mask.any(axis=(1, 2))
        if len(out) == want or (out and attempt >= 30):
            break
    if not out:
        raise RuntimeError(f"phantom: no tumour fits a volume of shape {lay.shape}; use a larger size")
    return out


def place_nodes(rng: np.random.Generator, lay: Layout, cls: np.ndarray, tumours: list[Lesion]) -> list[Lesion]:
    """Paint 0-2 hot lymph nodes (SUV 2-6, 1-2 cm) in the groin or next to a tumour."""
    out: list[Lesion] = []
    v = lay.vox_mm
    groin = lay.u_mm[0] < lay.crotch_mm < lay.u_mm[-1]
    for _ in range(int(rng.integers(0, 3))):
        r = max(0.8, rng.uniform(5, 10) / v)
        if groin and rng.random() < 0.5:
            leg = int(rng.integers(0, 2))
            z = lay.slice_of(lay.crotch_mm + rng.uniform(-10, 50))
            ry, rx = lay.leg_ay[leg, z], lay.leg_ax[leg, z]
            centre = np.array([z, lay.leg_cy[leg, z] - 0.7 * ry, lay.leg_cx[leg, z] - lay.lateral[leg] * 0.4 * rx])
        else:
            t = tumours[int(rng.integers(0, len(tumours)))]
            zc, yc, xc = (np.mean(a) + s.start for a, s in zip(np.nonzero(t.mask), t.box, strict=True))
            reach = t.diameter_mm / 2 / v + rng.uniform(8, 25) / v
            ang = rng.uniform(0, 2 * np.pi)
            centre = np.array([zc + rng.uniform(-0.5, 0.5) * reach, yc + reach * np.sin(ang), xc + reach * np.cos(ang)])
        lo = np.maximum(np.floor(centre - r - 2), 0).astype(int)
        hi = np.minimum(np.ceil(centre + r + 3), lay.shape).astype(int)
        if np.any(hi - lo < 1):
            continue
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        grid = np.meshgrid(*(np.arange(s.start, s.stop) for s in box), indexing="ij")
        ball = sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= r**2
        sub = cls[box]
        near = ndimage.binary_dilation(np.isin(sub, TUMOUR_CLASSES), iterations=2)
        mask = ball & allow(T.FAT, T.MUSCLE, T.FASCIA, T.VESSEL)[sub] & ~near
        if mask.sum() == 0:
            continue
        sub[mask] = T.NODE
        zeros = np.zeros(mask.shape, np.float32)
        out.append(Lesion(box, mask, np.zeros_like(mask), zeros, zeros, float(rng.uniform(2, 6)), 2 * r * v))
    return out
