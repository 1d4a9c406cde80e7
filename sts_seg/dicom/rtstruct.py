"""An RTSTRUCT ROI rasterised on an image series' grid.

Choosing the ROI (``roi``): an exact ROI name, else a regular expression that must match the whole
name (``re.fullmatch``, case-insensitive). Matches in the RTSTRUCTs that reference the reference
series are preferred; only when there are none are the other RTSTRUCTs searched. Without ``roi``,
the single ROI of the RTSTRUCT that references the reference series is taken. Anything ambiguous or
missing is refused with the names that are there.

Rasterising: each closed planar contour (LPS mm) is mapped into the grid's voxel coordinates and
placed on the slice its plane falls on (within a quarter of the slice step; the contours'
``ContourImageSequence`` references are not used). A pixel is inside when its centre lies inside
the polygon (``skimage.draw.polygon2mask``); the contours of one slice are combined by XOR, the
even-odd rule, so an inner contour cuts a hole.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import nibabel as nib
import numpy as np
from skimage.draw import polygon2mask

from sts_seg.dicom.headers import read_header
from sts_seg.dicom.series import LPS_TO_RAS, SeriesInfo
from sts_seg.dicom.study import StructInfo, StudyIndex
from sts_seg.errors import ConfigError, DataError

PLANE_TOL = 0.25  # largest distance of a contour from its slice, in slice steps


def _name(path: Path, folder: Path | None) -> str:
    return str(path.relative_to(folder)) if folder is not None and path.is_relative_to(folder) else str(path)


def _listing(structs: tuple[StructInfo, ...], folder: Path | None) -> str:
    return "; ".join(f"{_name(s.path, folder)}: {', '.join(s.roi_names) or 'no ROI'}" for s in structs) or "no RTSTRUCT"


def select_roi(
    structs: tuple[StructInfo, ...], series_uid: str, roi: str | None, where: str, folder: Path | None = None
) -> tuple[StructInfo, str]:
    """The (RTSTRUCT, ROI name) that ``roi`` names, or the single ROI of the RTSTRUCT referencing ``series_uid``.

    Error messages name the RTSTRUCT files relative to ``folder`` (the case folder) when given.
    """
    own = tuple(s for s in structs if s.references(series_uid))
    if roi is None:
        found = [(s, n) for s in own for n in s.roi_names]
        if not found:
            raise DataError(
                f"{where}: no RTSTRUCT references this series ({_listing(structs, folder)}); name the ROI with data.roi"
            )
    else:
        try:
            pattern = re.compile(roi, re.IGNORECASE)
        except re.error as e:
            raise ConfigError(
                f"data.roi {roi!r} is not a valid regular expression ({e}); quote a plain ROI name"
            ) from None
        exact = [(s, n) for s in own for n in s.roi_names if n == roi] or [
            (s, n) for s in structs for n in s.roi_names if n == roi
        ]
        matched = [(s, n) for s in own for n in s.roi_names if pattern.fullmatch(n)]
        found = exact or matched or [(s, n) for s in structs for n in s.roi_names if pattern.fullmatch(n)]
        if not found:
            raise DataError(f"{where}: no ROI matches data.roi {roi!r}; the ROIs are {_listing(structs, folder)}")
    if len(found) > 1:
        names = ", ".join(f"{n} ({_name(s.path, folder)})" for s, n in found)
        raise DataError(f"{where}: {len(found)} ROIs fit ({names}); choose one with data.roi")
    return found[0]


def roi_contours(ds, name: str, where: str) -> list[np.ndarray]:
    """The closed planar contours (each (n, 3) LPS mm) of the ROI ``name`` in an RTSTRUCT Dataset."""
    numbers = [r.ROINumber for r in ds.get("StructureSetROISequence", []) if str(r.get("ROIName", "")).strip() == name]
    items = [c for c in ds.get("ROIContourSequence", []) if c.get("ReferencedROINumber") in numbers]
    contours = [
        np.asarray(c.ContourData, float).reshape(-1, 3)
        for item in items
        for c in item.get("ContourSequence", [])
        if str(c.get("ContourGeometricType", "CLOSED_PLANAR")).upper() == "CLOSED_PLANAR"
        and len(c.get("ContourData", [])) >= 9
    ]
    if not contours:
        raise DataError(f"{where}: ROI {name} has no closed planar contour; choose another ROI with data.roi")
    return contours


def rasterise(
    contours: list[np.ndarray], affine: np.ndarray, shape_ijk: tuple[int, int, int], where: str
) -> np.ndarray:
    """A uint8 0/1 mask ``shape_ijk`` (column, row, slice) of the contours (LPS mm) on the grid of ``affine`` (RAS+)."""
    to_voxel = np.linalg.inv(LPS_TO_RAS @ affine)
    mask = np.zeros(shape_ijk, bool)
    for points in contours:
        ijk = (to_voxel @ np.c_[points, np.ones(len(points))].T)[:3].T
        k = float(np.rint(ijk[:, 2].mean()))
        off = float(np.abs(ijk[:, 2] - k).max())
        z = float(points[:, 2].mean())
        if off > PLANE_TOL:
            raise DataError(
                f"{where}: a contour at z={z:.2f} mm lies {off:.2f} slices off the nearest slice plane "
                "(or is not parallel to "
                "the slices); it was drawn on another grid: use the RTSTRUCT that references this series"
            )
        if not 0 <= k < shape_ijk[2]:
            raise DataError(
                f"{where}: a contour at z={z:.2f} mm lies outside the series' {shape_ijk[2]} slices; "
                "the ROI does not fit this image"
            )
        mask[:, :, int(k)] ^= polygon2mask(shape_ijk[:2], np.around(ijk[:, :2], 5))
    return mask.astype(np.uint8)


def read_roi(
    index: StudyIndex, reference: Literal["ct", "pet"], roi: str | None, case_id: str
) -> tuple[nib.Nifti1Image, str]:
    """The chosen ROI as a uint8 0/1 NIfTI mask on the reference series' grid, and the ROI's name."""
    series: SeriesInfo = index.series(reference)
    where = series.where(case_id)
    struct, name = select_roi(index.structs, series.uid, roi, where, index.folder)
    ds = read_header(struct.path, pixels=True)
    if ds is None:
        raise DataError(f"{where}: {struct.path} is no longer a DICOM file; index the study again")
    where = f"{where}, ROI {name} of {struct.path}"
    frames = {
        str(r.get("ReferencedFrameOfReferenceUID", ""))
        for r in ds.get("StructureSetROISequence", [])
        if str(r.get("ROIName", "")).strip() == name
    }
    if series.frame_of_reference and frames - {"", series.frame_of_reference}:
        raise DataError(f"{where}: the ROI is in another frame of reference than the series; register them first")
    shape = (series.shape_zyx[2], series.shape_zyx[1], series.shape_zyx[0])
    mask = rasterise(roi_contours(ds, name, where), series.affine, shape, where)
    img = nib.Nifti1Image(mask, series.affine)
    img.set_qform(series.affine, code=1)
    img.set_sform(series.affine, code=1)
    img.header.set_xyzt_units("mm")
    return img, name
