"""The Kaggle ``lab_petct_vox_5.00mm.h5`` layout as a source: one case per patient id."""

from __future__ import annotations

from pathlib import Path

import h5py

from sts_seg.io import h5
from sts_seg.sources.base import Case, CaseInfo


class KaggleH5:
    """Cases of a Kaggle-layout HDF5 file; the file has no spacing, so ``spacing`` is given."""

    layout = "kaggle_h5"

    def __init__(self, path: Path, spacing: tuple[float, float, float]) -> None:
        self.path, self.spacing, self.notes = Path(path), tuple(spacing), []

    def infos(self) -> list[CaseInfo]:
        """From the file's metadata: a group in a patient's place, a non-numeric, non-3D or empty
        dataset, or shapes that differ across the groups are refused here, naming the patient."""
        return [CaseInfo(pid, pid, shape, self.spacing) for pid, shape in h5.describe(self.path).items()]  # type: ignore[arg-type]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        vol = h5.read_volume(self.path, case_id)
        return Case(case_id, case_id, vol.ct, vol.pet, vol.label if with_label else None, self.spacing)  # type: ignore[arg-type]


def is_hdf5(path: Path) -> bool:
    """True for an existing HDF5 file (by its signature, not its suffix)."""
    return Path(path).is_file() and h5py.is_hdf5(path)
