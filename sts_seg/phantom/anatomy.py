"""Normal soft-tissue anatomy as a tissue-class volume ``[z, y, x]`` (uint8, see ``tissue``):
legs and pelvis outline, subcutaneous fat, muscle with fascia planes, pelvic cavity with bladder
and bowel, femoral vessels and the scanner table. Bones are added by ``bones``."""

from __future__ import annotations

import numpy as np

from sts_seg.phantom.fields import col, paint_ellipses, smooth_series, z_extent
from sts_seg.phantom.layout import Layout
from sts_seg.phantom.tissue import Tissue, allow

T = Tissue


def _box(lay: Layout, cy: np.ndarray, cx: np.ndarray, ay: np.ndarray, ax: np.ndarray, grow: float):
    """In-plane bounding box (y0, y1, x0, x1) of per-slice ellipses grown by ``grow``."""
    ny, nx = lay.shape[1:]
    y0 = max(0, int(np.floor((cy - grow * ay).min())))
    y1 = min(ny, int(np.ceil((cy + grow * ay).max())) + 1)
    x0 = max(0, int(np.floor((cx - grow * ax).min())))
    x1 = min(nx, int(np.ceil((cx + grow * ax).max())) + 1)
    return y0, y1, x0, x1


def _outline(rng: np.random.Generator, lay: Layout, cls: np.ndarray, part: dict, fat_mm: float,
             wiggle: float, septa: int) -> None:  # fmt: skip
    """Paint one body part (a leg or the trunk): ellipses with a smooth, slightly irregular
    outline, a fat layer of ``fat_mm`` (thickness varying with angle) and a muscle core crossed
    by ``septa`` fascia planes radiating from the centre."""
    on = (part["ay"] > 0.3) & (part["ax"] > 0.3)
    zs = z_extent(on)
    n = zs.stop - zs.start
    if n <= 0:
        return
    cy, cx, ay, ax = (np.asarray(part[k])[zs] for k in ("cy", "cx", "ay", "ax"))
    y0, y1, x0, x1 = _box(lay, cy, cx, ay, ax, 1.0 + 4 * wiggle)
    scale = max(3.0, 50.0 / lay.vox_mm)
    dy = np.arange(y0, y1, dtype=np.float32)[None, :, None] - col(cy)
    dx = np.arange(x0, x1, dtype=np.float32)[None, None, :] - col(cx)
    r = np.sqrt((dy / col(ay)) ** 2 + (dx / col(ax)) ** 2)
    th = np.arctan2(dy / col(ay), dx / col(ax))
    edge = np.ones_like(r)
    for k in (2, 3, 4, 5):
        amp = col(wiggle / np.sqrt(k - 1) * (1 + 0.5 * smooth_series(rng, n, scale)))
        phase = col(rng.uniform(0, 2 * np.pi) + 0.5 * smooth_series(rng, n, scale))
        edge += amp * np.cos(k * th + phase)
    radius_mm = col(0.5 * (ay + ax) * lay.vox_mm)
    thick = fat_mm * (1 + 0.35 * np.cos(th - rng.uniform(0, 2 * np.pi)))
    thick = thick * col(1 + 0.15 * smooth_series(rng, n, scale)) * np.sqrt(np.minimum(radius_mm / 80.0, 1.2))
    body = r < edge
    muscle = r < edge - thick / radius_mm
    sub = cls[zs, y0:y1, x0:x1]
    sub[body & (sub == T.AIR)] = T.FAT
    sub[muscle & ((sub == T.FAT) | (sub == T.AIR))] = T.MUSCLE
    half_width = 0.45 * min(1.0, 5.0 / lay.vox_mm)
    base = rng.uniform(0, 2 * np.pi)
    for j in range(septa):
        ang = col(base + j * 2 * np.pi / septa + rng.uniform(-0.4, 0.4) + 0.25 * smooth_series(rng, n, scale))
        perp = np.abs(dy * np.cos(ang) - dx * np.sin(ang))
        along = dy * np.sin(ang) + dx * np.cos(ang)
        plane = muscle & (perp < half_width) & (along > 0.3 * col(np.minimum(ay, ax)))
        sub[plane & (sub == T.MUSCLE)] = T.FASCIA


def _ellipsoid(lay: Layout, centre_mm: float, half_mm: float, ay: float, ax: float):
    """Per-slice semi-axes (voxels) of an ellipsoid centred at ``centre_mm`` along z."""
    t = (lay.u_mm - centre_mm) / max(half_mm, 1e-3)
    f = np.sqrt(np.clip(1 - t**2, 0, None)).astype(np.float32)
    return ay * f, ax * f


