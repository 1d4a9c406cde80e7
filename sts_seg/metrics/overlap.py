"""Voxel-overlap metrics, smp style: count TP/FP/FN/TN once, derive every ratio from the counts.

Inputs are masks of any shape and dimension (foreground = value ``> 0``); the counts are over
all voxels, so a ``(Z, Y, X)`` volume gives the per-patient 3D numbers.

Empty policy: a ratio whose denominator is 0 (a 0/0) is resolved by ``empty``:

* ``"nan"`` (default, nnU-Net / MONAI style): NaN, to be excluded from means and counted apart;
* ``"one"``: 1.0 (nothing to find and nothing found counts as perfect);
* ``"zero"``: 0.0.

Which metric hits 0/0 when:

=============  ======================  ==========================================
metric         formula                 0/0 when
=============  ======================  ==========================================
dice           2TP / (2TP + FP + FN)   truth and prediction both empty
iou            TP / (TP + FP + FN)     truth and prediction both empty
precision      TP / (TP + FP)          prediction empty (whatever the truth)
recall         TP / (TP + FN)          truth empty (whatever the prediction)
specificity    TN / (TN + FP)          truth covers every voxel (no negatives)
=============  ======================  ==========================================

A non-zero denominator is never subject to the policy: truth empty with a non-empty prediction
gives Dice = IoU = precision = 0 exactly, and an empty prediction with non-empty truth gives
Dice = IoU = recall = 0 exactly (its precision is a 0/0 and follows the policy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

EmptyPolicy = Literal["nan", "one", "zero"]
EMPTY_POLICIES: tuple[str, ...] = get_args(EmptyPolicy)


@dataclass(frozen=True)
class Counts:
    """Voxel confusion counts of one binary comparison (plain Python ints)."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def total(self) -> int:
        """Number of voxels compared."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def truth_voxels(self) -> int:
        """Foreground voxels in the truth (TP + FN)."""
        return self.tp + self.fn

    @property
    def pred_voxels(self) -> int:
        """Foreground voxels in the prediction (TP + FP)."""
        return self.tp + self.fp

    def __add__(self, other: Counts) -> Counts:
        """Pool two count sets (e.g. slices of one volume); pooled ratios are not case means."""
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)


def as_foreground(mask: np.ndarray) -> np.ndarray:
    """Boolean foreground (``mask > 0``) of a boolean or numeric array, same shape."""
    arr = np.asarray(mask)
    return arr if arr.dtype == np.bool_ else arr > 0


def check_pair(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both masks as boolean foreground arrays; raises ``ValueError`` if the shapes differ."""
    p, t = as_foreground(pred), as_foreground(truth)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from truth shape {t.shape}")
    return p, t


def confusion_counts(pred: np.ndarray, truth: np.ndarray) -> Counts:
    """TP/FP/FN/TN over all voxels of two same-shape masks (foreground = ``> 0``)."""
    p, t = check_pair(pred, truth)
    tp = int(np.count_nonzero(p & t))
    n_pred = int(np.count_nonzero(p))
    n_truth = int(np.count_nonzero(t))
    fp = n_pred - tp
    fn = n_truth - tp
    tn = int(p.size) - tp - fp - fn
    return Counts(tp=tp, fp=fp, fn=fn, tn=tn)


def check_policy(empty: str) -> None:
    """Raise ``ValueError`` unless ``empty`` is one of ``nan``, ``one``, ``zero``."""
    if empty not in EMPTY_POLICIES:
        raise ValueError(f"empty policy must be one of {', '.join(EMPTY_POLICIES)}, got {empty!r}")


def _ratio(num: int, den: int, empty: EmptyPolicy) -> float:
    check_policy(empty)
    if den == 0:
        return {"nan": math.nan, "one": 1.0, "zero": 0.0}[empty]
    return num / den


def dice(c: Counts, empty: EmptyPolicy = "nan") -> float:
    """Dice = 2TP / (2TP + FP + FN); 0/0 (both masks empty) follows ``empty``."""
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, empty)


def iou(c: Counts, empty: EmptyPolicy = "nan") -> float:
    """IoU (Jaccard) = TP / (TP + FP + FN); 0/0 (both masks empty) follows ``empty``."""
    return _ratio(c.tp, c.tp + c.fp + c.fn, empty)


def precision(c: Counts, empty: EmptyPolicy = "nan") -> float:
    """Precision = TP / (TP + FP); 0/0 (empty prediction, even with non-empty truth) follows
    ``empty``."""
    return _ratio(c.tp, c.tp + c.fp, empty)


def recall(c: Counts, empty: EmptyPolicy = "nan") -> float:
    """Recall (sensitivity) = TP / (TP + FN); 0/0 (empty truth) follows ``empty``."""
    return _ratio(c.tp, c.tp + c.fn, empty)


def specificity(c: Counts, empty: EmptyPolicy = "nan") -> float:
    """Specificity = TN / (TN + FP); 0/0 (truth is foreground everywhere) follows ``empty``."""
    return _ratio(c.tn, c.tn + c.fp, empty)
