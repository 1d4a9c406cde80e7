"""An nnU-Net raw dataset: ``dataset.json``, ``imagesTr/<CASE>_<CHANNEL>.nii.gz``, ``labelsTr/<CASE>.nii.gz``
(and ``imagesTs/`` for cases without labels).

Channels are told apart by ``dataset.json`` ``channel_names`` (CT: "CT"; PET: "PET", "PT", "SUV",
"FDG"), or by ``data.channels`` when the names do not say it (the DKFZ autoPET conversion names
both channels "CT"). Every channel of a case must be on one grid, as nnU-Net requires. Patients:
``data.patient_pattern`` (a regex whose first group is the patient id), else the autoPET naming
(``fdg_<id>_...``, ``psma_<id>_...``, ``PETCT_<id>_...``), else the case id itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from sts_seg.errors import DataError
from sts_seg.io.reading import read_json
from sts_seg.sources import nifti_case
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.nifti_case import CaseFiles

PET_NAMES = {"pet", "pt", "suv", "fdg", "fdg-pet", "fdg_pet"}
AUTOPET_PATIENT = re.compile(r"^((?:fdg|psma)_[0-9a-f]+|PETCT_[0-9a-f]+)_")


def patient_of(case_id: str, pattern: str | None) -> str:
    """The patient id of a case (see the module docstring)."""
    if pattern:
        m = re.search(pattern, case_id)
        if m is None or not m.groups():
            raise DataError(f"case {case_id}: data.patient_pattern {pattern!r} does not match it (need one group)")
        return m.group(1)
    m = AUTOPET_PATIENT.match(case_id)
    return m.group(1) if m else case_id


def channel_indices(path: Path, names: Mapping[str, str], override: Mapping[str, int] | None) -> tuple[int, int]:
    """``(ct, pet)`` channel numbers from ``channel_names`` (or ``data.channels``)."""
    if override:
        return int(override["ct"]), int(override["pet"])
    ct = [int(k) for k, v in names.items() if str(v).strip().lower() == "ct"]
    pet = [int(k) for k, v in names.items() if str(v).strip().lower() in PET_NAMES]
    if len(ct) != 1 or len(pet) != 1:
        raise DataError(
            f"{path}: channel_names {dict(names)} do not name one CT and one PET channel; "
            "rename them or set data.channels: {ct: 0, pet: 1}"
        )
    return ct[0], pet[0]


class NnUNetRaw:
    layout = "nnunet"

    def __init__(self, path: Path, channels: Mapping[str, int] | None = None, patient_pattern: str | None = None):
        self.path, self.notes = Path(path), []
        meta = read_json(self.path / "dataset.json", "dataset.json", "fix it or regenerate it with nnU-Net")
        try:
            ending = str(meta.get("file_ending", ".nii.gz"))
            names = meta["channel_names"]
        except (KeyError, AttributeError) as exc:
            raise DataError(
                f"{self.path / 'dataset.json'}: no channel_names ({exc}); it is not an nnU-Net dataset.json"
            ) from None
        ct, pet = channel_indices(self.path / "dataset.json", names, channels)
        self.files: dict[str, CaseFiles] = {}
        pattern = re.compile(rf"^(?P<case>.+)_(?P<ch>\d{{4}}){re.escape(ending)}$")
        for folder, labels in (("imagesTr", "labelsTr"), ("imagesTs", "labelsTs")):
            self._add(self.path / folder, self.path / labels, pattern, ending, (ct, pet), patient_pattern)
        if not self.files:
            raise DataError(f"{self.path}: no <CASE>_0000{ending} in imagesTr/ or imagesTs/")

    def _add(self, images: Path, labels: Path, pattern: re.Pattern, ending: str, chans: tuple[int, int],
             patient_pattern: str | None) -> None:  # fmt: skip
        if not images.is_dir():
            return
        found: dict[str, dict[int, Path]] = {}
        ignored = []
        for p in sorted(images.iterdir()):
            m = pattern.match(p.name)
            if m is None:
                ignored.append(p.name)
                continue
            found.setdefault(m["case"], {})[int(m["ch"])] = p
        for case_id, files in found.items():
            missing = [c for c in chans if c not in files]
            if missing:
                raise DataError(
                    f"{images}: case {case_id} has no channel {missing[0]:04d} ({case_id}_{missing[0]:04d}{ending})"
                )
            label = labels / f"{case_id}{ending}"
            self.files[case_id] = CaseFiles(
                case_id, patient_of(case_id, patient_pattern), files[chans[0]], files[chans[1]],
                label if label.is_file() else None,
            )  # fmt: skip
        if ignored:
            self.notes.append(f"{images}: ignored {len(ignored)} other file(s), e.g. {ignored[0]}")

    def infos(self) -> list[CaseInfo]:
        return [nifti_case.info(f) for f in self.files.values()]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        return nifti_case.read(self.files[case_id], resample_pet=False, with_label=with_label)
