"""The Kaggle ``lab_petct_vox_5.00mm.h5`` layout: groups ``ct_data``, ``pet_data``, ``label_data``,
one ``[z, y, x]`` dataset per patient id in each. CT in HU, PET in SUV, label > 0 = tumour.

Readers need nothing beyond that layout (no attributes), so the real file and the phantom
are read the same way. Every h5py/HDF5 error is reported as one line naming the file and the
dataset (:func:`~sts_seg.io.reading.reading`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from sts_seg.errors import DataError
from sts_seg.io.atomic import staged_file
from sts_seg.io.reading import reading

GROUPS = ("ct_data", "pet_data", "label_data")
#: the file ``stsseg infer`` writes for an HDF5 source (a label_data group)
PREDICTIONS = "predictions.h5"
FIX = "re-download or re-create the file"


@dataclass(frozen=True)
class Volume:
    """One patient: ``ct`` (HU) and ``pet`` (SUV) float32, ``label`` uint8, all ``[z, y, x]``."""

    patient: str
    ct: np.ndarray
    pet: np.ndarray
    label: np.ndarray


def _open(path: Path) -> h5py.File:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: HDF5 file not found; run 'stsseg synth --output {path}' or point to the Kaggle file")
    with reading(path, "the HDF5 file", FIX):
        return h5py.File(path, "r")


def _group(path: Path, f: h5py.File, g: str) -> h5py.Group:
    if g not in f:
        raise DataError(f"{path}: group '{g}' is missing; expected groups {', '.join(GROUPS)}")
    with reading(path, f"'{g}'", FIX):
        node = f[g]
    if not isinstance(node, h5py.Group):
        raise DataError(
            f"{path}: '{g}' is a dataset, not a group; the Kaggle layout has one dataset per patient inside {g}/"
        )
    return node


def list_patients(path: Path, groups: Iterable[str] = GROUPS) -> list[str]:
    """Sorted patient ids; checks that every group exists and holds the same ids."""
    with _open(path) as f, reading(path, "the HDF5 layout", FIX):
        keys = {g: set(_group(path, f, g).keys()) for g in groups}
    ref = keys[next(iter(keys))]
    for g, ids in keys.items():
        if ids != ref:
            diff = sorted(ids ^ ref)
            raise DataError(
                f"{path}: group '{g}' has different patients ({', '.join(diff)}); every group needs the same ids"
            )
    if not ref:
        raise DataError(f"{path}: no patients found in {', '.join(GROUPS)}")
    return sorted(ref)


def _dataset(path: Path, group: h5py.Group, g: str, pid: str) -> h5py.Dataset:
    """``g/pid`` as a dataset; a missing entry or a group in its place is a DataError naming it."""
    if pid not in group:
        raise DataError(f"{path}: patient {pid} not found in {g}; available: {', '.join(sorted(group.keys()))}")
    with reading(path, f"{g}/{pid}", FIX):
        node = group[pid]
    if not isinstance(node, h5py.Dataset):
        raise DataError(f"{path}: {g}/{pid} is a group, expected a dataset; each patient is one [z, y, x] array")
    if node.dtype.kind not in "biuf":
        raise DataError(f"{path}: {g}/{pid} holds {node.dtype} values, not numbers; store numeric [z, y, x] arrays")
    return node


def _read_array(path: Path, f: h5py.File, g: str, pid: str) -> np.ndarray:
    node = _dataset(path, _group(path, f, g), g, pid)
    with reading(path, f"{g}/{pid}", FIX):
        return np.asarray(node[()])


def _check_shapes(path: Path, pid: str, shapes: Mapping[str, tuple[int, ...]]) -> None:
    for name, shape in shapes.items():
        if len(shape) != 3:
            raise DataError(f"{path}: {name}/{pid} has shape {shape}; expected a 3D [z, y, x] array")
        if 0 in shape:
            raise DataError(f"{path}: {name}/{pid} has shape {shape}, an empty volume; remove the patient")
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name.split('_')[0]} {shape}" for name, shape in shapes.items())
        raise DataError(f"{path}: patient {pid} shapes differ ({listed}); resample them onto one grid first")


def describe(path: Path) -> dict[str, tuple[int, int, int]]:
    """``{patient: [z, y, x] shape}`` from the file's metadata alone (no voxels read): every group
    holds the same ids, each a numeric non-empty 3D dataset of one shape across the groups."""
    patients = list_patients(path)
    with _open(path) as f:
        groups = {g: _group(Path(path), f, g) for g in GROUPS}
        out = {}
        for pid in patients:
            shapes = {g: tuple(_dataset(Path(path), groups[g], g, pid).shape) for g in GROUPS}
            _check_shapes(Path(path), pid, shapes)
            out[pid] = shapes["ct_data"]
    return out  # type: ignore[return-value]


def _check_volume(path: Path, pid: str, ct: np.ndarray, pet: np.ndarray, label: np.ndarray) -> None:
    _check_shapes(path, pid, {"ct_data": ct.shape, "pet_data": pet.shape, "label_data": label.shape})
    for name, arr in (("ct_data", ct), ("pet_data", pet)):
        if not np.isfinite(arr).all():
            raise DataError(f"{path}: {name}/{pid} holds NaN or infinite values; fix or mask them")
    if label.dtype.kind == "f" and not np.array_equal(label, np.round(label)):
        raise DataError(f"{path}: label_data/{pid} holds non-integer values; labels must be integers >= 0")
    if label.min() < 0:
        raise DataError(f"{path}: label_data/{pid} holds negative values; labels must be integers >= 0")
    if label.max() > 255:
        raise DataError(
            f"{path}: label_data/{pid} holds values > 255; store class labels as small integers (0 = background)"
        )


def read_volume(path: Path, patient: str) -> Volume:
    """Read and check one patient's CT, PET and label arrays."""
    with _open(path) as f:
        ct, pet, label = (_read_array(Path(path), f, g, patient) for g in GROUPS)
    _check_volume(Path(path), patient, ct, pet, label)
    return Volume(patient, ct.astype(np.float32), pet.astype(np.float32), label.astype(np.uint8))


