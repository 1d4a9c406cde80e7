"""A case list: the files of each case named in a CSV or JSON file, for any layout on disk.

* CSV (``.csv``): columns ``case``, optional ``patient``, ``ct``, ``pet``, optional ``label`` (an
  empty cell: no label).
* JSON (``.json``): a MONAI Decathlon datalist, ``{"training": [{"image": [ct, pet], "label": ...}],
  "validation": [...], "test": [...]}``; ``image`` lists the CT first, then the PET; a test entry
  may also be the bare ``[ct, pet]`` list. The case id is the entry's ``case`` (or ``id``) key, else
  the CT file name without ``.nii.gz``; ``patient`` is optional.

Paths are relative to the list file, or absolute. The patient is the ``patient`` given, else
``data.patient_pattern``'s first group, else the case id. Results are written on the
``data.reference`` grid, the other image resampled onto it, as for the ``folders`` layout.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sts_seg.errors import DataError
from sts_seg.io import nifti
from sts_seg.io.reading import read_json
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.folders import case_patient
from sts_seg.sources.nifti_case import CaseFiles, Reference, header_info, read_on

SUFFIXES = (".csv", ".json")
ROLES = ("ct", "pet", "label")
SECTIONS = ("training", "validation", "test")


def is_case_list(path: Path) -> bool:
    """True for an existing file named ``*.csv`` or ``*.json``."""
    return Path(path).is_file() and Path(path).suffix.lower() in SUFFIXES


def _csv_rows(path: Path) -> list[tuple[int | str, dict[str, Any]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("case", "ct", "pet") if c not in columns]
        if missing:
            raise DataError(
                f"{path}: no column {', '.join(missing)} (found {', '.join(columns) or 'none'}); "
                "a case list has the columns case, patient (optional), ct, pet, label (optional)"
            )
        rows = []
        for n, row in enumerate(reader, start=2):
            clean = {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}
            rows.append((f"line {n}", {k: v for k, v in clean.items() if v}))
        return rows


def _entry(where: str, entry: Any, path: Path) -> dict[str, Any]:
    image = entry.get("image") if isinstance(entry, dict) else entry
    if not (isinstance(image, list) and len(image) == 2 and all(isinstance(p, str) for p in image)):
        raise DataError(f"{path}: {where}: 'image' must list two files, [ct, pet] (got {image!r})")
    row: dict[str, Any] = {"ct": image[0], "pet": image[1]}
    if isinstance(entry, dict):
        for key in ("label", "patient"):
            if entry.get(key):
                row[key] = str(entry[key])
        case = entry.get("case") or entry.get("id")
        row["case"] = str(case) if case else None
    if not row.get("case"):
        row["case"] = next((image[0][: -len(s)] for s in nifti.SUFFIXES if image[0].endswith(s)), Path(image[0]).stem)
        row["case"] = Path(row["case"]).name
    return row


def _json_rows(path: Path) -> list[tuple[int | str, dict[str, Any]]]:
    data = read_json(path, "case list", "give a MONAI datalist: {training: [{image: [ct, pet], label: ...}]}")
    if not isinstance(data, dict) or not any(k in data for k in SECTIONS):
        raise DataError(f"{path}: no 'training', 'validation' or 'test' list; a datalist is {{training: [...]}}")
    rows = []
    for section in SECTIONS:
        entries = data.get(section) or []
        if not isinstance(entries, list):
            raise DataError(f"{path}: '{section}' is not a list of entries")
        rows += [(f"{section}[{k}]", _entry(f"{section}[{k}]", e, path)) for k, e in enumerate(entries)]
    return rows


class CaseList:
    layout = "caselist"

    def __init__(self, path: Path, reference: Reference = "ct", patient_pattern: str | None = None) -> None:
        self.path, self.notes, self.reference = Path(path), [], reference
        rows = _json_rows(self.path) if self.path.suffix.lower() == ".json" else _csv_rows(self.path)
        if not rows:
            raise DataError(f"{self.path}: lists no case")
        self.files: dict[str, CaseFiles] = {}
        owner: dict[Path, tuple[str, str]] = {}
        for where, row in rows:
            case_id = row["case"]
            if case_id in self.files:
                raise DataError(f"{self.path}: case {case_id} is listed twice ({where}); give each case one row")
            found = {role: self._file(case_id, role, row[role], owner) for role in ROLES if row.get(role)}
            patient = row.get("patient") or case_patient(case_id, patient_pattern)
            self.files[case_id] = CaseFiles(case_id, patient, found["ct"], found["pet"], found.get("label"))

    def _file(self, case_id: str, role: str, name: str, owner: dict[Path, tuple[str, str]]) -> Path:
        """The existing file ``name`` (relative to the list), used by no other case or role."""
        p = Path(name).expanduser()
        p = p if p.is_absolute() else self.path.parent / p
        if not p.is_file():
            raise DataError(f"{self.path}: case {case_id}: the {role} file {name} does not exist ({p})")
        key = p.resolve()
        if key in owner:
            other, other_role = owner[key]
            what = f"case {other}" if other != case_id else "this case"
            raise DataError(
                f"{self.path}: case {case_id}: the {role} file {name} is also the {other_role} of {what}; "
                "give each case its own files"
            )
        owner[key] = (case_id, role)
        return p

    def infos(self) -> list[CaseInfo]:
        return [header_info(self.files[c], self.reference, self.notes) for c in sorted(self.files)]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        return read_on(self.files[case_id], self.reference, resample=True, with_label=with_label)
