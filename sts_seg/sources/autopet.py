"""autoPET (TCIA FDG-PET-CT-Lesions) NIfTI tree: ``<root>/<patient>/<study>/{CTres,SUV,SEG}.nii.gz``.

CTres is the CT already resampled onto the PET grid; it is the reference image. A study is one
case (``<patient>_<study>``, spaces kept); the split groups studies by the patient folder, because
some patients have two studies.
"""

from __future__ import annotations

from pathlib import Path

from sts_seg.errors import DataError
from sts_seg.sources import nifti_case
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.nifti_case import CaseFiles

CT, PET, LABEL = "CTres.nii.gz", "SUV.nii.gz", "SEG.nii.gz"
KNOWN = {CT, PET, LABEL, "CT.nii.gz", "PET.nii.gz"}


class AutoPET:
    layout = "autopet"

    def __init__(self, path: Path) -> None:
        self.path, self.notes = Path(path), []
        self.files = {f.case_id: f for f in self._discover()}
        if not self.files:
            raise DataError(f"{self.path}: no {CT} found; an autoPET tree holds <patient>/<study>/{CT}")

    def _discover(self) -> list[CaseFiles]:
        out = []
        for ct in sorted(self.path.rglob(CT)):
            study = ct.parent
            nested = study.parent != self.path
            patient = study.parent.name if nested else study.name
            case_id = f"{patient}_{study.name}" if nested else study.name
            if not (study / PET).is_file():
                raise DataError(f"{study}: {CT} without {PET}; every study needs both")
            label = study / LABEL if (study / LABEL).is_file() else None
            out.append(CaseFiles(case_id, patient, ct, study / PET, label))
        used = {p for f in out for p in (f.ct, f.pet, f.label)}
        ignored = sorted(p.name for p in self.path.rglob("*") if p.is_file() and p not in used and p.name not in KNOWN)
        if ignored:
            self.notes.append(f"{self.path}: ignored {len(ignored)} other file(s), e.g. {ignored[0]}")
        return out

    def infos(self) -> list[CaseInfo]:
        return [nifti_case.info(f) for f in self.files.values()]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        return nifti_case.read(self.files[case_id], resample_pet=False, with_label=with_label)
