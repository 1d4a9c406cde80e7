"""The phantom written as NIfTI case folders: autoPET, nnU-Net raw and HECKTOR layouts.

Each patient's 5 mm phantom is resampled onto a finer grid (default 3 x 2 x 2 mm, z y x) and
saved with an oblique-free affine that is not the identity: every layout stores its voxels in
another orientation (axis flips included), so readers must honour the affine. HECKTOR's PET is
written on a coarser grid (and another orientation) than its CT, and the last two phantom
patients of the autoPET and nnU-Net layouts are two studies of one patient.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel import orientations as orient
from scipy import ndimage

from sts_seg.core.resample import resample_image, resample_mask, target_shape
from sts_seg.io.nifti import LPS

Volumes = Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
PHANTOM_MM = (5.0, 5.0, 5.0)
STUDY = "03-23-2003-NA-PET-CT Ganzkoerper  primaer mit KM-10445"  #: autoPET study names hold spaces


def _save(path: Path, zyx: np.ndarray, spacing: tuple[float, float, float], axcodes: str, dtype: type,
          origin: tuple[float, float, float] = (12.5, -40.0, 300.0)) -> None:  # fmt: skip
    """Save an LPS ``[z, y, x]`` volume with ``spacing`` (z, y, x) mm, stored in ``axcodes`` order."""
    sz, sy, sx = spacing
    lps_affine = np.diag([-sx, -sy, sz, 1.0])  # RAS+ world of LPS-ordered voxels
    lps_affine[:3, 3] = origin
    img = nib.Nifti1Image(np.ascontiguousarray(zyx.transpose(2, 1, 0)).astype(dtype), lps_affine)
    out = img.as_reoriented(orient.ornt_transform(LPS, orient.axcodes2ornt(tuple(axcodes))))
    out.set_qform(out.affine, code=1)
    out.set_sform(out.affine, code=1)
    out.header.set_xyzt_units("mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(out, str(path))


def fine(vols: tuple[np.ndarray, np.ndarray, np.ndarray], spacing: tuple[float, float, float]):
    """A 5 mm phantom patient on the ``spacing`` grid: CT/PET linear, label label-safe."""
    ct, pet, label = vols
    shape = target_shape(ct.shape, PHANTOM_MM, spacing)
    return resample_image(ct, shape), resample_image(pet, shape), resample_mask(label, shape)


def _ids(n: int) -> list[tuple[str, str]]:
    """``(patient, study)`` per phantom patient; the last two share a patient."""
    out = [(f"PETCT_{0x1A2B3C + 97 * i:06x}", STUDY) for i in range(n)]
    if n >= 3:
        out[-1] = (out[-2][0], STUDY.replace("10445", "10446"))
    return out


def write_autopet(root: Path, vols: Volumes, spacing: tuple[float, float, float]) -> dict[str, str]:
    """``root/<patient>/<study>/{CTres,SUV,SEG}.nii.gz`` (+ fdg_metadata.csv); ``{phantom id: case}``."""
    cases = {}
    for (pid, study), (key, v) in zip(_ids(len(vols)), vols.items(), strict=True):
        ct, pet, label = fine(v, spacing)
        folder = root / pid / study
        _save(folder / "CTres.nii.gz", np.rint(ct), spacing, "RAS", np.int16)
        _save(folder / "SUV.nii.gz", pet, spacing, "RAS", np.float32)
        _save(folder / "SEG.nii.gz", label, spacing, "RAS", np.uint8)
        cases[key] = f"{pid}_{study}"
    (root / "fdg_metadata.csv").write_text(
        "Subject ID,Study UID,diagnosis\n" + "".join(f"{c},x,SARCOMA\n" for c in cases.values())
    )
    return cases


def write_nnunet(root: Path, vols: Volumes, spacing: tuple[float, float, float]) -> dict[str, str]:
    """``root/imagesTr/<case>_0000|0001.nii.gz``, ``root/labelsTr/<case>.nii.gz``, ``root/dataset.json``."""
    cases = {}
    for k, ((pid, _study), (key, v)) in enumerate(zip(_ids(len(vols)), vols.items(), strict=True)):
        case = f"fdg_{pid[6:]}_{k:02d}-01-2004-NA-PET-CT"
        ct, pet, label = fine(v, spacing)
        _save(root / "imagesTr" / f"{case}_0000.nii.gz", np.rint(ct), spacing, "LPI", np.int16)
        _save(root / "imagesTr" / f"{case}_0001.nii.gz", pet, spacing, "LPI", np.float32)
        _save(root / "labelsTr" / f"{case}.nii.gz", label, spacing, "LPI", np.uint8)
        cases[key] = case
    meta = {"channel_names": {"0": "CT", "1": "PET"}, "labels": {"background": 0, "tumour": 1},
            "numTraining": len(cases), "file_ending": ".nii.gz"}  # fmt: skip
    (root / "dataset.json").write_text(json.dumps(meta, indent=2))
    return cases


def write_hecktor(root: Path, vols: Volumes, spacing: tuple[float, float, float]) -> dict[str, str]:
    """``root/<ID>/<ID>__CT.nii.gz``, ``<ID>__PT.nii.gz`` (coarser grid, other orientation), ``<ID>.nii.gz``;
    a second tumour, where there is one, is label 2 (as HECKTOR's nodes)."""
    cases = {}
    pet_spacing = (spacing[0] * 1.5, spacing[1] * 2.0, spacing[2] * 2.0)
    for k, (key, v) in enumerate(vols.items()):
        case = f"CHUS-{k + 1:03d}"
        ct, pet, label = fine(v, spacing)
        parts, n = ndimage.label(label)
        if n > 1:
            sizes = np.bincount(parts.ravel())[1:]
            label = label.astype(np.uint8) + (parts == 1 + int(np.argsort(sizes)[-2])).astype(np.uint8)
        _save(root / case / f"{case}__CT.nii.gz", np.rint(ct), spacing, "RAS", np.int16)
        pet_shape = target_shape(pet.shape, spacing, pet_spacing)
        actual = tuple(n * s / m for n, s, m in zip(pet.shape, spacing, pet_shape, strict=True))
        shift = tuple(0.5 * (a - s) for a, s in zip(actual, spacing, strict=True))  # edge-aligned voxel centres
        origin = (12.5 - shift[2], -40.0 - shift[1], 300.0 + shift[0])
        _save(root / case / f"{case}__PT.nii.gz", resample_image(pet, pet_shape), actual, "LAS", np.float32, origin)
        _save(root / case / f"{case}.nii.gz", label, spacing, "RAS", np.uint8)
        cases[key] = case
    return cases


WRITERS: dict[str, Callable[[Path, Volumes, tuple[float, float, float]], dict[str, str]]] = {
    "autopet": write_autopet,
    "nnunet": write_nnunet,
    "hecktor": write_hecktor,
}
