"""Volume mode: each patient sliced exactly as ``prepare`` does, predicted, restacked onto the
native grid and written as a Kaggle-layout ``label_data`` HDF5 (and optional NIfTI files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sts_seg.core.geometry import fit_image
from sts_seg.core.postprocess import postprocess
from sts_seg.core.slicing import SliceSpec, labels_to_native, volume_images
from sts_seg.errors import DataError, OverwriteError
from sts_seg.infer.predictor import Predictor
from sts_seg.io import h5
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.io.nifti import write_nifti
from sts_seg.progress import ProgressFn, no_progress


def predict_volume(predictor: Predictor, vol: h5.Volume, spec: SliceSpec) -> np.ndarray:
    """``[z, y, x]`` uint8 mask for one patient, sliced and placed exactly as ``prepare`` does."""
    if predictor.size != spec.size:
        raise DataError(
            f"model input is {predictor.size} px but model.image_size is {spec.size}; "
            "use the config the model was trained with"
        )
    images, p = volume_images(vol.ct, vol.pet, spec)
    images = np.stack([fit_image(img, predictor.size, predictor.channels, vol.patient) for img in images])
    return labels_to_native(predictor.labels(images), p).astype(np.uint8)


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
    """Write ``output`` (HDF5 ``label_data``) and, with ``nifti``, ``<output stem>_nifti/<patient>.nii.gz``.

    ``postprocessing``: keyword arguments of :func:`~sts_seg.core.postprocess.postprocess`.
    """
    output = Path(output)
    if output.exists() and not force:
        raise OverwriteError(f"{output}: exists; pass --force to replace it")
    if output.resolve() == Path(h5_path).resolve():
        raise OverwriteError(f"{output}: is the input file; choose another output")
    nifti_dir = output.with_name(output.stem + "_nifti")
    if nifti:
        check_writable_dir(nifti_dir, force, "NIfTI folder")
    available = h5.list_patients(h5_path)
    ids = list(patients) if patients else available
    unknown = sorted(set(ids) - set(available))
    if unknown:
        raise DataError(f"{h5_path}: patient(s) {', '.join(unknown)} not found; available: {', '.join(available)}")
    masks = {}
    for i, pid in enumerate(ids):
        mask = predict_volume(predictor, h5.read_volume(h5_path, pid), spec)
        masks[pid] = postprocess(mask, spacing_mm, **postprocessing)
        progress(i + 1, len(ids), pid)
    h5.write_label_h5(output, masks)
    if nifti:
        with staged_dir(nifti_dir, force=force, what="NIfTI folder") as tmp:
            for pid, m in masks.items():
                write_nifti(tmp / f"{pid}.nii.gz", m, spacing_mm)
    return {pid: m.shape for pid, m in masks.items()}
