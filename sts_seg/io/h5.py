"""The Kaggle ``lab_petct_vox_5.00mm.h5`` layout: groups ``ct_data``, ``pet_data``, ``label_data``,
one ``[z, y, x]`` dataset per patient id in each. CT in HU, PET in SUV, label > 0 = tumour.

Readers need nothing beyond that layout (no attributes), so the real file and the phantom
are read the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from sts_seg.errors import DataError
from sts_seg.io.atomic import staged_file

GROUPS = ("ct_data", "pet_data", "label_data")


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
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file ({exc}); re-download or re-create it") from exc


def list_patients(path: Path, groups: Iterable[str] = GROUPS) -> list[str]:
    """Sorted patient ids; checks that every group exists and holds the same ids."""
    with _open(path) as f:
        keys = {}
        for g in groups:
            if g not in f or not isinstance(f[g], h5py.Group):
                raise DataError(f"{path}: group '{g}' is missing; expected groups {', '.join(GROUPS)}")
            keys[g] = set(f[g].keys())
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


def _check_volume(path: Path, pid: str, ct: np.ndarray, pet: np.ndarray, label: np.ndarray) -> None:
    for name, arr in (("ct_data", ct), ("pet_data", pet), ("label_data", label)):
        if arr.ndim != 3:
            raise DataError(f"{path}: {name}/{pid} has shape {arr.shape}; expected a 3D [z, y, x] array")
    if not ct.shape == pet.shape == label.shape:
        raise DataError(
            f"{path}: patient {pid} shapes differ (ct {ct.shape}, pet {pet.shape}, label {label.shape}); "
            "resample them onto one grid first"
        )
    for name, arr in (("ct_data", ct), ("pet_data", pet)):
        if not np.isfinite(arr).all():
            raise DataError(f"{path}: {name}/{pid} holds NaN or infinite values; fix or mask them")
    if label.dtype.kind == "f" and not np.array_equal(label, np.round(label)):
        raise DataError(f"{path}: label_data/{pid} holds non-integer values; labels must be integers >= 0")
    if label.size and label.min() < 0:
        raise DataError(f"{path}: label_data/{pid} holds negative values; labels must be integers >= 0")
    if label.size and label.max() > 255:
        raise DataError(
            f"{path}: label_data/{pid} holds values > 255; store class labels as small integers (0 = background)"
        )


def read_volume(path: Path, patient: str) -> Volume:
    """Read and check one patient's CT, PET and label arrays."""
    with _open(path) as f:
        try:
            ct, pet, label = (np.asarray(f[g][patient]) for g in GROUPS)
        except KeyError:
            raise DataError(
                f"{path}: patient {patient} not found; available: {', '.join(sorted(f['ct_data'].keys()))}"
            ) from None
    _check_volume(Path(path), patient, ct, pet, label)
    return Volume(patient, ct.astype(np.float32), pet.astype(np.float32), label.astype(np.uint8))


def validate_h5(path: Path) -> dict[str, tuple[int, int, int]]:
    """Check the whole file (layout, shapes, values); return ``{patient: shape}``."""
    return {pid: read_volume(path, pid).ct.shape for pid in list_patients(path)}


def read_labels(path: Path, patients: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Only the ``label_data`` group (e.g. a prediction file written by ``stsseg infer --h5``)."""
    ids = list_patients(path, groups=("label_data",)) if patients is None else list(patients)
    with _open(path) as f:
        out = {}
        for pid in ids:
            if pid not in f["label_data"]:
                raise DataError(f"{path}: label_data/{pid} is missing")
            out[pid] = np.asarray(f["label_data"][pid]).astype(np.uint8)
    return out


def write_kaggle_h5(path: Path, volumes: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """Write ``{patient: (ct HU int16, pet SUV float32, label uint8)}`` in the Kaggle layout, atomically."""
    with staged_file(Path(path)) as tmp, h5py.File(tmp, "w") as f:
        groups = [f.create_group(g) for g in GROUPS]
        for pid, arrays in volumes.items():
            for grp, arr, dtype in zip(groups, arrays, (np.int16, np.float32, np.uint8), strict=True):
                grp.create_dataset(pid, data=np.asarray(arr).astype(dtype), compression="gzip", compression_opts=4)


def write_label_h5(path: Path, labels: Mapping[str, np.ndarray]) -> None:
    """Write predicted masks as a Kaggle-layout ``label_data`` group (uint8), atomically."""
    with staged_file(Path(path)) as tmp, h5py.File(tmp, "w") as f:
        grp = f.create_group("label_data")
        for pid, arr in labels.items():
            grp.create_dataset(pid, data=np.asarray(arr).astype(np.uint8), compression="gzip", compression_opts=4)
