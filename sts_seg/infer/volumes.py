"""Volume mode: every case of a source (the Kaggle HDF5 or NIfTI cases) sliced on the grid the
model was trained on, predicted (every voxel), mapped back onto the case's own grid and written
into one output folder, complete or not at all:

* NIfTI sources: ``<case>.nii.gz`` with exactly the shape, affine and orientation of the case's
  reference image (CTres in autoPET, ``_0000`` in nnU-Net raw, the CT in HECKTOR);
* the HDF5: ``predictions.h5`` (a Kaggle-layout ``label_data`` group) and, with ``nifti``,
  ``<patient>.nii.gz`` plus ``<patient>_ct.nii.gz`` and ``<patient>_pet.nii.gz`` to overlay in
  3D Slicer or ITK-SNAP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sts_seg.core.postprocess import postprocess
from sts_seg.core.resample import resample_image, resample_mask, target_shape
from sts_seg.core.slicing import SliceSpec, labels_to_native, volume_images
from sts_seg.errors import DataError, OverwriteError
from sts_seg.infer.images import fit_batch
from sts_seg.infer.predictor import Predictor
from sts_seg.io import h5, nifti
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.prepare.plan import spacing_for
from sts_seg.progress import ProgressFn, no_progress
from sts_seg.sources import Case, Source


@dataclass(frozen=True)
class VolumeSettings:
    """How volumes are predicted: the slice ``spec`` and ``spacing_policy`` the model was trained
    with, and ``postprocessing`` (keyword settings of :func:`~sts_seg.core.postprocess.postprocess`)."""

    spec: SliceSpec
    spacing_policy: Any = "native"
    postprocessing: dict | None = None


def predict_case(predictor: Predictor, case: Case, s: VolumeSettings) -> np.ndarray:
    """``[z, y, x]`` uint8 mask of one case on its own grid."""
    spacing = spacing_for(case.info, s.spacing_policy)
    ct, pet = case.ct, case.pet
    shape = ct.shape if spacing == case.spacing else target_shape(ct.shape, case.spacing, spacing)
    if shape != ct.shape:
        ct, pet = resample_image(ct, shape), resample_image(pet, shape)
    images, p = volume_images(ct, pet, s.spec)
    mask = labels_to_native(predictor.labels(fit_batch(images, predictor.channels)), p)
    if mask.shape != case.ct.shape:
        mask = resample_mask(mask, case.ct.shape)
    return postprocess(mask, case.spacing, **(s.postprocessing or {}))


def _cases(source: Source, cases: Sequence[str] | None) -> list[str]:
    available = [i.case_id for i in source.infos()]
    ids = list(cases) if cases else available
    unknown = sorted(set(ids) - set(available))
    if unknown:
        shown = ", ".join(available[:10]) + (" ..." if len(available) > 10 else "")
        raise DataError(f"{source.path}: case(s) {', '.join(unknown)} not found; available: {shown}")
    return ids


def _write_hdf5_extras(tmp: Path, case: Case, mask: np.ndarray) -> None:
    nifti.write_zyx(tmp / f"{case.case_id}.nii.gz", mask, case.spacing, np.uint8)
    nifti.write_zyx(tmp / f"{case.case_id}_ct.nii.gz", case.ct, case.spacing, np.int16)
    nifti.write_zyx(tmp / f"{case.case_id}_pet.nii.gz", case.pet, case.spacing, np.float32)


def infer_source(
    predictor: Predictor,
    source: Source,
    output: Path,
    *,
    settings: VolumeSettings,
    cases: Sequence[str] | None = None,
    nifti_copies: bool = False,
    force: bool = False,
    progress: ProgressFn = no_progress,
) -> dict[str, tuple[int, int, int]]:
    """Predict ``cases`` (default all) of ``source`` into the folder ``output``; ``{case: shape}``."""
    output = Path(output)
    if Path(source.path).resolve().is_relative_to(output.resolve()):
        raise OverwriteError(f"{output}: holds the source {source.path}; choose another output folder")
    check_writable_dir(output, force, "output folder")
    ids = _cases(source, cases)
    shapes: dict[str, tuple[int, int, int]] = {}
    is_h5 = source.layout == "kaggle_h5"
    with staged_dir(output, force=force, what="output folder") as tmp:
        writer = h5.LabelWriter(tmp / h5.PREDICTIONS) if is_h5 else None
        try:
            for i, cid in enumerate(ids):
                case = source.read(cid, with_label=False)
                mask = predict_case(predictor, case, settings)
                if writer is not None:
                    writer.add(cid, mask)
                    if nifti_copies:
                        _write_hdf5_extras(tmp, case, mask)
                else:
                    nifti.write_like(tmp / f"{cid}.nii.gz", mask, case.geometry)
                shapes[cid] = mask.shape
                progress(i + 1, len(ids), cid)
        finally:
            if writer is not None:
                writer.file.close()
    return shapes
