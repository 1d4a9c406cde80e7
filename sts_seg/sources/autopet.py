"""autoPET (TCIA FDG-PET-CT-Lesions) NIfTI tree: ``<root>/<patient>/<study>/{CTres,SUV,SEG}.nii.gz``.

CTres is the CT already resampled onto the PET grid; it is the reference image. A study is one
case (``<patient>_<study>``, spaces kept); the split groups studies by the patient folder, because
some patients have two studies. Two studies that would get one id (``a_b/c`` and ``a/b_c``) are
refused, naming both. Linked patient folders are followed (:func:`~sts_seg.sources.walk.find_files`).
"""

from __future__ import annotations

from pathlib import Path

import sts_seg.sources.nifti_case as nifti_case
from sts_seg.errors import DataError
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.checks import unique_cases
from sts_seg.sources.nifti_case import CaseFiles
from sts_seg.sources.walk import find_files

CT, PET, LABEL = "CTres.nii.gz", "SUV.nii.gz", "SEG.nii.gz"
KNOWN = {CT, PET, LABEL, "CT.nii.gz", "PET.nii.gz"}


class AutoPET:
    layout = "autopet"

    def __init__(self, path: Path) -> None:
        self.path, self.notes = Path(path), []
        self.files = unique_cases(self._discover())
        if not self.files:
            raise DataError(f"{self.path}: no {CT} found; an autoPET tree holds <patient>/<study>/{CT}")

    def _discover(self) -> list[CaseFiles]:
        out, skipped = [], []
        every = find_files(self.path, skipped=skipped)
        self.notes += skipped
        present = set(every)
        for ct in (p for p in every if p.name == CT):
            study = ct.parent
            nested = study.parent != self.path
            patient = study.parent.name if nested else study.name
            case_id = f"{patient}_{study.name}" if nested else study.name
            if study / PET not in present:
                raise DataError(f"{study}: {CT} without {PET}; every study needs both")
            label = study / LABEL if study / LABEL in present else None
            out.append(CaseFiles(case_id, patient, ct, study / PET, label))
        self._note_unused(every, {p for f in out for p in (f.ct, f.pet, f.label)})
        return out

    def _note_unused(self, every: list[Path], used: set[Path | None]) -> None:
        unused = [p for p in every if p not in used]
        ignored = sorted(p.name for p in unused if p.name not in KNOWN)
        if ignored:
            self.notes.append(f"{self.path}: ignored {len(ignored)} other file(s), e.g. {ignored[0]}")
        lost = sorted({str(p.parent) for p in unused if p.name in KNOWN and p.parent / CT not in used})
        if lost:
            self.notes.append(f"{self.path}: ignored {len(lost)} folder(s) of study files without {CT}, e.g. {lost[0]}")

    def infos(self) -> list[CaseInfo]:
        return [nifti_case.info(f) for f in self.files.values()]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        return nifti_case.read(self.files[case_id], resample_pet=False, with_label=with_label)
