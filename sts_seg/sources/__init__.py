"""Sources: the Kaggle HDF5, an autoPET tree, an nnU-Net raw folder, HECKTOR files, one folder per
case, a case list (CSV or JSON) and DICOM studies. Each is a list of cases read one at a time
(memory does not grow with the number of cases).

:func:`open_source` detects the layout from what is on disk (``data.layout`` forces one). The
layout modules import only submodules of this package, never the package itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sts_seg.errors import ConfigError, DataError
from sts_seg.sources.autopet import AutoPET
from sts_seg.sources.base import Case, CaseInfo, Source
from sts_seg.sources.caselist import SUFFIXES, CaseList, is_case_list
from sts_seg.sources.folders import CaseFolders
from sts_seg.sources.hecktor import Hecktor
from sts_seg.sources.kaggle import KaggleH5, is_hdf5
from sts_seg.sources.nnunet import NnUNetRaw
from sts_seg.sources.walk import find_files

if TYPE_CHECKING:
    from sts_seg.config.data import DataConfig

LAYOUTS = ("kaggle_h5", "autopet", "nnunet", "hecktor", "folders", "caselist", "dicom")
#: layouts whose two images may lie on different grids: ``data.reference`` picks the one results go on
REFERENCE_LAYOUTS = ("folders", "caselist", "dicom")

__all__ = ["LAYOUTS", "Case", "CaseInfo", "Source", "detect_layout", "open_configured", "open_source"]


def detect_layout(path: Path) -> str:
    """The layout of ``path`` from its contents; a DataError says what was expected. ``folders``
    is never guessed (any tree has folders): ``data.files`` or ``data.layout`` selects it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found; pass --source FILE.h5, a case list (.csv, .json) or a folder of cases")
    if is_hdf5(path):
        return "kaggle_h5"
    if is_case_list(path):
        return "caselist"
    if path.is_dir():
        if (path / "dataset.json").is_file() and ((path / "imagesTr").is_dir() or (path / "imagesTs").is_dir()):
            return "nnunet"
        if find_files(path, "CTres.nii.gz"):
            return "autopet"
        if find_files(path, "*__CT.nii.gz"):
            return "hecktor"
        if find_files(path, "*.dcm"):
            return "dicom"
    raise DataError(
        f"{path}: not a known layout (a Kaggle-layout HDF5; a case list .csv/.json; an autoPET tree with "
        "CTres.nii.gz; an nnU-Net raw folder with dataset.json and imagesTr/; HECKTOR files <ID>__CT.nii.gz; "
        "DICOM studies *.dcm); for one folder per case set data.layout folders and data.files"
    )


def _kind(path: Path, layout: str, files: Mapping[str, str] | None, reference: str) -> str:
    """The layout to open ``path`` with: ``layout``, or the detected one (``folders`` when ``files`` is
    given). A case list file (``.csv``, ``.json``) is read as one whatever ``layout`` names, so that a
    config for case folders also takes ``--source cases.csv``."""
    if reference not in ("ct", "pet"):
        raise ConfigError(f"data.reference {reference!r} is unknown; choose ct or pet")
    if layout != "auto" and layout not in LAYOUTS:
        raise ConfigError(f"data.layout {layout!r} is unknown; choose auto or one of {', '.join(LAYOUTS)}")
    if is_case_list(path):
        return "caselist"
    if layout == "auto":
        return "folders" if files and path.is_dir() else detect_layout(path)
    return layout


def open_source(
    path: Path,
    layout: str = "auto",
    *,
    spacing: tuple[float, float, float] = (5.0, 5.0, 5.0),
    channels: Mapping[str, int] | None = None,
    patient_pattern: str | None = None,
    files: Mapping[str, str] | None = None,
    reference: str = "ct",
    roi: str | None = None,
) -> Source:
    """The source at ``path``. ``spacing`` is the Kaggle file's (it stores none); ``channels``
    applies to nnU-Net raw folders; ``patient_pattern`` to nnU-Net raw, folders, case lists and
    DICOM; ``files`` (role -> name or glob) to folders; ``reference`` (``ct`` or ``pet``: the grid
    results go on) to folders, case lists and DICOM; ``roi`` (a name or regex) to DICOM."""
    path = Path(path)
    kind = _kind(path, layout, files, reference)
    if reference != "ct" and kind == "hecktor":
        raise ConfigError("data.reference pet: HECKTOR cases are read on the CT grid; use data.layout folders for PET")
    if kind == "kaggle_h5":
        if not is_hdf5(path):
            raise DataError(f"{path}: not an HDF5 file; data.layout kaggle_h5 needs the Kaggle-layout file")
        return KaggleH5(path, spacing)
    if kind == "caselist":
        if not is_case_list(path):
            raise DataError(f"{path}: not a case list file; data.layout caselist needs a {' or '.join(SUFFIXES)} file")
        return CaseList(path, reference, patient_pattern)  # type: ignore[arg-type]
    if not path.is_dir():
        raise DataError(f"{path}: data.layout {kind} needs a folder")
    if kind == "dicom":
        from sts_seg.sources.dicom_study import DicomStudies

        return DicomStudies(path, reference, roi, patient_pattern)  # type: ignore[arg-type]
    if kind == "folders":
        return CaseFolders(path, files, reference, patient_pattern)  # type: ignore[arg-type]
    if kind == "nnunet":
        return NnUNetRaw(path, channels, patient_pattern)
    return AutoPET(path) if kind == "autopet" else Hecktor(path)


def open_configured(path: Path, data: DataConfig) -> Source:
    """:func:`open_source` with every setting of ``data`` (``layout``, ``files``, ``reference``, ...)."""
    d = data
    return open_source(
        path, d.layout, spacing=d.spacing_mm, channels=d.channels, patient_pattern=d.patient_pattern,
        files=d.files, reference=d.reference, roi=d.roi,
    )  # fmt: skip
