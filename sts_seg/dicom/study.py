"""What a DICOM case folder holds, found by ``Modality`` and UIDs (never by file or folder names).

Every file under the folder is read header-only; files that are not DICOM are skipped. Image slices
are grouped by ``SeriesInstanceUID``; a case needs exactly one CT and one PET (``PT``) series, and
RTSTRUCTs are listed with the series they reference and their ROI names.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sts_seg.dicom.headers import read_header, text
from sts_seg.dicom.series import SeriesInfo, describe_series
from sts_seg.errors import DataError

IMAGE_MODALITIES = {"CT": "CT", "PT": "PET"}


@dataclass(frozen=True)
class StructInfo:
    """One RTSTRUCT: its file, the image series it references (``series_uid``: the first, "" if none) and its ROIs."""

    path: Path
    series_uid: str
    roi_names: tuple[str, ...]
    series_uids: tuple[str, ...] = ()

    def references(self, uid: str) -> bool:
        """Whether this structure set references the series ``uid``."""
        return uid in self.series_uids


@dataclass(frozen=True)
class StudyIndex:
    """A case folder: its CT and PET series and its RTSTRUCTs (headers only)."""

    folder: Path
    ct: SeriesInfo
    pet: SeriesInfo
    structs: tuple[StructInfo, ...]

    def series(self, reference: str) -> SeriesInfo:
        """The ``"ct"`` or ``"pet"`` series."""
        return self.ct if reference == "ct" else self.pet


def referenced_series(ds: Any) -> tuple[str, ...]:
    """The SeriesInstanceUIDs an RTSTRUCT references.

    Read from ReferencedFrameOfReferenceSequence / RTReferencedStudySequence / RTReferencedSeriesSequence.
    """
    uids = [
        str(series.SeriesInstanceUID)
        for frame in ds.get("ReferencedFrameOfReferenceSequence", [])
        for study in frame.get("RTReferencedStudySequence", [])
        for series in study.get("RTReferencedSeriesSequence", [])
        if series.get("SeriesInstanceUID")
    ]
    return tuple(dict.fromkeys(uids))


def struct_info(path: Path, ds: Any) -> StructInfo:
    uids = referenced_series(ds)
    names = tuple(str(r.get("ROIName", "")).strip() for r in ds.get("StructureSetROISequence", []))
    return StructInfo(path=path, series_uid=uids[0] if uids else "", roi_names=names, series_uids=uids)


def _one(groups: dict[str, list[tuple[Path, Any]]], modality: str, folder: Path, case_id: str) -> tuple[str, list]:
    name = IMAGE_MODALITIES[modality]
    if not groups:
        raise DataError(
            f"{case_id}: no {name} image series (Modality {modality}) in {folder}; add it or leave the case out"
        )
    if len(groups) > 1:
        found = "; ".join(f"{uid} ({len(h)} files in {h[0][0].parent})" for uid, h in sorted(groups.items()))
        raise DataError(f"{case_id}: {len(groups)} {name} series in {folder}: {found}; keep one per case folder")
    return next(iter(groups.items()))


def index_study(folder: Path, case_id: str) -> StudyIndex:
    """Index one case folder: its single CT and PET series (sorted, geometry checked) and its RTSTRUCTs."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{case_id}: {folder} is not a folder; give the case's DICOM folder")
    images: dict[str, dict[str, list[tuple[Path, Any]]]] = {m: defaultdict(list) for m in IMAGE_MODALITIES}
    structs = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        ds = read_header(path)
        if ds is None:
            continue
        modality = text(ds, "Modality")
        if modality in images:
            uid = text(ds, "SeriesInstanceUID")
            if uid is None:
                raise DataError(f"{case_id}: {path} has no SeriesInstanceUID; re-export the series")
            images[modality][uid].append((path, ds))
        elif modality == "RTSTRUCT":
            structs.append(struct_info(path, ds))
    ct_uid, ct = _one(images["CT"], "CT", folder, case_id)
    pt_uid, pt = _one(images["PT"], "PT", folder, case_id)
    return StudyIndex(
        folder=folder,
        ct=describe_series(ct_uid, "CT", ct, case_id),
        pet=describe_series(pt_uid, "PT", pt, case_id),
        structs=tuple(structs),
    )
