"""One row of metrics per case, and nan-aware summaries over cases.

Aggregate per patient (per-case 3D metrics, then statistics over cases), never pooled or
per-slice, as challenges (autoPET, nnU-Net's summary.json) and Metrics Reloaded do. NaN marks
an undefined value (see the empty policy in :mod:`sts_seg.metrics.overlap` and the reasons in
:mod:`sts_seg.metrics.surface`); summaries exclude it and count it under ``missing``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sts_seg.metrics.lesion import Connectivity, lesion_volumes, rank_of
from sts_seg.metrics.overlap import (
    EmptyPolicy,
    check_policy,
    confusion_counts,
    dice,
    iou,
    precision,
    recall,
    specificity,
)
from sts_seg.metrics.spacing import check_spacing, voxel_volume_mm3
from sts_seg.metrics.surface import surface_metrics

#: keys of :func:`case_metrics`, in order
CASE_KEYS: tuple[str, ...] = (
    "dice",
    "iou",
    "precision",
    "recall",
    "specificity",
    "hd95_mm",
    "assd_mm",
    "surface_note",
    "gt_volume_mm3",
    "pred_volume_mm3",
    "volume_error_rel",
    "fp_volume_mm3",
    "fn_volume_mm3",
    "tp",
    "fp",
    "fn",
    "tn",
)

#: the numeric keys worth summarising across cases
SUMMARY_KEYS: tuple[str, ...] = tuple(k for k in CASE_KEYS if k not in {"surface_note", "tp", "fp", "fn", "tn"})


def case_metrics(
    pred: np.ndarray,
    truth: np.ndarray,
    spacing: Sequence[float],
    empty: EmptyPolicy = "nan",
    hd95: str = "max_directed",
    connectivity: Connectivity = 26,
) -> dict[str, Any]:
    """All metrics of one case (keys :data:`CASE_KEYS`).

    ``pred`` and ``truth``: same-shape masks, foreground ``> 0``, e.g. ``(Z, Y, X)``; ``spacing``
    per axis in mm. Overlap ratios follow ``empty``; ``hd95`` is the HD95 convention
    (``max_directed`` or ``pooled``, see :mod:`sts_seg.metrics.surface`); HD95/ASSD are NaN with ``surface_note`` set
    to the reason when a mask is empty ("" otherwise); ``volume_error_rel`` = (pred − gt) / gt,
    NaN when the truth is empty. Volumes in mm³; tp/fp/fn/tn are voxel counts (int). The lesion
    FP/FN volumes use ``connectivity`` (6, 18 or 26; 18 is autoPET's, see :func:`rank_of`).
    """
    check_policy(empty)
    c = confusion_counts(pred, truth)
    sp = check_spacing(spacing, np.ndim(pred))
    vox = voxel_volume_mm3(sp)
    surf = surface_metrics(pred, truth, sp, hd95)
    fp_mm3, fn_mm3 = lesion_volumes(pred, truth, sp, connectivity=rank_of(connectivity, np.ndim(pred)))
    gt_mm3 = c.truth_voxels * vox
    pred_mm3 = c.pred_voxels * vox
    return {
        "dice": dice(c, empty),
        "iou": iou(c, empty),
        "precision": precision(c, empty),
        "recall": recall(c, empty),
        "specificity": specificity(c, empty),
        "hd95_mm": surf.hd95_mm,
        "assd_mm": surf.assd_mm,
        "surface_note": surf.reason or "",
        "gt_volume_mm3": gt_mm3,
        "pred_volume_mm3": pred_mm3,
        "volume_error_rel": (pred_mm3 - gt_mm3) / gt_mm3 if c.truth_voxels else math.nan,
        "fp_volume_mm3": fp_mm3,
        "fn_volume_mm3": fn_mm3,
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
        "tn": c.tn,
    }


def _as_float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@dataclass(frozen=True)
class Stats:
    """Summary of one metric over cases: NaN-aware; ``count + missing`` = number of cases."""

    mean: float
    std: float
    median: float
    q1: float
    q3: float
    count: int
    missing: int


def stats(values: Iterable[Any]) -> Stats:
    """Mean, sample std (ddof=1; NaN if count < 2), median, quartiles of the non-NaN values."""
    arr = np.array([_as_float(v) for v in values], dtype=np.float64)
    ok = arr[~np.isnan(arr)]
    n = int(ok.size)
    if n == 0:
        mean = std = median = q1 = q3 = math.nan
    else:
        mean = float(ok.mean())
        std = float(ok.std(ddof=1)) if n > 1 else math.nan
        q1, median, q3 = (float(q) for q in np.percentile(ok, [25.0, 50.0, 75.0]))
    return Stats(mean, std, median, q1, q3, n, int(arr.size - n))


def summarize(rows: Sequence[Mapping[str, Any]], keys: Iterable[str] = SUMMARY_KEYS) -> dict[str, Stats]:
    """Per key: :class:`Stats` over ``rows``.

    NaN (and None, or a row without the key) is excluded from the statistics and counted in
    ``missing``. Quartiles use ``np.percentile``'s default linear interpolation; statistics of
    zero values are NaN.
    """
    return {k: stats(row.get(k) for row in rows) for k in keys}


def empty_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Number of rows whose ``surface_note`` is "both empty", "empty truth", "empty prediction"."""
    out = {"both empty": 0, "empty truth": 0, "empty prediction": 0}
    for row in rows:
        note = row.get("surface_note") or ""
        if note in out:
            out[note] += 1
    return out
