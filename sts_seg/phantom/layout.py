"""Where the body lies in the volume: a pelvis-to-leg scan along z, two legs in plane.

Anatomy is described in millimetres along ``u`` (mm below the hip joints; the volume's first
slice is the most cranial) and converted to voxels with ``vox_mm`` (5 mm at full size; tiny
test volumes use larger voxels so the same anatomy, scaled, still fits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sts_seg.phantom.fields import profile, smooth_series

VOXEL_MM = 5.0
FULL_SIZE = 90  #: in-plane size (pixels) from which anatomy is drawn at 5 mm per voxel


@dataclass(frozen=True)
class Layout:
    """Per-slice arrays are ``(nz,)``, per-leg ``(2, nz)``; positions and semi-axes in voxels
    unless named ``*_mm``. Leg 0 lies on the image left; ``lateral[i]`` is the sign of +x
    pointing away from the midline for leg ``i``. Semi-axes are 0 where a part is absent."""

    shape: tuple[int, int, int]
    vox_mm: float
    u_mm: np.ndarray
    crotch_mm: float
    knee_mm: float
    cy: float
    cx: float
    leg_cy: np.ndarray
    leg_cx: np.ndarray
    leg_ay: np.ndarray
    leg_ax: np.ndarray
    trunk_cy: np.ndarray
    trunk_ay: np.ndarray
    trunk_ax: np.ndarray
    fat_mm: float
    lateral: tuple[int, int] = (-1, 1)

    def slice_of(self, u_mm: float) -> int:
        """Index of the slice nearest to ``u_mm`` (clipped to the volume)."""
        return int(np.clip(np.argmin(np.abs(self.u_mm - u_mm)), 0, self.shape[0] - 1))


def _leg_radius(u: np.ndarray, knee: float) -> np.ndarray:
    """Mean leg half-width (mm) at ``u``: hip bulge, tapering thigh, knee, calf, ankle."""
    knots = [(-90, 0), (-20, 70), (40, 88), (150, 80), (knee - 20, 60), (knee + 40, 56),
             (knee + 130, 58), (knee + 420, 33)]  # fmt: skip
    return profile(u, knots, outside=None) * (u > -90)


def make_layout(rng: np.random.Generator, shape: tuple[int, int, int], pelvis: bool | None = None) -> Layout:
    """Draw one patient's body layout for a ``(nz, ny, nx)`` volume; ``pelvis`` forces whether
    the scan starts in the pelvis (bladder in view) or in the thigh (None: drawn, more often for
    longer scans)."""
    nz, ny, nx = shape
    build = rng.uniform(0.85, 1.08)  # overall body size
    sep_f = rng.uniform(0.9, 1.12)  # legs apart or together
    ratio = rng.uniform(0.82, 0.97)  # leg AP / lateral semi-axis
    trunk_f = build * rng.uniform(0.95, 1.08)
    crotch = rng.uniform(45.0, 75.0)
    knee = rng.uniform(410.0, 450.0)

    # fit: the widest/deepest extents (mm from the centre) over the whole anatomical range
    uu = np.linspace(-250, 1000, 600)
    sep = profile(uu, [(0, 95), (120, 100), (knee, 85), (knee + 400, 80)]) * sep_f * np.sqrt(build)
    half_x = max(float((sep + _leg_radius(uu, knee) * build).max()), 165 * trunk_f)
    half_y = 118 * trunk_f + 30  # trunk plus the table beneath it
    small = max(1.0, FULL_SIZE / min(ny, nx))  # tiny volumes: bigger voxels, same anatomy
    vox = max(VOXEL_MM * small, half_x / (0.47 * nx), half_y / (0.47 * ny))

    length = nz * vox
    if pelvis is None:  # longer scans reach the pelvis more often
        pelvis = bool(rng.random() < np.clip((length - 300.0) / 1000.0, 0.15, 0.45))
    if pelvis:  # start above the bladder
        start = crotch - min(max(rng.uniform(0.12, 0.28) * length, 140.0), 0.35 * length, 200.0)
    else:  # start in the upper thigh, end near the ankle at most
        start = crotch + rng.uniform(0.0, float(np.clip(knee + 480 - crotch - length, 10.0, 80.0)))
    u = (start + (np.arange(nz) + 0.5) * vox).astype(np.float32)

    cy = ny / 2 - 8.0 / vox + rng.uniform(-1, 1)  # body a little anterior: table beneath
    cx = nx / 2 + rng.uniform(-1.5, 1.5)
    wobble = smooth_series(rng, nz, scale=max(3.0, 40.0 / vox))
    sep = profile(u, [(0, 95), (120, 100), (knee, 85), (knee + 400, 80)]) * sep_f * np.sqrt(build)
    r_mm = _leg_radius(u, knee) * build * (1 + 0.03 * smooth_series(rng, nz, max(3.0, 60.0 / vox)))
    leg_cx = np.stack([cx - sep / vox, cx + sep / vox]) + 2.0 / vox * wobble
    leg_cy = np.full((2, nz), cy, np.float32) + profile(u, [(0, 8), (150, 0)]) / vox
    leg_ax = np.stack([r_mm, r_mm]) / vox * rng.uniform(0.95, 1.05, size=(2, 1))
    leg_ay = leg_ax * ratio

    trunk_ax = profile(u, [(-250, 152), (-20, 165), (crotch - 10, 150), (crotch + 15, 0)], outside=0.0)
    trunk_ay = profile(u, [(-250, 112), (-20, 110), (crotch - 10, 95), (crotch + 15, 0)], outside=0.0)
    return Layout(
        shape=(nz, ny, nx),
        vox_mm=float(vox),
        u_mm=u,
        crotch_mm=float(crotch),
        knee_mm=float(knee),
        cy=float(cy),
        cx=float(cx),
        leg_cy=leg_cy.astype(np.float32),
        leg_cx=leg_cx.astype(np.float32),
        leg_ay=leg_ay.astype(np.float32),
        leg_ax=leg_ax.astype(np.float32),
        trunk_cy=np.full(nz, cy + 6.0 / vox, np.float32),
        trunk_ay=(trunk_ay * trunk_f / vox).astype(np.float32),
        trunk_ax=(trunk_ax * trunk_f / vox).astype(np.float32),
        fat_mm=float(rng.uniform(10.0, 35.0) * build),
    )
