"""Overlap metrics, empty policies, lesion FP/FN volumes, per-case rows and summaries."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from sts_seg.metrics import (
    CASE_KEYS,
    Counts,
    case_metrics,
    confusion_counts,
    dice,
    empty_counts,
    iou,
    lesion_volumes,
    precision,
    recall,
    specificity,
    summarize,
)

TOL = 1e-12

# ---------------------------------------------------------------- counts and ratios

# index:        0  1  2  3  4  5  6  7  8  9
PRED_1D = [1, 1, 1, 0, 1, 0, 0, 0, 1, 1]
TRUTH_1D = [1, 0, 1, 0, 1, 1, 0, 0, 0, 1]
# tp = {0, 2, 4, 9} = 4, fp = {1, 8} = 2, fn = {5} = 1, tn = {3, 6, 7} = 3


def test_confusion_counts_1d_hand_table():
    assert confusion_counts(np.array(PRED_1D), np.array(TRUTH_1D)) == Counts(tp=4, fp=2, fn=1, tn=3)


def test_ratios_1d_hand_fractions():
    c = confusion_counts(np.array(PRED_1D), np.array(TRUTH_1D))
    expected = {
        dice: Fraction(8, 11),
        iou: Fraction(4, 7),
        precision: Fraction(4, 6),
        recall: Fraction(4, 5),
        specificity: Fraction(3, 5),
    }
    for fn, value in expected.items():
        assert abs(fn(c) - float(value)) < TOL, fn.__name__


def test_counts_2d_labels_and_float_foreground_is_positive():
    pred = np.array([[2, 0, 0], [1, 1, -1], [0.5, 0, 3]])  # -1 is background, 0.5 foreground
    truth = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 7]], dtype=np.uint8)
    c = confusion_counts(pred, truth)
    # tp: (0,0) (1,1) (2,2); fp: (1,0) (2,0); fn: (0,1); tn: (0,2) (1,2) (2,1)
    assert c == Counts(tp=3, fp=2, fn=1, tn=3)
    assert abs(dice(c) - 6 / 9) < TOL
    assert abs(iou(c) - 3 / 6) < TOL
    assert abs(precision(c) - 3 / 5) < TOL
    assert abs(recall(c) - 3 / 4) < TOL
    assert abs(specificity(c) - 3 / 5) < TOL
    assert (c.total, c.truth_voxels, c.pred_voxels) == (9, 4, 5)


def test_counts_3d_bool_and_addition():
    truth = np.zeros((2, 3, 4), dtype=bool)
    truth[0, :, :2] = True  # 6 voxels
    pred = np.zeros_like(truth)
    pred[0, 0, :] = True  # 4 voxels, 2 of them on truth
    c = confusion_counts(pred, truth)
    assert c == Counts(tp=2, fp=2, fn=4, tn=16)
    assert c + Counts(1, 2, 3, 4) == Counts(3, 4, 7, 20)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        confusion_counts(np.zeros((3, 4)), np.zeros((4, 3)))


# ---------------------------------------------------------------- empty policies


@pytest.mark.parametrize(("policy", "value"), [("one", 1.0), ("zero", 0.0)])
def test_both_empty_follows_policy(policy, value):
    c = confusion_counts(np.zeros((4, 4)), np.zeros((4, 4)))
    assert c == Counts(0, 0, 0, 16)
    for fn in (dice, iou, precision, recall):
        assert fn(c, empty=policy) == value, fn.__name__
    assert specificity(c, empty=policy) == 1.0  # 16/16, a real ratio


def test_both_empty_default_is_nan():
    c = confusion_counts(np.zeros(5, dtype=bool), np.zeros(5, dtype=bool))
    for fn in (dice, iou, precision, recall):
        assert math.isnan(fn(c)), fn.__name__


@pytest.mark.parametrize("policy", ["nan", "one", "zero"])
def test_truth_empty_pred_nonempty_is_zero_not_policy(policy):
    pred = np.array([0, 1, 1, 0])
    c = confusion_counts(pred, np.zeros(4))
    assert dice(c, empty=policy) == 0.0
    assert iou(c, empty=policy) == 0.0
    assert precision(c, empty=policy) == 0.0
    # recall is TP / (TP + FN) = 0/0 here: it does follow the policy
    assert {"nan": math.isnan, "one": lambda v: v == 1.0, "zero": lambda v: v == 0.0}[policy](recall(c, empty=policy))


@pytest.mark.parametrize(("policy", "value"), [("one", 1.0), ("zero", 0.0)])
def test_pred_empty_truth_nonempty_precision_is_policy(policy, value):
    c = confusion_counts(np.zeros(4), np.array([1, 1, 0, 0]))
    assert dice(c, empty=policy) == 0.0
    assert recall(c, empty=policy) == 0.0
    assert precision(c, empty=policy) == value
    assert math.isnan(precision(c))


def test_specificity_without_negatives_follows_policy():
    c = confusion_counts(np.ones(3), np.ones(3))
    assert math.isnan(specificity(c))
    assert specificity(c, empty="one") == 1.0
    assert dice(c) == 1.0


def test_unknown_policy_raises():
    with pytest.raises(ValueError, match="empty policy"):
        dice(Counts(1, 0, 0, 0), empty="ignore")  # type: ignore[arg-type]


# ---------------------------------------------------------------- lesion FP / FN volumes

SPACING_3D = (5.0, 2.0, 3.0)  # voxel = 30 mm³


def _lesion_case() -> tuple[np.ndarray, np.ndarray]:
    truth = np.zeros((6, 8, 8), dtype=np.uint8)
    truth[0:2, 0:2, 0:2] = 1  # T1: 8 voxels, hit by P1
    truth[4, 6, 6] = 1  # T2: 1 voxel, hit by P3
    truth[4, 0, 3:7] = 1  # T3: 4 voxels, missed
    pred = np.zeros_like(truth)
    pred[0:2, 0:2, 1:4] = 1  # P1: 12 voxels, overlaps T1 (spill-over is not FP)
    pred[3, 4, 0:3] = 1  # P2: 3 voxels, no truth -> FP
    pred[4, 6, 6] = 1  # P3: on T2 ...
    pred[5, 7, 7] = 1  # ... plus a voxel touching it only by a corner
    return pred, truth


def test_lesion_volumes_hand_case_full_connectivity():
    pred, truth = _lesion_case()
    fp, fn = lesion_volumes(pred, truth, SPACING_3D)
    assert fp == 3 * 30.0  # P2 only: the corner voxel belongs to P3 under 26-connectivity
    assert fn == 4 * 30.0  # T3


@pytest.mark.parametrize("rank", [1, 2])
def test_lesion_volumes_lower_connectivity_splits_corner_voxel(rank):
    pred, truth = _lesion_case()
    fp, fn = lesion_volumes(pred, truth, SPACING_3D, connectivity=rank)
    assert fp == 4 * 30.0  # P2 + the corner voxel, now its own component
    assert fn == 4 * 30.0


def test_lesion_volumes_empty_sides_and_2d():
    truth = np.zeros((5, 5), dtype=bool)
    truth[0:2, 0:2] = True
    pred = np.zeros_like(truth)
    assert lesion_volumes(pred, truth, (2.0, 3.0)) == (0.0, 4 * 6.0)
    assert lesion_volumes(truth, pred, (2.0, 3.0)) == (4 * 6.0, 0.0)
    assert lesion_volumes(pred, pred, (2.0, 3.0)) == (0.0, 0.0)
    pred[4, 4] = True
    pred[2, 2] = True  # diagonal neighbour of truth (1, 1) but no overlap: still FP
    assert lesion_volumes(pred, truth, (2.0, 3.0)) == (2 * 6.0, 4 * 6.0)


def test_lesion_volumes_rejects_bad_spacing_and_connectivity():
    m = np.zeros((2, 2, 2))
    with pytest.raises(ValueError, match="entries"):
        lesion_volumes(m, m, (1.0, 1.0))
    with pytest.raises(ValueError, match="positive"):
        lesion_volumes(m, m, (1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="connectivity"):
        lesion_volumes(m, m, (1.0, 1.0, 1.0), connectivity=4)


# ---------------------------------------------------------------- case rows


def test_case_metrics_keys_and_values():
    truth = np.zeros((4, 6, 6), dtype=np.uint8)
    truth[1:3, 1:4, 1:4] = 1  # 18 voxels
    pred = np.zeros_like(truth)
    pred[1:3, 1:4, 2:5] = 1  # 18 voxels, shifted one voxel in x
    pred[3, 5, 5] = 1  # + 1 isolated FP voxel
    row = case_metrics(pred, truth, SPACING_3D)
    assert tuple(row) == CASE_KEYS
    assert (row["tp"], row["fp"], row["fn"], row["tn"]) == (12, 7, 6, 144 - 25)
    assert abs(row["dice"] - 24 / 37) < TOL
    assert abs(row["iou"] - 12 / 25) < TOL
    assert abs(row["precision"] - 12 / 19) < TOL
    assert abs(row["recall"] - 12 / 18) < TOL
    assert row["gt_volume_mm3"] == 18 * 30.0
    assert row["pred_volume_mm3"] == 19 * 30.0
    assert abs(row["volume_error_rel"] - 1 / 18) < TOL
    assert (row["fp_volume_mm3"], row["fn_volume_mm3"]) == (30.0, 0.0)
    assert row["surface_note"] == ""
    assert math.isfinite(row["hd95_mm"])
    assert row["assd_mm"] > 0
    assert all(isinstance(row[k], int) for k in ("tp", "fp", "fn", "tn"))


def test_case_metrics_empty_truth_and_both_empty():
    pred = np.zeros((3, 3, 3))
    pred[1, 1, 1] = 1
    empty = np.zeros_like(pred)
    row = case_metrics(pred, empty, (5.0, 5.0, 5.0))
    assert row["dice"] == 0.0
    assert math.isnan(row["volume_error_rel"])
    assert math.isnan(row["hd95_mm"])
    assert math.isnan(row["assd_mm"])
    assert row["surface_note"] == "empty truth"
    assert row["fp_volume_mm3"] == 125.0

    both = case_metrics(empty, empty, (5.0, 5.0, 5.0), empty="one")
    assert both["dice"] == 1.0
    assert math.isnan(both["hd95_mm"])  # the policy never makes a distance up
    assert both["surface_note"] == "both empty"

    assert case_metrics(empty, pred, (5.0, 5.0, 5.0))["surface_note"] == "empty prediction"


def test_case_metrics_bad_policy_raises():
    m = np.ones((2, 2))
    with pytest.raises(ValueError, match="empty policy"):
        case_metrics(m, m, (1.0, 1.0), empty="skip")  # type: ignore[arg-type]


# ---------------------------------------------------------------- summaries


def test_summarize_hand_values():
    rows = [{"dice": v} for v in (0.5, math.nan, 0.7, 0.9, 0.1)]
    rows.append({"dice": None})
    rows.append({})  # key absent
    s = summarize(rows, ["dice"])["dice"]
    # kept: 0.1, 0.5, 0.7, 0.9
    assert s.count == 4
    assert s.missing == 3
    assert abs(s.mean - 0.55) < TOL
    assert abs(s.std - math.sqrt(0.35 / 3)) < TOL  # sample std, ddof=1
    assert abs(s.median - 0.6) < TOL
    assert abs(s.q1 - 0.4) < TOL  # linear: 0.1 + 0.75 * (0.5 - 0.1)
    assert abs(s.q3 - 0.75) < TOL  # linear: 0.7 + 0.25 * (0.9 - 0.7)


def test_summarize_single_and_all_missing():
    out = summarize([{"a": 2.0, "b": math.nan}, {"a": math.nan, "b": math.nan}], ["a", "b"])
    assert out["a"].count == 1
    assert out["a"].missing == 1
    assert out["a"].mean == 2.0
    assert out["a"].median == 2.0
    assert math.isnan(out["a"].std)
    assert out["b"].count == 0
    assert out["b"].missing == 2
    assert all(math.isnan(getattr(out["b"], k)) for k in ("mean", "std", "median", "q1", "q3"))


def test_summarize_default_keys_over_case_rows():
    truth = np.zeros((3, 4, 4))
    truth[1, 1:3, 1:3] = 1
    rows = [
        case_metrics(truth, truth, (5, 5, 5)),
        case_metrics(np.zeros_like(truth), truth, (5, 5, 5)),
    ]
    s = summarize(rows)
    assert "surface_note" not in s
    assert s["dice"].count == 2
    assert abs(s["dice"].mean - 0.5) < TOL
    assert (s["hd95_mm"].count, s["hd95_mm"].missing) == (1, 1)


def test_empty_counts():
    rows = [
        {"surface_note": "both empty"},
        {"surface_note": "empty truth"},
        {"surface_note": "empty truth"},
        {"surface_note": "empty prediction"},
        {"surface_note": ""},
        {},
    ]
    assert empty_counts(rows) == {"both empty": 1, "empty truth": 2, "empty prediction": 1}
