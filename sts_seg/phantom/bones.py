"""Bones painted into the class volume: femur (head, shaft, condyles), tibia, fibula and a
simplified pelvis (ilium/acetabulum, pubis, ischium, sacrum). Each bone is a per-slice ellipse
with a cortical ring (at least one voxel thick) around fatty marrow or cancellous bone."""

from __future__ import annotations

import numpy as np

from sts_seg.phantom.fields import paint_ellipses, profile
from sts_seg.phantom.layout import Layout
from sts_seg.phantom.tissue import Tissue, allow, inside_body

T = Tissue


def _bone(
    lay: Layout,
    cls: np.ndarray,
    centre: tuple[np.ndarray, np.ndarray],
    semi_mm: tuple[np.ndarray, np.ndarray],
    cortex_mm: np.ndarray | float,
    fatty: np.ndarray | None = None,
) -> None:
    """Paint one bone: ``centre`` (cy, cx) in voxels, ``semi_mm`` (ay, ax) per slice in mm (0 =
    absent), cortical thickness in mm; the medulla is fatty marrow where ``fatty`` else spongy."""
    v = lay.vox_mm
    ay, ax = (np.asarray(s, np.float32) / v for s in semi_mm)
    ay = np.where(ax > 0, ay, 0).astype(np.float32)
    cy, cx = (np.asarray(c, np.float32) for c in centre)
    paint_ellipses(cls, T.CORTEX, cy, cx, ay, ax, where=inside_body() & ~allow(T.BLADDER))
    wall = np.maximum(np.asarray(cortex_mm, np.float32) / v, 1.0)
    iy, ix = np.clip(ay - wall, 0, None), np.clip(ax - wall, 0, None)
    keep = (iy > 0.3) & (ix > 0.3)
    fat = np.zeros_like(keep) if fatty is None else fatty
    for value, sel in ((T.MARROW, keep & fat), (T.SPONGY, keep & ~fat)):
        paint_ellipses(cls, value, cy, cx, np.where(sel, iy, 0), np.where(sel, ix, 0), where=allow(T.CORTEX))


def _legs(rng: np.random.Generator, lay: Layout, cls: np.ndarray) -> None:
    u, k, v = lay.u_mm, lay.knee_mm, lay.vox_mm
    r_femur = profile(u, [(-35, 0), (-28, 15), (-15, 24), (10, 24), (25, 20), (45, 25), (80, 16), (110, 14),
                          (k - 80, 14), (k - 45, 26), (k - 15, 32), (k - 4, 30), (k - 3, 0)], outside=0.0)  # fmt: skip
    r_femur *= rng.uniform(0.9, 1.1)
    femur_out = profile(u, [(-30, -8), (20, -2), (60, 8), (120, 3), (k, 0)])  # mm, + = lateral
    femur_dy = profile(u, [(0, 4), (200, 6), (k - 60, 4), (k, 8)])
    cortex = profile(u, [(60, 2), (110, 6), (k - 90, 6), (k - 50, 2)])
    shaft = (u > 90) & (u < k - 70)
    r_tibia = profile(
        u, [(k + 2, 0), (k + 3, 34), (k + 30, 32), (k + 90, 19), (k + 160, 14), (k + 400, 15)], outside=0.0
    )
    r_tibia = np.where(u > k + 400, 15.0, r_tibia) * rng.uniform(0.9, 1.1)
    tibia_dy = profile(u, [(k, 0), (k + 60, -12), (k + 200, -18)])
    r_fib = profile(u, [(k + 15, 0), (k + 20, 11), (k + 60, 8), (k + 400, 7)], outside=0.0)
    r_fib = np.where(u > k + 400, 7.0, r_fib)
    for i in (0, 1):
        lat = lay.lateral[i]
        cy, cx = lay.leg_cy[i], lay.leg_cx[i]
        wide = 1 + 0.15 * (u > k - 60)
        _bone(lay, cls, (cy + femur_dy / v, cx + lat * femur_out / v), (r_femur * 0.95, r_femur * wide), cortex, shaft)
        tib_cortex = profile(u, [(k + 40, 2), (k + 110, 5)])
        _bone(lay, cls, (cy + tibia_dy / v, cx - lat * 8 / v), (r_tibia * 0.9, r_tibia * 1.05), tib_cortex,
              u > k + 110)  # fmt: skip
        fib = (cy + 0.1 * lay.leg_ay[i], cx + lat * 0.55 * lay.leg_ax[i])
        _bone(lay, cls, fib, (r_fib, r_fib), 3.0, u > k + 60)


def _pelvis(rng: np.random.Generator, lay: Layout, cls: np.ndarray) -> None:
    u, c, v = lay.u_mm, lay.crotch_mm, lay.vox_mm
    nz = lay.shape[0]
    cy = lay.trunk_cy
    mid = np.full(nz, lay.cx, np.float32)
    s = rng.uniform(0.9, 1.1)
    ilium_ay = profile(u, [(-250, 48), (-60, 40), (-40, 0)], outside=0.0) * s
    acet_r = profile(u, [(-62, 0), (-60, 28), (5, 30), (12, 0)], outside=0.0) * s
    pubis = profile(u, [(-16, 0), (-15, 11), (c - 22, 11), (c - 20, 0)], outside=0.0) * s
    ischium = profile(u, [(-2, 0), (0, 15), (c + 8, 14), (c + 10, 0)], outside=0.0) * s
    sacrum_ax = profile(u, [(-250, 50), (-60, 35), (-30, 15), (-10, 0)], outside=0.0) * s
    depth = lay.trunk_ay * v  # mm
    for i in (0, 1):
        lat = lay.lateral[i]
        lx = lay.leg_cx[i]
        _bone(lay, cls, (cy + 5 / v, lx + lat * 15 / v), (ilium_ay, ilium_ay * 0.25), 2.5)
        _bone(lay, cls, (lay.leg_cy[i], lx + lat * 4 / v), (acet_r, acet_r), 3.0)
        _bone(lay, cls, (cy - 0.62 * depth / v, mid + lat * 22 / v), (pubis, pubis * 1.8), 2.5)
        _bone(lay, cls, (cy + 25 / v, mid + lat * 55 / v), (ischium, ischium), 3.0)
    _bone(lay, cls, (cy + 72 / v, mid), (sacrum_ax * 0.35, sacrum_ax), 2.5)


def paint_bones(rng: np.random.Generator, lay: Layout, cls: np.ndarray) -> None:
    """Add pelvis and leg bones to the class volume, in place (the femoral head sits in the
    acetabulum, so the pelvis is painted first)."""
    _pelvis(rng, lay, cls)
    _legs(rng, lay, cls)
