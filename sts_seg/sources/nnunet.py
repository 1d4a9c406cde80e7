"""An nnU-Net raw dataset: ``dataset.json``, ``imagesTr/<CASE>_<CHANNEL>.nii.gz``, ``labelsTr/<CASE>.nii.gz``
(and ``imagesTs/`` for cases without labels).

Channels are told apart by ``dataset.json`` ``channel_names`` (CT: "CT"; PET: "PET", "PT", "SUV",
"FDG"), or by ``data.channels`` when the names do not say it (the DKFZ autoPET conversion names
both channels "CT"). Every channel of a case must be on one grid, as nnU-Net requires. Patients:
``data.patient_pattern`` (a regex whose first group is the patient id), else the autoPET naming
(``fdg_<id>_...``, ``psma_<id>_...``, ``PETCT_<id>_...``), else the case id itself. A label is
``labelsTr/<CASE>`` exactly; label files that match no case are ignored with a note.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import sts_seg.sources.nifti_case as nifti_case
from sts_seg.errors import ConfigError, DataError
from sts_seg.io.reading import read_json
from sts_seg.sources.base import Case, CaseInfo
from sts_seg.sources.checks import unique_cases
from sts_seg.sources.nifti_case import CaseFiles

PET_NAMES = {"pet", "pt", "suv", "fdg", "fdg-pet", "fdg_pet"}
AUTOPET_PATIENT = re.compile(r"^((?:fdg|psma)_[0-9a-f]+|PETCT_[0-9a-f]+)_")
ENDINGS = (".nii.gz", ".nii")  #: what nibabel reads; nnU-Net also allows .mha, .nrrd, .png, ...


def patient_of(case_id: str, pattern: str | None) -> str:
    """The patient id of a case (see the module docstring)."""
    if pattern:
        m = re.search(pattern, case_id)
        if m is None or not m.groups():
            raise DataError(f"case {case_id}: data.patient_pattern {pattern!r} does not match it (need one group)")
        return m.group(1)
    m = AUTOPET_PATIENT.match(case_id)
    return m.group(1) if m else case_id


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string"}.get(type(value), type(value).__name__)


def read_meta(path: Path, need_names: bool = True) -> tuple[dict[int, str], str]:
    """``(channel_names as {number: name}, file_ending)`` of ``dataset.json``; a key of the wrong
    type is a DataError naming the file and the key."""
    meta = read_json(path, "dataset.json", "fix it or regenerate it with nnU-Net")
    if not isinstance(meta, dict):
        raise DataError(f"{path}: holds {_kind(meta)}, not a JSON object; it is not an nnU-Net dataset.json")
    ending = meta.get("file_ending", ".nii.gz")
    if not isinstance(ending, str) or ending not in ENDINGS:
        raise DataError(f"{path}: file_ending {ending!r} is not one of {', '.join(ENDINGS)}; stsseg reads NIfTI")
    labels = meta.get("labels", {})
    if not isinstance(labels, dict):
        raise DataError(f'{path}: labels is {_kind(labels)}, not a mapping; write it as {{"background": 0, ...}}')
    names = meta.get("channel_names")
    if names is None:
        if not need_names:
            return {}, ending
        old = " (nnU-Net v1 calls it modality: rename the key)" if "modality" in meta else ""
        raise DataError(f"{path}: no channel_names{old}; it is not an nnU-Net v2 dataset.json")
    if not isinstance(names, dict):
        raise DataError(f'{path}: channel_names is {_kind(names)}, not a mapping; write {{"0": "CT", "1": "PET"}}')
    bad = [k for k, v in names.items() if not (str(k).isdigit() and isinstance(v, str))]
    if bad:
        raise DataError(
            f"{path}: channel_names entry {bad[0]!r}: {names[bad[0]]!r} is not a channel number and a name, "
            'as in {"0": "CT", "1": "PET"}'
        )
    return {int(k): v for k, v in names.items()}, ending


def channel_indices(path: Path, names: Mapping[int, str], override: Mapping[str, int] | None) -> tuple[int, int]:
    """``(ct, pet)`` channel numbers from ``channel_names`` (or ``data.channels``)."""
    if override:
        if set(override) != {"ct", "pet"}:
            raise ConfigError(f"data.channels {dict(override)} must give both ct and pet, e.g. {{ct: 0, pet: 1}}")
        return int(override["ct"]), int(override["pet"])
    ct = [k for k, v in names.items() if v.strip().lower() == "ct"]
    pet = [k for k, v in names.items() if v.strip().lower() in PET_NAMES]
    if len(ct) != 1 or len(pet) != 1:
        shown = {str(k): v for k, v in names.items()}
        raise DataError(
            f"{path}: channel_names {shown} do not name one CT and one PET channel; "
            "rename them or set data.channels: {ct: 0, pet: 1}"
        )
    return ct[0], pet[0]


class NnUNetRaw:
    layout = "nnunet"

    def __init__(self, path: Path, channels: Mapping[str, int] | None = None, patient_pattern: str | None = None):
        self.path, self.notes = Path(path), []
        names, ending = read_meta(self.path / "dataset.json", need_names=not channels)
        chans = channel_indices(self.path / "dataset.json", names, channels)
        pattern = re.compile(rf"^(?P<case>.+)_(?P<ch>\d{{4}}){re.escape(ending)}$")
        found: list[CaseFiles] = []
        for folder, labels in (("imagesTr", "labelsTr"), ("imagesTs", "labelsTs")):
            found += self._cases(self.path / folder, self.path / labels, pattern, ending, chans, patient_pattern)
        self.files = unique_cases(found)
        if not self.files:
            raise DataError(f"{self.path}: no <CASE>_0000{ending} in imagesTr/ or imagesTs/")

    def _cases(self, images: Path, labels: Path, pattern: re.Pattern, ending: str, chans: tuple[int, int],
               patient_pattern: str | None) -> list[CaseFiles]:  # fmt: skip
        if not images.is_dir():
            return []
        found: dict[str, dict[int, Path]] = {}
        ignored = []
        for p in sorted(images.iterdir()):
            m = pattern.match(p.name)
            if m is None or not p.is_file():
                ignored.append(p.name)
                continue
            found.setdefault(m["case"], {})[int(m["ch"])] = p
        out = []
        for case_id, files in found.items():
            missing = [c for c in chans if c not in files]
            if missing:
                raise DataError(
                    f"{images}: case {case_id} has no channel {missing[0]:04d} ({case_id}_{missing[0]:04d}{ending})"
                )
            label = labels / f"{case_id}{ending}"
            out.append(CaseFiles(
                case_id, patient_of(case_id, patient_pattern), files[chans[0]], files[chans[1]],
                label if label.is_file() else None,
            ))  # fmt: skip
        if ignored:
            self.notes.append(f"{images}: ignored {len(ignored)} other file(s), e.g. {ignored[0]}")
        label_files = sorted(labels.iterdir()) if labels.is_dir() else []
        stray = [p.name for p in label_files if not p.name.endswith(ending) or p.name[: -len(ending)] not in found]
        if stray:
            self.notes.append(f"{labels}: ignored {len(stray)} label file(s) that match no case, e.g. {stray[0]}")
        return out

    def infos(self) -> list[CaseInfo]:
        return [nifti_case.info(f) for f in self.files.values()]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        return nifti_case.read(self.files[case_id], resample_pet=False, with_label=with_label)
