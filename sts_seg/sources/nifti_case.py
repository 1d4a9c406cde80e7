"""One NIfTI case: its CT, PET and label files, read onto the reference image's grid (the CT, or
the PET with ``reference="pet"``) as LPS ``[z, y, x]``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import nibabel as nib
import numpy as np

from sts_seg.errors import DataError
from sts_seg.io import nifti
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.checks import check_arrays

Reference = Literal["ct", "pet"]
NAMES = {"ct": "CT", "pet": "PET"}


@dataclass(frozen=True)
class CaseFiles:
    """A case's files; ``label`` may be absent. The reference image is chosen when reading."""

    case_id: str
    patient: str
    ct: Path
    pet: Path
    label: Path | None


def info(files: CaseFiles, reference: Reference = "ct") -> CaseInfo:
    """Ids, ``[z, y, x]`` shape and spacing from the reference image's header alone."""
    path = getattr(files, reference)
    grid = nifti.grid_of(nifti.load(path, f"{NAMES[reference]} image"), path)
    return CaseInfo(files.case_id, files.patient, grid.shape_zyx, grid.spacing_zyx)


def read(files: CaseFiles, *, resample_pet: bool, with_label: bool = True) -> Case:
    """The case on the CT grid: PET resampled onto it when ``resample_pet`` and the grids differ
    (HECKTOR), otherwise a grid mismatch is a DataError naming the case."""
    return read_on(files, "ct", resample=resample_pet, with_label=with_label)


def read_on(files: CaseFiles, reference: Reference, *, resample: bool, with_label: bool = True) -> Case:
    """The case on the ``reference`` image's grid. The other image is resampled onto it linearly
    (through both affines) when ``resample`` and the grids differ, otherwise a mismatch is a
    DataError; the label must lie on the reference grid. Each error names the case."""
    where = f"case {files.case_id}"
    other: Reference = "pet" if reference == "ct" else "ct"
    paths = {"ct": files.ct, "pet": files.pet}
    imgs = {m: nifti.load(paths[m], f"{NAMES[m]} image", voxels=True) for m in ("ct", "pet")}
    grid = nifti.grid_of(imgs[reference], paths[reference])
    if not nifti.same_grid(grid, nifti.grid_of(imgs[other], paths[other])):
        if not resample:
            raise DataError(
                f"{where}: PET {files.pet.name} {imgs['pet'].shape} and CT {files.ct.name} {imgs['ct'].shape} are on "
                "different grids (shape or affine); this layout needs them on one grid"
            )
        imgs[other] = nifti.resampled_onto(imgs[other], imgs[reference], paths[other])
    label = None
    if with_label and files.label is not None:
        lab_img = nifti.load(files.label, "label image", voxels=True)
        label = on_reference(where, lab_img, files.label, grid, NAMES[reference])
    return to_case(files.case_id, files.patient, imgs["ct"], imgs["pet"], label, grid, paths)


def on_reference(where: str, lab_img: nib.Nifti1Image, path: Path, grid: nifti.Grid, name: str) -> np.ndarray:
    """The label's LPS ``[z, y, x]`` voxels, or a DataError when it is not on the reference grid."""
    if not nifti.same_grid(grid, nifti.grid_of(lab_img, path)):
        raise DataError(
            f"{where}: label {Path(path).name} {lab_img.shape} is not on the {name} grid {grid.shape} (shape or "
            f"affine); give the label drawn on the {name} grid, or resample it onto the {name} first"
        )
    return nifti.to_zyx(lab_img, path, None)


def to_case(case_id: str, patient: str, ct_img: nib.Nifti1Image, pet_img: nib.Nifti1Image,
            label: np.ndarray | None, grid: nifti.Grid, paths: dict[str, Path]) -> Case:  # fmt: skip
    """A checked :class:`Case` from CT and PET images already on ``grid`` and an LPS label."""
    ct, pet = nifti.to_zyx(ct_img, paths["ct"]), nifti.to_zyx(pet_img, paths["pet"])
    check_arrays(f"case {case_id}", ct, pet, label)
    lab = None if label is None else label.astype(np.uint8 if label.max() <= 255 else np.int32, copy=False)
    return Case(case_id, patient, ct, pet, lab, grid.spacing_zyx, grid)


def z_extent(shape: tuple[int, ...], affine: np.ndarray) -> tuple[float, float]:
    """``(low, high)`` world z (RAS+ mm, the superior axis) of a grid's voxel corners."""
    corners = np.array([[i, j, k, 1.0] for i in (-0.5, shape[0] - 0.5) for j in (-0.5, shape[1] - 0.5)
                        for k in (-0.5, shape[2] - 0.5)])  # fmt: skip
    z = (np.asarray(affine, dtype=np.float64) @ corners.T)[2]
    return float(z.min()), float(z.max())


def z_extent_note(case_id: str, reference: Reference, ref_grid: nifti.Grid, other_grid: nifti.Grid) -> str | None:
    """A note when the other image's world z extent is shifted against the reference's, or does not
    cover it, by more than half a reference slice (e.g. a PET registered two slices off the CT)."""
    other = "pet" if reference == "ct" else "ct"
    ref_lo, ref_hi = z_extent(ref_grid.shape, ref_grid.affine)
    lo, hi = z_extent(other_grid.shape, other_grid.affine)
    tol = 0.5 * ref_grid.spacing_zyx[0]
    d_lo, d_hi = lo - ref_lo, hi - ref_hi
    names = NAMES[other], NAMES[reference]
    if min(abs(d_lo), abs(d_hi)) > tol and d_lo * d_hi > 0:
        way = "higher" if d_lo > 0 else "lower"
        return (
            f"case {case_id}: the {names[0]} lies {min(abs(d_lo), abs(d_hi)):.1f} mm {way} along z than the "
            f"{names[1]} (world extents {lo:.1f}..{hi:.1f} vs {ref_lo:.1f}..{ref_hi:.1f} mm): the two are read by "
            "their affines, so the channels may be misaligned; check the registration"
        )
    if d_lo > tol or -d_hi > tol:
        return (
            f"case {case_id}: the {names[0]} (z {lo:.1f}..{hi:.1f} mm) does not cover the {names[1]} grid "
            f"(z {ref_lo:.1f}..{ref_hi:.1f} mm); its edge slices are repeated there"
        )
    return None


def header_info(files: CaseFiles, reference: Reference, notes: list[str]) -> CaseInfo:
    """The case's info from the reference header; a :func:`z_extent_note` from both headers goes to ``notes``."""
    grids = {
        m: nifti.grid_of(nifti.load(p, f"{m.upper()} image"), p) for m, p in (("ct", files.ct), ("pet", files.pet))
    }
    ref = grids[reference]
    add_note(notes, z_extent_note(files.case_id, reference, ref, grids["pet" if reference == "ct" else "ct"]))
    return CaseInfo(files.case_id, files.patient, ref.shape_zyx, ref.spacing_zyx)


def add_note(notes: list[str], note: str | None) -> None:
    """Append ``note`` once (``infos()`` may be called more than once)."""
    if note and note not in notes:
        notes.append(note)
