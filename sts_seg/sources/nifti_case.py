"""One NIfTI case: its CT, PET and label files, read onto the CT's grid as LPS ``[z, y, x]``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sts_seg.errors import DataError
from sts_seg.io import nifti
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.checks import check_arrays


@dataclass(frozen=True)
class CaseFiles:
    """``ct`` is the reference image (results are written on its grid); ``label`` may be absent."""

    case_id: str
    patient: str
    ct: Path
    pet: Path
    label: Path | None


def info(files: CaseFiles) -> CaseInfo:
    """Ids, ``[z, y, x]`` shape and spacing from the CT header alone."""
    grid = nifti.grid_of(nifti.load(files.ct, "CT image"), files.ct)
    return CaseInfo(files.case_id, files.patient, grid.shape_zyx, grid.spacing_zyx)


def read(files: CaseFiles, *, resample_pet: bool, with_label: bool = True) -> Case:
    """The case on the CT grid: PET resampled onto it when ``resample_pet`` and the grids differ
    (HECKTOR), otherwise a grid mismatch is a DataError naming the case."""
    where = f"case {files.case_id}"
    ct_img = nifti.load(files.ct, "CT image", voxels=True)
    grid = nifti.grid_of(ct_img, files.ct)
    pet_img = nifti.load(files.pet, "PET image", voxels=True)
    if not nifti.same_grid(grid, nifti.grid_of(pet_img, files.pet)):
        if not resample_pet:
            raise DataError(
                f"{where}: PET {files.pet.name} {pet_img.shape} and CT {files.ct.name} {ct_img.shape} are on "
                "different grids (shape or affine); this layout needs them on one grid"
            )
        pet_img = nifti.resampled_onto(pet_img, ct_img, files.pet)
    label = None
    if with_label and files.label is not None:
        lab_img = nifti.load(files.label, "label image", voxels=True)
        if not nifti.same_grid(grid, nifti.grid_of(lab_img, files.label)):
            raise DataError(
                f"{where}: label {files.label.name} {lab_img.shape} is not on the CT grid {ct_img.shape} "
                "(shape or affine); resample it onto the CT first"
            )
        label = nifti.to_zyx(lab_img, files.label, None)
    ct, pet = nifti.to_zyx(ct_img, files.ct), nifti.to_zyx(pet_img, files.pet)
    check_arrays(where, ct, pet, label)
    lab = None if label is None else label.astype(np.uint8 if label.max() <= 255 else np.int32, copy=False)
    return Case(files.case_id, files.patient, ct, pet, lab, grid.spacing_zyx, grid)
