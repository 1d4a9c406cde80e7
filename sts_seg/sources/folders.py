"""One folder per case: ``<root>/<case>/`` holds a CT, a PET and optionally a label, found by the
file names or globs of ``data.files`` (e.g. ``{ct: CT_image.nii.gz, pet: PET_image.nii.gz,
label: PET_mask.nii.gz}``). The case id is the folder name; the patient is the case id unless
``data.patient_pattern`` says otherwise. Results are written on the ``data.reference`` image's grid
(CT or PET); the other image is resampled onto it linearly; the label must lie on that grid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from sts_seg.errors import ConfigError, DataError
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.checks import unique_cases
from sts_seg.sources.nifti_case import CaseFiles, Reference, header_info, read_on
from sts_seg.sources.walk import find_files

EXAMPLE = "{ct: CT_image.nii.gz, pet: PET_image.nii.gz, label: PET_mask.nii.gz}"


def case_patient(case_id: str, pattern: str | None) -> str:
    """The patient of a case: ``pattern``'s first group, else the case id itself."""
    if not pattern:
        return case_id
    m = re.search(pattern, case_id)
    if m is None or not m.groups():
        raise DataError(f"case {case_id}: data.patient_pattern {pattern!r} does not match it (need one group)")
    return m.group(1)


def match_one(folder: Path, case_id: str, role: str, pattern: str, required: bool) -> Path | None:
    """The one file of ``folder`` that ``pattern`` (a name or a glob) matches; two is an error,
    none is an error when ``required``."""
    found = sorted(p for p in folder.glob(pattern) if p.is_file())
    if len(found) > 1:
        shown = ", ".join(p.name for p in found[:3])
        raise DataError(
            f"case {case_id}: data.files.{role} {pattern!r} matches {len(found)} files in {folder} ({shown}); "
            "make the name or glob match one file"
        )
    if not found and required:
        raise DataError(f"case {case_id}: no file matches data.files.{role} {pattern!r} in {folder}")
    return found[0] if found else None


class CaseFolders:
    layout = "folders"

    def __init__(self, path: Path, files: Mapping[str, str] | None, reference: Reference = "ct",
                 patient_pattern: str | None = None) -> None:  # fmt: skip
        if not files:
            raise ConfigError(f"data.layout folders needs data.files: the file of each role, e.g. {EXAMPLE}")
        self.path, self.notes, self.reference = Path(path), [], reference
        found: list[CaseFiles] = []
        skipped = []
        for folder in sorted(p for p in self.path.iterdir() if p.is_dir()):
            case_id = folder.name
            if not any(match_one(folder, case_id, r, files[r], False) for r in ("ct", "pet")):
                skipped.append(folder.name)
                continue
            ct, pet = (match_one(folder, case_id, r, files[r], True) for r in ("ct", "pet"))
            label = match_one(folder, case_id, "label", files["label"], False) if files.get("label") else None
            found.append(CaseFiles(case_id, case_patient(case_id, patient_pattern), ct, pet, label))  # type: ignore[arg-type]
        self.files = unique_cases(found)  # one file in two roles (globs that overlap) is refused
        if not self.files:
            raise DataError(
                f"{self.path}: no case folder holds data.files.ct {files['ct']!r} and pet {files['pet']!r}; "
                "the folders layout is <source>/<case>/<files>"
            )
        if skipped:
            self.notes.append(f"{self.path}: ignored {len(skipped)} folder(s) without CT or PET, e.g. {skipped[0]}")
        used = {p for f in found for p in (f.ct, f.pet, f.label)}
        others = [p.name for p in find_files(self.path, skipped=self.notes) if p not in used]
        if others:
            self.notes.append(f"{self.path}: ignored {len(others)} other file(s), e.g. {others[0]}")

    def infos(self) -> list[CaseInfo]:
        return [header_info(f, self.reference, self.notes) for f in self.files.values()]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        return read_on(self.files[case_id], self.reference, resample=True, with_label=with_label)
