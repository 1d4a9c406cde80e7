"""Sources: the Kaggle HDF5, an autoPET tree, an nnU-Net raw folder, HECKTOR files. Each is a
list of cases read one at a time (memory does not grow with the number of cases).

:func:`open_source` detects the layout from what is on disk (``data.layout`` forces one).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sts_seg.errors import ConfigError, DataError
from sts_seg.sources.autopet import AutoPET
from sts_seg.sources.base import Case, CaseInfo, Source
from sts_seg.sources.hecktor import Hecktor
from sts_seg.sources.kaggle import KaggleH5, is_hdf5
from sts_seg.sources.nnunet import NnUNetRaw

LAYOUTS = ("kaggle_h5", "autopet", "nnunet", "hecktor")

__all__ = ["LAYOUTS", "Case", "CaseInfo", "Source", "detect_layout", "open_source"]


def detect_layout(path: Path) -> str:
    """The layout of ``path`` from its contents; a DataError says what was expected."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found; pass --source FILE.h5 or a folder of NIfTI cases")
    if is_hdf5(path):
        return "kaggle_h5"
    if path.is_dir():
        if (path / "dataset.json").is_file() and ((path / "imagesTr").is_dir() or (path / "imagesTs").is_dir()):
            return "nnunet"
        if next(path.rglob("CTres.nii.gz"), None) is not None:
            return "autopet"
        if next(path.rglob("*__CT.nii.gz"), None) is not None:
            return "hecktor"
    raise DataError(
        f"{path}: not a known layout (a Kaggle-layout HDF5; an autoPET tree with CTres.nii.gz; an nnU-Net "
        "raw folder with dataset.json and imagesTr/; HECKTOR files <ID>__CT.nii.gz); set data.layout to force one"
    )


def open_source(
    path: Path,
    layout: str = "auto",
    *,
    spacing: tuple[float, float, float] = (5.0, 5.0, 5.0),
    channels: Mapping[str, int] | None = None,
    patient_pattern: str | None = None,
) -> Source:
    """The source at ``path``. ``spacing`` is the Kaggle file's (it stores none); ``channels`` and
    ``patient_pattern`` apply to nnU-Net raw folders."""
    kind = detect_layout(path) if layout == "auto" else layout
    if kind not in LAYOUTS:
        raise ConfigError(f"data.layout {layout!r} is unknown; choose auto or one of {', '.join(LAYOUTS)}")
    if kind == "kaggle_h5":
        if not is_hdf5(path):
            raise DataError(f"{path}: not an HDF5 file; data.layout kaggle_h5 needs the Kaggle-layout file")
        return KaggleH5(path, spacing)
    if not Path(path).is_dir():
        raise DataError(f"{path}: data.layout {kind} needs a folder")
    if kind == "nnunet":
        return NnUNetRaw(path, channels, patient_pattern)
    return AutoPET(path) if kind == "autopet" else Hecktor(path)