def _pelvis(rng: np.random.Generator, lay: Layout, cls: np.ndarray) -> None:
    """Pelvic cavity (fat), bladder and bowel inside the trunk."""
    nz = lay.shape[0]
    u, v = lay.u_mm, lay.vox_mm
    gate = np.sqrt(np.clip((lay.crotch_mm - 20 - u) / 30, 0, 1)).astype(np.float32)
    soft = allow(T.FAT, T.MUSCLE, T.FASCIA)
    paint_ellipses(cls, T.FAT, lay.trunk_cy - 8 / v, np.full(nz, lay.cx, np.float32),
                   0.5 * lay.trunk_ay * gate, 0.42 * lay.trunk_ax * gate, where=soft)  # fmt: skip
    # rectum, in front of the sacrum
    rect = np.where(u < lay.crotch_mm - 35, rng.uniform(12, 18) / v, 0).astype(np.float32)
    paint_ellipses(cls, T.BOWEL, lay.trunk_cy + 45 / v, np.full(nz, lay.cx, np.float32), rect, rect * 1.2, soft)
    bottom = lay.crotch_mm - rng.uniform(40, 60)
    half = rng.uniform(15, 40)
    for _ in range(int(rng.integers(2, 5))):  # bowel loops above the bladder base
        r_mm = rng.uniform(9, 18)
        ay, ax = _ellipsoid(lay, bottom - half - rng.uniform(0, 90), r_mm, r_mm / v, r_mm / v * 1.3)
        cy = lay.trunk_cy + rng.uniform(-5, 35) / v
        cx = np.full(nz, lay.cx + rng.uniform(-45, 45) / v, np.float32)
        paint_ellipses(cls, T.BOWEL, cy, cx, ay, ax, where=allow(T.FAT))
    ay, ax = _ellipsoid(lay, bottom - half, half, rng.uniform(18, 38) / v, rng.uniform(22, 48) / v)
    cx = np.full(nz, lay.cx + rng.uniform(-8, 8) / v, np.float32)
    paint_ellipses(cls, T.BLADDER, lay.trunk_cy - rng.uniform(25, 40) / v, cx, ay, ax,
                   where=allow(T.FAT, T.MUSCLE, T.FASCIA, T.BOWEL))  # fmt: skip


def _vessels(rng: np.random.Generator, lay: Layout, cls: np.ndarray) -> None:
    """Femoral vessels: a thin tube antero-medial in each thigh."""
    r = max(0.6, rng.uniform(4.0, 6.0) / lay.vox_mm)
    on = (lay.u_mm > lay.crotch_mm - 40) & (lay.u_mm < lay.knee_mm - 60)
    for i in (0, 1):
        cy = lay.leg_cy[i] - 0.45 * lay.leg_ay[i]
        cx = lay.leg_cx[i] - lay.lateral[i] * 0.28 * lay.leg_ax[i]
        rr = np.where(on, r, 0).astype(np.float32)
        paint_ellipses(cls, T.VESSEL, cy, cx, rr, rr, where=allow(T.FAT, T.MUSCLE, T.FASCIA))


def add_table(rng: np.random.Generator, lay: Layout, cls: np.ndarray) -> None:
    """Add a curved scanner table beneath the body, in place, where there is air (call after
    every body part, tumours included)."""
    ny, nx = lay.shape[1:]
    rows = np.flatnonzero((cls != T.AIR).any(axis=(0, 2)))
    if rows.size == 0:
        return
    y0 = rows[-1] + rng.uniform(1.0, 3.0) * 5.0 / lay.vox_mm + 1
    thick = max(1.0, 7.0 / lay.vox_mm)
    if y0 + thick >= ny - 0.5:
        return
    xx = np.arange(nx, dtype=np.float32)
    curve = y0 - (25.0 / lay.vox_mm) * ((xx - lay.cx) / (0.45 * nx)) ** 2
    yy = np.arange(ny, dtype=np.float32)[:, None]
    band = np.abs(yy - curve[None, :]) < thick / 2
    sub = cls[:, band]
    sub[sub == T.AIR] = T.TABLE
    cls[:, band] = sub


def render_soft_tissue(rng: np.random.Generator, lay: Layout) -> np.ndarray:
    """The class volume of legs, trunk, pelvic contents and vessels (no bones, no table)."""
    cls = np.zeros(lay.shape, dtype=np.uint8)
    for i in (0, 1):
        part = {"cy": lay.leg_cy[i], "cx": lay.leg_cx[i], "ay": lay.leg_ay[i], "ax": lay.leg_ax[i]}
        _outline(rng, lay, cls, part, lay.fat_mm, wiggle=0.025, septa=3)
    trunk = {"cy": lay.trunk_cy, "cx": np.full(lay.shape[0], lay.cx, np.float32),
             "ay": lay.trunk_ay, "ax": lay.trunk_ax}  # fmt: skip
    _outline(rng, lay, cls, trunk, lay.fat_mm * 1.25, wiggle=0.015, septa=0)
    _pelvis(rng, lay, cls)
    _vessels(rng, lay, cls)
    return cls
