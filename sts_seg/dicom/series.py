"""One DICOM image series: slices sorted along the slice normal, the checked geometry, and the voxels.

Geometry (DICOM patient coordinates are LPS mm): the row direction ``r`` and column direction ``c``
come from ``ImageOrientationPatient``, the slice normal is ``n = r x c``, and the slices are sorted by
``ImagePositionPatient . n``. Voxel ``(i, j, k)`` = (column, row, slice) lies at
``p0 + i * dx * r + j * dy * c + k * dz * n`` with ``PixelSpacing = (dy, dx)``, ``dz`` the slice step
and ``p0`` the first slice's position. The RAS+ affine (nibabel's) negates the x and y rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from sts_seg.dicom.headers import number, numbers, read_header, text
from sts_seg.dicom.suv import pet_header, suv_factor
from sts_seg.errors import DataError

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
TILT_TOL = 1e-3  # largest in-plane drift of the slice origins per mm along the normal (0.06 degrees)
ORIENTATION_TOL = 1e-4  # largest difference between the slices' direction cosines


@dataclass(frozen=True, eq=False)
class SeriesInfo:
    """A header-only description of one image series.

    ``files`` are sorted along the slice normal; ``shape_zyx`` is (slices, rows, columns) and
    ``spacing_zyx`` (slice step, row spacing, column spacing) in mm; ``affine`` is the 4x4 RAS+ affine
    of voxel ``(i, j, k)`` = (column, row, slice).
    """

    uid: str
    modality: str
    files: tuple[Path, ...]
    shape_zyx: tuple[int, int, int]
    spacing_zyx: tuple[float, float, float]
    affine: np.ndarray
    frame_of_reference: str = ""
    folder: Path = Path()

    def where(self, case_id: str) -> str:
        """How error messages name this series."""
        return f"{case_id}: {self.modality} series {self.uid} ({self.folder})"


def stack_geometry(
    positions: np.ndarray, orientation: np.ndarray, pixel_spacing: tuple[float, float], where: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """Sort and check a stack of slices: ``positions`` (n, 3) LPS mm, ``orientation`` the 6 direction cosines.

    Returns the sort order, the 4x4 RAS+ affine of voxel (column, row, slice) and the slice step in mm.
    Refuses (``DataError`` starting with ``where``) a gantry tilt, duplicate or missing slices, and a
    non-uniform slice spacing.
    """
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    if not np.isclose(np.linalg.norm(normal), 1.0, atol=1e-3):
        raise DataError(f"{where}: ImageOrientationPatient {tuple(orientation)} is not two orthogonal unit vectors")
    normal /= np.linalg.norm(normal)
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    pos, along = positions[order], along[order]
    steps = np.diff(along)
    if len(pos) < 2:
        raise DataError(f"{where}: only {len(pos)} slice; a volume needs at least 2")
    offsets = pos - pos[0] - np.outer(along - along[0], normal)  # drift of the slice origins across the normal
    drift = float(np.linalg.norm(offsets, axis=1).max())
    if drift > TILT_TOL * (along[-1] - along[0]) + 1e-3:
        angle = np.degrees(np.arctan2(drift, along[-1] - along[0]))
        raise DataError(
            f"{where}: gantry tilt of {angle:.2f} degrees (slices not stacked along their normal); "
            "resample it to an orthogonal grid first"
        )
    step = float(np.median(steps))
    tol = max(0.01, 0.01 * step)
    if (dup := np.flatnonzero(steps < tol)).size:
        raise DataError(
            f"{where}: duplicate slices at {along[dup[0]]:.2f} mm along the normal ({dup.size} in all); "
            "keep one copy of each slice"
        )
    if (bad := np.flatnonzero(np.abs(steps - step) > tol)).size:
        s = steps[bad[0]]
        if (s / step) > 1.5 and abs(s / step - round(s / step)) * step <= tol:
            raise DataError(
                f"{where}: {round(s / step) - 1} slice(s) missing between {along[bad[0]]:.2f} and "
                f"{along[bad[0] + 1]:.2f} mm "
                f"along the normal (gap {s:.2f} mm, spacing {step:.2f} mm); export the complete series"
            )
        raise DataError(
            f"{where}: non-uniform slice spacing ({steps.min():.3f} to {steps.max():.3f} mm); "
            "resample it to a uniform spacing first"
        )
    dz = float((along[-1] - along[0]) / (len(pos) - 1))
    dy, dx = pixel_spacing
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row * dx, col * dy, normal * dz, pos[0]
    return order, LPS_TO_RAS @ lps, dz


def _same(headers: list[tuple[Path, Any]], keyword: str, where: str) -> tuple[float, ...]:
    values = [numbers(ds, keyword) for _, ds in headers]
    for (path, _), v in zip(headers, values, strict=True):
        if v is None:
            raise DataError(f"{where}: {path.name} has no {keyword}; it cannot be placed in space")
        if len(v) != len(values[0]) or not np.allclose(v, values[0], atol=ORIENTATION_TOL):
            raise DataError(
                f"{where}: {keyword} differs between {headers[0][0].name} and {path.name}; "
                "one series must share one grid"
            )
    return values[0]  # type: ignore[return-value]


def describe_series(uid: str, modality: str, headers: list[tuple[Path, Any]], case_id: str) -> SeriesInfo:
    """The :class:`SeriesInfo` of one series from its (path, header) pairs, all checks applied."""
    folder = Path(os.path.commonpath([Path(p).parent for p, _ in headers]))
    where = f"{case_id}: {modality} series {uid} ({folder})"
    for path, ds in headers:
        if (number(ds, "NumberOfFrames") or 1) > 1 or (number(ds, "SamplesPerPixel") or 1) != 1:
            raise DataError(f"{where}: {path.name} is multi-frame or colour; export single-frame greyscale slices")
    orientation = _same(headers, "ImageOrientationPatient", where)
    spacing = _same(headers, "PixelSpacing", where)
    rows, cols = _same(headers, "Rows", where)[0], _same(headers, "Columns", where)[0]
    positions = np.array([numbers(ds, "ImagePositionPatient") or (np.nan,) * 3 for _, ds in headers], float)
    if positions.shape[1:] != (3,) or not np.isfinite(positions).all():
        raise DataError(f"{where}: a slice has no valid ImagePositionPatient; it cannot be placed in space")
    order, affine, dz = stack_geometry(positions, np.asarray(orientation), (spacing[0], spacing[1]), where)
    return SeriesInfo(
        uid=uid,
        modality=modality,
        files=tuple(Path(headers[i][0]) for i in order),
        shape_zyx=(len(headers), int(rows), int(cols)),
        spacing_zyx=(dz, float(spacing[0]), float(spacing[1])),
        affine=affine,
        frame_of_reference=text(headers[0][1], "FrameOfReferenceUID") or "",
        folder=folder,
    )


def _slice_values(ds: Any, info: SeriesInfo, path: Path, where: str) -> np.ndarray:
    try:
        pixels = np.asarray(ds.pixel_array)
    except Exception as e:  # a truncated file reads fine; only decoding its pixels fails
        raise DataError(
            f"{where}: {path} has pixel data that cannot be decoded ({type(e).__name__}: {e}); re-export the file"
        ) from None
    if pixels.shape != info.shape_zyx[1:]:
        raise DataError(f"{where}: {path} holds {pixels.shape} pixels, its header says {info.shape_zyx[1:]}")
    slope, intercept = number(ds, "RescaleSlope"), number(ds, "RescaleIntercept")
    values = pixels.astype(np.float64) * (1.0 if slope is None else slope) + (0.0 if intercept is None else intercept)
    if info.modality == "PT":
        values *= suv_factor(pet_header(ds), where)
    return values


def read_series(info: SeriesInfo, case_id: str) -> nib.Nifti1Image:
    """The series as a float32 NIfTI image (CT in HU, PET in body-weight SUV), voxels (column, row, slice)."""
    where = info.where(case_id)
    volume = np.empty((info.shape_zyx[2], info.shape_zyx[1], info.shape_zyx[0]), np.float32)  # (i, j, k)
    for k, path in enumerate(info.files):
        ds = read_header(path, pixels=True)
        if ds is None:
            raise DataError(f"{where}: {path} is no longer a DICOM file; index the study again")
        volume[:, :, k] = _slice_values(ds, info, path, where).T
    img = nib.Nifti1Image(volume, info.affine)
    img.set_qform(info.affine, code=1)
    img.set_sform(info.affine, code=1)
    img.header.set_xyzt_units("mm")
    return img
