"""Volume mode: each patient sliced as ``prepare`` slices it (every voxel kept), predicted,
restacked onto the native grid and written into one output folder, complete or not at all:
``predictions.h5`` (a Kaggle-layout ``label_data`` group) and, with ``nifti``, one
``<patient>.nii.gz`` per patient."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sts_seg.core.postprocess import postprocess
from sts_seg.core.slicing import SliceSpec, labels_to_native, volume_images
from sts_seg.errors import DataError, OverwriteError
from sts_seg.infer.images import fit_batch
from sts_seg.infer.predictor import Predictor
from sts_seg.io import h5
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.io.nifti import write_nifti
from sts_seg.progress import ProgressFn, no_progress

PREDICTIONS = "predictions.h5"


def predict_volume(predictor: Predictor, vol: h5.Volume, spec: SliceSpec) -> np.ndarray:
    """``[z, y, x]`` uint8 mask for one patient on its native grid."""
    images, p = volume_images(vol.ct, vol.pet, spec)
    return labels_to_native(predictor.labels(fit_batch(images, predictor.channels)), p)


def infer_volumes(
    predictor: Predictor,
    h5_path: Path,
    output: Path,
    *,
    spec: SliceSpec,
    spacing_mm: tuple[float, float, float],
    postprocessing: dict,
    patients: Sequence[str] | None = None,
    nifti: bool = False,
    force: bool = False,
    progress: ProgressFn = no_progress,
) -> dict[str, tuple[int, int, int]]:
    """Predict ``patients`` (default all) of ``h5_path`` into the folder ``output``.

    ``postprocessing``: keyword arguments of :func:`~sts_seg.core.postprocess.postprocess`.
    """
    output = Path(output)
    if Path(h5_path).resolve().is_relative_to(output.resolve()):
        raise OverwriteError(f"{output}: holds the input file {h5_path}; choose another output folder")
    check_writable_dir(output, force, "output folder")
    available = h5.list_patients(h5_path)
    ids = list(patients) if patients else available
    unknown = sorted(set(ids) - set(available))
    if unknown:
        raise DataError(f"{h5_path}: patient(s) {', '.join(unknown)} not found; available: {', '.join(available)}")
    shapes = {}
    with staged_dir(output, force=force, what="output folder") as tmp, h5.LabelWriter(tmp / PREDICTIONS) as out:
        for i, pid in enumerate(ids):
            mask = predict_volume(predictor, h5.read_volume(h5_path, pid), spec)
            mask = postprocess(mask, spacing_mm, **postprocessing)
            out.add(pid, mask)
            if nifti:
                write_nifti(tmp / f"{pid}.nii.gz", mask, spacing_mm)
            shapes[pid] = mask.shape
            progress(i + 1, len(ids), pid)
    return shapes
