"""Synthetic FDG-PET/CT phantom of soft-tissue sarcomas in the legs, in the layout of the Kaggle
``lab_petct_vox_5.00mm.h5`` file (5 mm voxels; CT in HU, PET in SUV, label 1 = tumour).

Each patient is drawn from its own generator ``np.random.default_rng([seed, index])``, so a
patient does not depend on how many others are made. Modules: ``layout`` (where the body is),
``anatomy`` and ``bones`` (tissue classes), ``lesions`` (sarcomas, nodes), ``ct`` and ``uptake``
(rendering), ``patient`` (one patient end to end).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sts_seg.errors import ConfigError, OverwriteError
from sts_seg.io.h5 import write_kaggle_h5
from sts_seg.phantom.patient import PhantomSpec, make_patient
from sts_seg.progress import ProgressFn

__all__ = ["PhantomSpec", "make_patient", "make_phantom", "patient_id", "patient_rng", "synth"]


def patient_id(index: int) -> str:
    """``STS_001`` for index 0, as in the Kaggle file."""
    return f"STS_{index + 1:03d}"


def patient_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of patient ``index`` (0-based) for ``seed`` (independent of the count)."""
    if seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng([seed, index])


def make_phantom(
    n_patients: int = 7, seed: int = 0, spec: PhantomSpec = PhantomSpec()
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """{"STS_001": (ct, pet, label), ...}"""
    return {patient_id(i): make_patient(patient_rng(seed, i), spec) for i in range(n_patients)}


LAYOUTS = ("kaggle_h5", "autopet", "nnunet", "hecktor")


def synth(
    *,
    output: Path,
    n_patients: int = 7,
    seed: int = 0,
    spec: PhantomSpec = PhantomSpec(),
    layout: str = "kaggle_h5",
    spacing: tuple[float, float, float] = (3.0, 2.0, 2.0),
    force: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, tuple[int, int, int]]:
    """Write the phantom: the Kaggle-layout HDF5 ``output`` (5 mm), or a NIfTI case folder in
    ``layout`` on a ``spacing`` (z, y, x mm) grid; ``{case: shape}``. ``progress(done, total,
    patient_id)`` after each patient. An existing ``output`` needs ``force``."""
    if layout not in LAYOUTS:
        raise ConfigError(f"layout {layout!r} is unknown; choose one of {', '.join(LAYOUTS)}")
    if Path(output).exists() and not force:
        raise OverwriteError(f"{output}: exists; pass --force to replace it")
    if n_patients < 1:
        raise ConfigError(f"the number of patients must be >= 1, got {n_patients}")
    volumes = {}
    for i in range(n_patients):
        pid = patient_id(i)
        volumes[pid] = make_patient(patient_rng(seed, i), spec)
        if progress is not None:
            progress(i + 1, n_patients, pid)
    if layout == "kaggle_h5":
        write_kaggle_h5(Path(output), volumes)
        return {pid: tuple(int(n) for n in v[0].shape) for pid, v in volumes.items()}
    from sts_seg.io.atomic import staged_dir
    from sts_seg.phantom.nifti_layouts import WRITERS, fine

    with staged_dir(Path(output), force, "phantom folder") as tmp:
        cases = WRITERS[layout](tmp, volumes, tuple(float(s) for s in spacing))
    return {cases[pid]: fine(v, spacing)[0].shape for pid, v in volumes.items()}