def validate_h5(path: Path) -> dict[str, tuple[int, int, int]]:
    """Check the whole file (layout, shapes, values); return ``{patient: shape}``."""
    return {pid: read_volume(path, pid).ct.shape for pid in list_patients(path)}


def read_labels(path: Path, patients: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Only the ``label_data`` group (e.g. a prediction file written by ``stsseg infer``)."""
    ids = list_patients(path, groups=("label_data",)) if patients is None else list(patients)
    with _open(path) as f:
        out = {}
        for pid in ids:
            arr = _read_array(Path(path), f, "label_data", pid)
            if arr.ndim != 3:
                raise DataError(f"{path}: label_data/{pid} has shape {arr.shape}; expected a 3D [z, y, x] array")
            out[pid] = arr.astype(np.uint8)
    return out


def write_kaggle_h5(path: Path, volumes: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """Write ``{patient: (ct HU int16, pet SUV float32, label uint8)}`` in the Kaggle layout, atomically."""
    with staged_file(Path(path)) as tmp, h5py.File(tmp, "w") as f:
        groups = [f.create_group(g) for g in GROUPS]
        for pid, arrays in volumes.items():
            for grp, arr, dtype in zip(groups, arrays, (np.int16, np.float32, np.uint8), strict=True):
                grp.create_dataset(pid, data=np.asarray(arr).astype(dtype), compression="gzip", compression_opts=4)


class LabelWriter:
    """Predicted masks written one patient at a time into a new Kaggle-layout ``label_data``
    HDF5 (uint8), so memory does not grow with the number of patients. Use it on a staged path."""

    def __init__(self, path: Path) -> None:
        self.file = h5py.File(path, "w")
        self.group = self.file.create_group("label_data")

    def add(self, patient: str, mask: np.ndarray) -> None:
        self.group.create_dataset(
            patient, data=np.asarray(mask).astype(np.uint8), compression="gzip", compression_opts=4
        )

    def __enter__(self) -> LabelWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()


def write_label_h5(path: Path, labels: Mapping[str, np.ndarray]) -> None:
    """Write predicted masks as a Kaggle-layout ``label_data`` group (uint8), atomically."""
    with staged_file(Path(path)) as tmp, LabelWriter(tmp) as out:
        for pid, arr in labels.items():
            out.add(pid, arr)
