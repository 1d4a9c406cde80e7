"""Scoring predicted volumes on disk against a source, case by case on each case's own grid:
a label_data HDF5 (``stsseg infer`` on the Kaggle file writes ``predictions.h5``) or a folder of
``<case>.nii.gz`` masks (``stsseg infer`` on NIfTI sources, nnU-Net, any tool)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sts_seg.config import Config
from sts_seg.errors import DataError
from sts_seg.evaluate.gather import CaseEval, Plan, source_truth
from sts_seg.io import h5, nifti
from sts_seg.sources import Source
from sts_seg.sources.kaggle import is_hdf5


def nifti_masks(folder: Path) -> dict[str, Path]:
    """``{case: path}`` of the ``<case>.nii.gz`` files in ``folder`` (CT/PET copies left out)."""
    out = {}
    for p in sorted(Path(folder).iterdir()):
        name = next((p.name[: -len(s)] for s in nifti.SUFFIXES if p.name.endswith(s)), None)
        if name and not name.endswith(("_ct", "_pet")):
            out[name] = p
    return out


def volume_predictions(path: Path) -> Path | None:
    """The predictions file or folder ``path`` points at, or None when it is a PNG mask folder."""
    path = Path(path)
    if is_hdf5(path):
        return path
    if path.is_file():
        raise DataError(f"{path}: not an HDF5 file; --predictions takes a label_data HDF5 or a folder of masks")
    if path.is_dir() and (path / h5.PREDICTIONS).is_file():
        return path / h5.PREDICTIONS
    if path.is_dir() and nifti_masks(path) and not any(p.suffix.lower() == ".png" for p in path.iterdir()):
        return path
    return None


def _read_nifti(path: Path, case: str, ref: nifti.Grid | None) -> np.ndarray:
    mask, grid = nifti.read_zyx(path)
    if ref is not None and not nifti.same_grid(grid, ref):
        raise DataError(
            f"{path}: not on the grid of case {case}'s reference image {ref.path.name} "
            f"(shape {grid.shape} vs {ref.shape}, or affine); write predictions on the case's own grid"
        )
    return (mask > 0.5).astype(np.uint8)


def _cases(pred: Path, source: Source, cfg: Config, ids: list[str]) -> Iterator[CaseEval]:
    files = None if is_hdf5(pred) else nifti_masks(pred)
    for case in ids:
        truth, c = source_truth(source, case, cfg)
        if files is None:
            mask = h5.read_labels(pred, [case])[case]
        else:
            mask = _read_nifti(files[case], case, c.geometry if isinstance(c.geometry, nifti.Grid) else None)
        mask = (mask > 0).astype(np.uint8)
        if mask.shape != truth.shape:
            raise DataError(
                f"{pred}: case {case} has shape {mask.shape}, the source has {truth.shape}; predict on the same source"
            )
        yield CaseEval(case, c.patient, truth, mask, c.pet, np.ones(truth.shape[0], bool), c.spacing)


def plan_volumes(pred: Path, source: Source, cfg: Config) -> Plan:
    """Every case of ``pred`` scored against ``source``; a case the source lacks is a DataError."""
    ids = sorted(h5.list_patients(pred, groups=("label_data",)) if is_hdf5(pred) else nifti_masks(pred))
    known = {i.case_id for i in source.infos()}
    unknown = [c for c in ids if c not in known]
    if unknown:
        raise DataError(f"{pred}: case(s) {', '.join(unknown[:3])} are not in the source {source.path}")
    header = {"split": "volumes", "predictions": str(pred), "truth": f"source {source.path} (each case's own grid)"}
    return Plan(header, list(source.notes), _cases(pred, source, cfg, ids))
