"""``eval.connectivity``: the lesion FP/FN volumes count components at 6, 18 (autoPET's) or 26
(the default) neighbours, on a hand-made volume where the three give different answers."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy import ndimage

from sts_seg.cli import app
from sts_seg.config import load_config
from sts_seg.errors import ConfigError
from sts_seg.io.h5 import write_kaggle_h5, write_label_h5
from sts_seg.metrics import case_metrics
from sts_seg.metrics.lesion import rank_of

SPACING = (2.0, 3.0, 5.0)  # z, y, x mm: 30 mm³ a voxel
VOXEL = 30.0
SHAPE = (10, 10, 10)


def _case() -> tuple[np.ndarray, np.ndarray]:
    """``(pred, truth)``; each chain hangs on a voxel that the other mask touches.

    pred: (2,2,2) on the truth; (2,3,3) shares an edge with it; (3,4,4) shares only a corner
    with (2,3,3). truth: (6,1,1) under the prediction; (6,2,2) shares an edge with it; (7,3,3)
    only a corner with (6,2,2), and (7,3,4) a face with (7,3,3).

    FP (voxels of predicted components that touch no truth): 26 -> 0; 18 -> (3,4,4) = 1;
    6 -> (2,3,3) + (3,4,4) = 2. FN: 26 -> 0; 18 -> (7,3,3) + (7,3,4) = 2; 6 -> 3.
    """
    pred = np.zeros(SHAPE, np.uint8)
    truth = np.zeros(SHAPE, np.uint8)
    truth[2, 2, 2] = 1
    pred[2, 2, 2] = pred[2, 3, 3] = pred[3, 4, 4] = 1
    pred[6, 1, 1] = 1
    truth[6, 1, 1] = truth[6, 2, 2] = truth[7, 3, 3] = truth[7, 3, 4] = 1
    return pred, truth


EXPECTED = {26: (0.0, 0.0), 18: (1 * VOXEL, 2 * VOXEL), 6: (2 * VOXEL, 3 * VOXEL)}


def test_the_hand_case_is_what_scipy_sees():
    """The volume is built as described: component counts at each neighbourhood (scipy's own)."""
    pred, truth = _case()
    for rank, (n_pred, n_truth) in {1: (4, 4), 2: (3, 3), 3: (2, 2)}.items():
        st = ndimage.generate_binary_structure(3, rank)
        assert (ndimage.label(pred, st)[1], ndimage.label(truth, st)[1]) == (n_pred, n_truth)


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_fp_and_fn_volumes_follow_the_connectivity(connectivity):
    pred, truth = _case()
    row = case_metrics(pred, truth, SPACING, connectivity=connectivity)
    assert (row["fp_volume_mm3"], row["fn_volume_mm3"]) == EXPECTED[connectivity]
    # the voxel-wise metrics do not depend on it
    assert (row["tp"], row["fp"], row["fn"]) == (2, 2, 3)


def test_the_default_is_26_and_other_values_are_refused():
    pred, truth = _case()
    assert load_config(None).eval.connectivity == 26
    row = case_metrics(pred, truth, SPACING)
    assert (row["fp_volume_mm3"], row["fn_volume_mm3"]) == EXPECTED[26]
    with pytest.raises(ConfigError, match=r"eval\.connectivity.*6, 18 or 26"):
        load_config(None, ("eval.connectivity=8",))
    with pytest.raises(ValueError, match="6, 18 or 26"):
        case_metrics(pred, truth, SPACING, connectivity=4)  # type: ignore[arg-type]


def test_2d_slices_use_4_or_8_neighbours():
    assert [rank_of(c, 2) for c in (6, 18, 26)] == [1, 2, 2]
    assert [rank_of(c, 3) for c in (6, 18, 26)] == [1, 2, 3]
    pred = np.zeros((5, 5), np.uint8)
    truth = np.zeros((5, 5), np.uint8)
    truth[1, 1] = pred[1, 1] = pred[2, 2] = 1  # (2, 2) touches the hit voxel by a corner only
    fp = {c: case_metrics(pred, truth, (2.0, 3.0), connectivity=c)["fp_volume_mm3"] for c in (6, 18, 26)}
    assert fp == {6: 6.0, 18: 0.0, 26: 0.0}


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_evaluate_reports_the_configured_connectivity(runner, in_tmp, connectivity):
    """End to end: ``stsseg evaluate --set eval.connectivity=N`` on predicted volumes."""
    pred, truth = _case()
    ct = np.zeros(SHAPE, np.int16)
    pet = np.ones(SHAPE, np.float32)
    write_kaggle_h5(in_tmp / "src.h5", {"P0": (ct, pet, truth)})
    write_label_h5(in_tmp / "pred.h5", {"P0": pred})
    spacing = "data.spacing_mm=[" + ",".join(map(str, SPACING)) + "]"
    args = ["evaluate", "--predictions", "pred.h5", "--source", "src.h5", "-o", "rep",
            "--set", spacing, "--set", f"eval.connectivity={connectivity}"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    with open(in_tmp / "rep" / "per_patient.csv") as fh:
        (row,) = list(csv.DictReader(fh))
    assert (float(row["fp_volume_mm3"]), float(row["fn_volume_mm3"])) == EXPECTED[connectivity]
    summary = json.loads((in_tmp / "rep" / "summary.json").read_text())
    assert summary["config"]["eval"]["connectivity"] == connectivity
