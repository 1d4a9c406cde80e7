"""DICOM studies: ``<root>/<case>/...`` holds a CT series, a PET series and RTSTRUCTs, found by their
``Modality`` and UIDs (:mod:`sts_seg.dicom`), not by file or folder names. Every top-level subfolder
with ``*.dcm`` files below it is a case; its name is the case id.

``infos()`` reads headers only. ``read()`` gives the case on the ``data.reference`` series' grid
(CT in HU, PET in SUV), the other series resampled onto it linearly as for the ``folders`` layout,
and the label rasterised from the RTSTRUCT ROI that ``data.roi`` names (else the single ROI of the
RTSTRUCT that references the reference series); a case without RTSTRUCT has no label. Results are
written as ``<case>.nii.gz`` on the reference grid (its geometry is a :class:`sts_seg.io.nifti.Grid`).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib

from sts_seg.dicom import SeriesInfo, StudyIndex, index_study, read_roi, read_series
from sts_seg.dicom.headers import pydicom
from sts_seg.errors import DataError
from sts_seg.io import nifti
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.folders import case_patient
from sts_seg.sources.nifti_case import NAMES, Reference, add_note, on_reference, to_case, z_extent_note
from sts_seg.sources.walk import find_files


def series_grid(info: SeriesInfo) -> nifti.Grid:
    """The grid of a series (voxels ``(column, row, slice)``, RAS+ affine), from its headers."""
    z, y, x = info.shape_zyx
    return nifti.Grid(Path(info.folder), (x, y, z), info.affine)


class DicomStudies:
    layout = "dicom"

    def __init__(self, path: Path, reference: Reference = "ct", roi: str | None = None,
                 patient_pattern: str | None = None) -> None:  # fmt: skip
        pydicom()  # the one-line install hint now, not at the first case
        self.path, self.notes, self.reference, self.roi = Path(path), [], reference, roi
        self.folders: dict[str, Path] = {}
        skipped = []
        for folder in sorted(p for p in self.path.iterdir() if p.is_dir()):
            if not find_files(folder, "*.dcm"):
                skipped.append(folder.name)
            else:
                self.folders[folder.name] = folder
        if not self.folders:
            raise DataError(f"{self.path}: no case folder holds *.dcm files; the layout is <source>/<case>/.../*.dcm")
        if skipped:
            self.notes.append(f"{self.path}: ignored {len(skipped)} folder(s) without *.dcm files, e.g. {skipped[0]}")
        self.patients = {c: case_patient(c, patient_pattern) for c in self.folders}
        self._index: dict[str, StudyIndex] = {}

    def index(self, case_id: str) -> StudyIndex:
        """The case's series and RTSTRUCTs (headers only, read once)."""
        if case_id not in self._index:
            self._index[case_id] = index_study(self.folders[case_id], case_id)
        return self._index[case_id]

    def infos(self) -> list[CaseInfo]:
        out = []
        for case_id in self.folders:
            idx = self.index(case_id)
            grids = {"ct": series_grid(idx.ct), "pet": series_grid(idx.pet)}
            ref = grids[self.reference]
            add_note(self.notes, z_extent_note(case_id, self.reference, ref, grids[_other(self.reference)]))
            out.append(CaseInfo(case_id, self.patients[case_id], ref.shape_zyx, ref.spacing_zyx))
        return out

    def read(self, case_id: str, with_label: bool = True) -> Case:
        idx, ref, other = self.index(case_id), self.reference, _other(self.reference)
        imgs: dict[str, nib.Nifti1Image] = {"ct": read_series(idx.ct, case_id), "pet": read_series(idx.pet, case_id)}
        paths = {"ct": Path(idx.ct.folder), "pet": Path(idx.pet.folder)}
        grid = nifti.grid_of(imgs[ref], paths[ref])
        if not nifti.same_grid(grid, nifti.grid_of(imgs[other], paths[other])):
            imgs[other] = nifti.resampled_onto(imgs[other], imgs[ref], paths[other])
        label = None
        if with_label and (idx.structs or self.roi):
            mask, name = read_roi(idx, ref, self.roi, case_id)
            label = on_reference(f"case {case_id} (ROI {name})", mask, paths[ref], grid, NAMES[ref])
        return to_case(case_id, self.patients[case_id], imgs["ct"], imgs["pet"], label, grid, paths)


def _other(reference: Reference) -> Reference:
    return "pet" if reference == "ct" else "ct"
