"""HECKTOR NIfTI files: ``<ID>__CT.nii.gz``, ``<ID>__PT.nii.gz`` and the label ``<ID>.nii.gz``
(labels 1 = primary tumour, 2 = nodes), flat (2022: ``imagesTr/`` + ``labelsTr/``) or one folder
per patient (2025). PET and CT are on different grids: PET is resampled onto the CT, the
reference image, and results are written on the CT grid.
"""

from __future__ import annotations

from pathlib import Path

from sts_seg.errors import DataError
from sts_seg.sources import nifti_case
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.nifti_case import CaseFiles

CT_SUFFIX, PET_SUFFIX = "__CT.nii.gz", "__PT.nii.gz"


def _label(ct: Path, case_id: str) -> Path | None:
    names = (f"{case_id}.nii.gz", f"{case_id.replace('-', '_')}.nii.gz")
    folders = (ct.parent, ct.parent.parent / "labelsTr", ct.parent.parent / "labels")
    return next((f / n for f in folders for n in names if (f / n).is_file()), None)


class Hecktor:
    layout = "hecktor"

    def __init__(self, path: Path) -> None:
        self.path, self.notes = Path(path), []
        self.files: dict[str, CaseFiles] = {}
        used = set()
        for ct in sorted(self.path.rglob(f"*{CT_SUFFIX}")):
            case_id = ct.name[: -len(CT_SUFFIX)]
            pet = ct.with_name(case_id + PET_SUFFIX)
            if not pet.is_file():
                raise DataError(f"{ct}: no {pet.name} beside it; every case needs CT and PT")
            label = _label(ct, case_id)
            self.files[case_id] = CaseFiles(case_id, case_id, ct, pet, label)
            used |= {ct, pet, label}
        if not self.files:
            raise DataError(f"{self.path}: no *{CT_SUFFIX} found; HECKTOR cases are <ID>{CT_SUFFIX}, <ID>{PET_SUFFIX}")
        others = [p.name for p in self.path.rglob("*") if p.is_file() and p not in used]
        if others:
            self.notes.append(f"{self.path}: ignored {len(others)} other file(s), e.g. {others[0]}")

    def infos(self) -> list[CaseInfo]:
        return [nifti_case.info(f) for f in self.files.values()]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        return nifti_case.read(self.files[case_id], resample_pet=True, with_label=with_label)
