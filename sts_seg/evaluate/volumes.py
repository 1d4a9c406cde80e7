"""Scoring predicted volumes on disk against a source, case by case on each case's own grid:
a label_data HDF5 (``stsseg infer`` on the Kaggle file writes ``predictions.h5``) or a folder of
``<case>.nii.gz`` masks (``stsseg infer`` on NIfTI sources, nnU-Net, any tool)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Literal

import numpy as np

from sts_seg.config import Config
from sts_seg.errors import DataError
from sts_seg.evaluate.gather import CaseEval, Plan, source_truth
from sts_seg.evaluate.guards import shown
from sts_seg.io import h5, nifti
from sts_seg.sources import Source
from sts_seg.sources.kaggle import is_hdf5

#: how a predictions folder is read: ``volumes`` (``<case>.nii.gz``) or ``png`` (masks of a prepared split)
Mode = Literal["volumes", "png"]


def nifti_masks(folder: Path) -> dict[str, Path]:
    """``{case: path}`` of the ``<case>.nii.gz`` files in ``folder`` (CT/PET copies left out)."""
    out = {}
    for p in sorted(Path(folder).iterdir()):
        name = next((p.name[: -len(s)] for s in nifti.SUFFIXES if p.name.endswith(s)), None)
        if name and not name.endswith(("_ct", "_pet")):
            out[name] = p
    return out


def volume_predictions(path: Path, mode: Mode | None = None) -> Path | None:
    """The predictions file or folder to score as volumes, or None to score PNG masks of a prepared split.

    A label_data HDF5 (or a folder holding ``predictions.h5``) is volumes. A folder is what
    ``mode`` says, the way the command line named the truth (``--source``: volumes, ``--dataset``:
    PNG masks); without one, volumes when it holds ``<case>.nii.gz`` masks, whatever else lies there.
    """
    path = Path(path)
    if is_hdf5(path):
        return path
    if path.is_file():
        raise DataError(f"{path}: not an HDF5 file; --predictions takes a label_data HDF5 or a folder of masks")
    if not path.is_dir():
        raise DataError(f"{path}: predictions folder not found; pass a folder of masks or a label_data HDF5")
    if (path / h5.PREDICTIONS).is_file():
        return path / h5.PREDICTIONS
    if mode == "png":
        return None
    if nifti_masks(path):
        return path
    if mode == "volumes":
        raise DataError(
            f"{path}: no {h5.PREDICTIONS} and no <case>.nii.gz masks to score against the source; "
            "to score PNG masks of a prepared split, pass --dataset instead of --source"
        )
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


def plan_volumes(pred: Path, source: Source, cfg: Config, allow_missing: bool = False,
                 expected: Collection[str] | None = None) -> Plan:  # fmt: skip
    """Every case of ``pred`` scored against ``source``. A case the source lacks is a DataError; so
    are ``expected`` cases (default: every case of the source) without a prediction, unless
    ``allow_missing`` (the plan lists them)."""
    ids = sorted(h5.list_patients(pred, groups=("label_data",)) if is_hdf5(pred) else nifti_masks(pred))
    known = [i.case_id for i in source.infos()]
    unknown = [c for c in ids if c not in set(known)]
    if unknown:
        raise DataError(f"{pred}: case(s) {', '.join(unknown[:3])} are not in the source {source.path}")
    expected = known if expected is None else [c for c in expected if c in set(known)]
    missing = sorted(set(expected) - set(ids))
    if missing and not allow_missing:
        raise DataError(
            f"{pred}: no prediction for {len(missing)} of the {len(expected)} expected case(s) of {source.path}: "
            f"{shown(missing)}; "
            f"predict them, or pass --allow-missing to score the {len(ids)} present (the report lists the others)"
        )
    header = {"split": "volumes", "predictions": str(pred), "truth": f"source {source.path} (each case's own grid)",
              "missing_cases": missing}  # fmt: skip
    notes = list(source.notes)
    if missing:
        notes.append(f"{len(missing)} case(s) of the source have no prediction, not scored: {', '.join(missing)}")
    return Plan(header, notes, _cases(pred, source, cfg, ids), missing=missing)
