"""The Kaggle ``lab_petct_vox_5.00mm.h5`` layout as a source: one case per patient id."""

from __future__ import annotations

from pathlib import Path

import h5py

from sts_seg.io import h5
from sts_seg.io.reading import reading
from sts_seg.sources.base import Case, CaseInfo


class KaggleH5:
    """Cases of a Kaggle-layout HDF5 file; the file has no spacing, so ``spacing`` is given."""

    layout = "kaggle_h5"

    def __init__(self, path: Path, spacing: tuple[float, float, float]) -> None:
        self.path, self.spacing, self.notes = Path(path), tuple(spacing), []

    def infos(self) -> list[CaseInfo]:
        patients = h5.list_patients(self.path)
        with h5._open(self.path) as f, reading(self.path, "the HDF5 layout", h5.FIX):
            shapes = {pid: tuple(f["ct_data"][pid].shape) for pid in patients}
        for pid, shape in shapes.items():
            if len(shape) != 3 or 0 in shape:
                h5.read_volume(self.path, pid)  # raises the precise error
        return [CaseInfo(pid, pid, shapes[pid], self.spacing) for pid in patients]  # type: ignore[arg-type]

    def read(self, case_id: str, with_label: bool = True) -> Case:
        vol = h5.read_volume(self.path, case_id)
        return Case(case_id, case_id, vol.ct, vol.pet, vol.label if with_label else None, self.spacing)  # type: ignore[arg-type]


def is_hdf5(path: Path) -> bool:
    """True for an existing HDF5 file (by its signature, not its suffix)."""
    return Path(path).is_file() and h5py.is_hdf5(path)
