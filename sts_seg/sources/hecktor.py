"""HECKTOR NIfTI files: ``<ID>__CT.nii.gz``, ``<ID>__PT.nii.gz`` and the label ``<ID>.nii.gz``
(labels 1 = primary tumour, 2 = nodes), flat (2022: ``imagesTr/`` + ``labelsTr/``) or one folder
per patient (2025). PET and CT are on different grids: PET is resampled onto the CT, the
reference image, and results are written on the CT grid.

A label belongs to the case whose ``<ID>`` it spells exactly: a NIfTI file that matches no case
(``CHUP_002.nii.gz`` beside ``CHUP-002__CT.nii.gz``) is ignored with a note, never taken as another
case's label.
"""

from __future__ import annotations

from pathlib import Path

import sts_seg.sources.nifti_case as nifti_case
from sts_seg.errors import DataError
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.checks import unique_cases
from sts_seg.sources.nifti_case import CaseFiles
from sts_seg.sources.walk import find_files

CT_SUFFIX, PET_SUFFIX = "__CT.nii.gz", "__PT.nii.gz"


def _label(ct: Path, case_id: str, present: set[Path]) -> Path | None:
    folders = (ct.parent, ct.parent.parent / "labelsTr", ct.parent.parent / "labels")
    return next((f / f"{case_id}.nii.gz" for f in folders if f / f"{case_id}.nii.gz" in present), None)


class Hecktor:
    layout = "hecktor"

    def __init__(self, path: Path) -> None:
        self.path, self.notes = Path(path), []
        every = find_files(self.path, skipped=self.notes)
        present = set(every)
        found = []
        for ct in (p for p in every if p.name.endswith(CT_SUFFIX)):
            case_id = ct.name[: -len(CT_SUFFIX)]
            pet = ct.with_name(case_id + PET_SUFFIX)
            if pet not in present:
                raise DataError(f"{ct}: no {pet.name} beside it; every case needs CT and PT")
            found.append(CaseFiles(case_id, case_id, ct, pet, _label(ct, case_id, present)))
        self.files = unique_cases(found)
        if not self.files:
            raise DataError(f"{self.path}: no *{CT_SUFFIX} found; HECKTOR cases are <ID>{CT_SUFFIX}, <ID>{PET_SUFFIX}")
        used = {p for f in found for p in (f.ct, f.pet, f.label)}
        stray = [p.name for p in every if p not in used and p.name.endswith((".nii.gz", ".nii"))]
        others = [p.name for p in every if p not in used and not p.name.endswith((".nii.gz", ".nii"))]
        if stray:
            self.notes.append(
                f"{self.path}: ignored {len(stray)} NIfTI file(s) that match no case, e.g. {stray[0]} "
                f"(a label is named exactly <ID>.nii.gz, as its <ID>{CT_SUFFIX})"
            )
        if others:
            self.notes.append(f"{self.path}: ignored {len(others)} other file(s), e.g. {others[0]}")

    def infos(self) -> list[CaseInfo]:
        return [nifti_case.info(f) for f in self.files.values()]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        return nifti_case.read(self.files[case_id], resample_pet=True, with_label=with_label)
