"""HD95 / ASSD: hand cases, empty-mask reasons, and a brute-force cdist oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from sts_seg.metrics import (
    SurfaceMetrics,
    assd,
    empty_reason,
    hd95,
    surface_distances,
    surface_metrics,
    surface_voxels,
)

ORACLE_TOL = 1e-9

# ---------------------------------------------------------------- brute-force oracle


def _oracle_surface(mask: np.ndarray) -> np.ndarray:
    """Foreground voxels with a face neighbour that is background or outside the array."""
    fg = np.asarray(mask, dtype=bool)
    padded = np.pad(fg, 1, constant_values=False)
    inner = tuple(slice(1, -1) for _ in range(fg.ndim))
    touches_bg = np.zeros_like(fg)
    for axis in range(fg.ndim):
        for step in (-1, 1):
            touches_bg |= ~np.roll(padded, step, axis=axis)[inner]
    return fg & touches_bg


def _oracle(pred, truth, spacing):
    sp = np.asarray(spacing, dtype=float)
    pts_p = np.argwhere(_oracle_surface(pred)) * sp
    pts_t = np.argwhere(_oracle_surface(truth)) * sp
    d = cdist(pts_p, pts_t)  # Euclidean, mm
    d_p2t, d_t2p = d.min(axis=1), d.min(axis=0)
    hd = max(np.percentile(d_p2t, 95), np.percentile(d_t2p, 95))
    mean = np.concatenate([d_p2t, d_t2p]).mean()
    return d_p2t, d_t2p, hd, mean


def _random_mask(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    # blobs: threshold a box-smoothed noise field so surfaces are not just isolated voxels
    noise = rng.random(shape)
    k = np.ones((3,) * len(shape)) / 3 ** len(shape)
    from scipy.ndimage import convolve

    mask = convolve(noise, k, mode="constant") > rng.uniform(0.35, 0.5)
    if not mask.any():
        mask[tuple(s // 2 for s in shape)] = True
    return mask


CASES = [
    ((12, 15), (2.0, 3.0)),
    ((9, 11), (1.0, 1.0)),
    ((6, 9, 8), (5.0, 2.0, 3.0)),
    ((7, 7, 10), (5.0, 5.0, 5.0)),
]


@pytest.mark.parametrize(("shape", "spacing"), CASES)
@pytest.mark.parametrize("seed", range(6))
def test_matches_bruteforce_oracle(shape, spacing, seed):
    rng = np.random.default_rng(1000 * seed + len(shape))
    pred, truth = _random_mask(rng, shape), _random_mask(rng, shape)
    o_p2t, o_t2p, o_hd, o_mean = _oracle(pred, truth, spacing)
    d_p2t, d_t2p = surface_distances(pred, truth, spacing)
    np.testing.assert_allclose(d_p2t, o_p2t, rtol=0, atol=ORACLE_TOL)
    np.testing.assert_allclose(d_t2p, o_t2p, rtol=0, atol=ORACLE_TOL)
    m = surface_metrics(pred, truth, spacing)
    assert m.reason is None
    assert abs(m.hd95_mm - o_hd) < ORACLE_TOL
    assert abs(m.assd_mm - o_mean) < ORACLE_TOL
    assert o_hd > 0  # the random pair really differs


def test_small_masks_in_large_volume_match_oracle():
    # the implementation crops to the union's bounding box; the oracle works on the full grid
    rng = np.random.default_rng(11)
    pred = np.zeros((20, 24, 22), dtype=bool)
    truth = np.zeros_like(pred)
    pred[5:10, 3:9, 12:15] = _random_mask(rng, (5, 6, 3))
    truth[7:12, 6:10, 9:16] = _random_mask(rng, (5, 4, 7))
    spacing = (5.0, 2.0, 3.0)
    o_p2t, o_t2p, o_hd, o_mean = _oracle(pred, truth, spacing)
    d_p2t, d_t2p = surface_distances(pred, truth, spacing)
    np.testing.assert_allclose(d_p2t, o_p2t, rtol=0, atol=ORACLE_TOL)
    np.testing.assert_allclose(d_t2p, o_t2p, rtol=0, atol=ORACLE_TOL)
    m = surface_metrics(pred, truth, spacing)
    assert abs(m.hd95_mm - o_hd) < ORACLE_TOL
    assert abs(m.assd_mm - o_mean) < ORACLE_TOL


def test_surface_voxels_match_oracle_and_use_face_connectivity():
    rng = np.random.default_rng(7)
    m = _random_mask(rng, (8, 9, 10))
    np.testing.assert_array_equal(surface_voxels(m), _oracle_surface(m))
    # concave corner: (2, 2) has only a diagonal background neighbour -> interior
    sq = np.zeros((5, 5), dtype=bool)
    sq[1:4, 1:4] = True
    sq[1, 1] = False
    s = surface_voxels(sq)
    assert s.sum() == 7
    assert not s[2, 2]
    # mask touching the array edge: outside counts as background
    assert surface_voxels(np.ones((3, 3, 3))).sum() == 26


# ---------------------------------------------------------------- hand cases


def test_two_single_voxels_anisotropic():
    pred = np.zeros((4, 5, 3), dtype=bool)
    truth = np.zeros_like(pred)
    pred[0, 0, 0] = True
    truth[2, 3, 1] = True
    expected = math.sqrt((2 * 5.0) ** 2 + (3 * 2.0) ** 2 + (1 * 3.0) ** 2)  # sqrt(145)
    m = surface_metrics(pred, truth, (5.0, 2.0, 3.0))
    assert abs(m.hd95_mm - expected) < 1e-12
    assert abs(m.assd_mm - expected) < 1e-12


def test_squares_offset_k_voxels():
    k, sy, sx = 6, 2.0, 3.0
    pred = np.zeros((4, 4 + k), dtype=bool)
    truth = np.zeros_like(pred)
    truth[:, 0:4] = True
    pred[:, k : k + 4] = True
    # each ring voxel's nearest other-ring voxel is in the same row: distances (k - c) * sx for
    # columns c = 0 (x4), 1 (x2), 2 (x2), 3 (x4) -> P95 over 12 sorted values = k * sx
    m = surface_metrics(pred, truth, (sy, sx))
    assert m.hd95_mm == k * sx
    assert abs(m.assd_mm - (k - 1.5) * sx) < 1e-12


def test_parallel_plates_use_axis_spacing():
    pred = np.zeros((6, 4, 5), dtype=bool)
    truth = np.zeros_like(pred)
    truth[1] = True
    pred[4] = True  # 3 slices away in z
    assert hd95(pred, truth, (5.0, 1.0, 1.0)) == 15.0
    assert assd(pred, truth, (5.0, 1.0, 1.0)) == 15.0
    assert hd95(pred, truth, (2.5, 9.0, 9.0)) == 7.5  # y/x spacing is irrelevant here


def test_hd95_uses_linear_percentile():
    truth = np.zeros((1, 11), dtype=bool)
    truth[0, :] = True  # a line: every voxel is surface, distances 0..10 voxels from pred
    pred = np.zeros_like(truth)
    pred[0, 0] = True
    # d_t2p = [0, 2, 4, ..., 20] mm; linear P95 at index 9.5 -> 19.0 (nearest-rank would be 20)
    assert hd95(pred, truth, (1.0, 2.0)) == 19.0


def test_assd_pools_both_directions():
    truth = np.zeros((5, 5), dtype=bool)
    truth[1:4, 1:4] = True  # ring of 8 surface voxels around an interior centre
    pred = np.zeros_like(truth)
    pred[2, 2] = True  # the centre
    d_p2t, d_t2p = surface_distances(pred, truth, (1.0, 1.0))
    np.testing.assert_allclose(np.sort(d_t2p), [1, 1, 1, 1] + [math.sqrt(2)] * 4, atol=1e-12)
    np.testing.assert_allclose(d_p2t, [1.0], atol=1e-12)
    pooled = (1 + 4 + 4 * math.sqrt(2)) / 9
    mean_of_means = (1 + (4 + 4 * math.sqrt(2)) / 8) / 2  # medpy's convention, not ours
    got = assd(pred, truth, (1.0, 1.0))
    assert abs(got - pooled) < 1e-12
    assert abs(got - mean_of_means) > 1e-3
    assert abs(hd95(pred, truth, (1.0, 1.0)) - math.sqrt(2)) < 1e-12


def test_identical_masks_are_zero():
    m = np.zeros((4, 4, 4))
    m[1:3, 1:3, 1:3] = 1
    assert surface_metrics(m, m, (5.0, 5.0, 5.0)) == SurfaceMetrics(0.0, 0.0, None)


def test_symmetric_in_argument_order():
    rng = np.random.default_rng(3)
    a, b = _random_mask(rng, (6, 7, 8)), _random_mask(rng, (6, 7, 8))
    sp = (5.0, 2.0, 3.0)
    assert abs(hd95(a, b, sp) - hd95(b, a, sp)) < 1e-12
    assert abs(assd(a, b, sp) - assd(b, a, sp)) < 1e-12


# ---------------------------------------------------------------- empty masks and errors


@pytest.mark.parametrize(
    ("pred_any", "truth_any", "reason"),
    [(False, False, "both empty"), (False, True, "empty prediction"), (True, False, "empty truth")],
)
def test_empty_masks_give_nan_and_reason(pred_any, truth_any, reason):
    pred = np.zeros((3, 4, 4), dtype=np.uint8)
    truth = np.zeros_like(pred)
    pred[1, 1, 1] = pred_any
    truth[1, 2, 2] = truth_any
    m = surface_metrics(pred, truth, (5.0, 5.0, 5.0))
    assert m.reason == reason
    assert empty_reason(pred, truth) == reason
    assert math.isnan(m.hd95_mm)
    assert math.isnan(m.assd_mm)
    assert math.isnan(hd95(pred, truth, (5.0, 5.0, 5.0)))
    assert math.isnan(assd(pred, truth, (5.0, 5.0, 5.0)))
    d_p2t, d_t2p = surface_distances(pred, truth, (5.0, 5.0, 5.0))
    assert d_p2t.size == 0
    assert d_t2p.size == 0


def test_bad_inputs_raise():
    m = np.ones((3, 3))
    with pytest.raises(ValueError, match="entries"):
        surface_metrics(m, m, (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="positive"):
        surface_metrics(m, m, (1.0, -2.0))
    with pytest.raises(ValueError, match="entries"):
        surface_metrics(np.zeros((3, 3)), np.zeros((3, 3)), (1.0,))  # checked even when empty
    with pytest.raises(ValueError, match="shape"):
        surface_metrics(m, np.ones((3, 4)), (1.0, 1.0))


# ---------------------------------------------------------------- medpy (nnU-Net's evaluation) as oracle


@pytest.mark.parametrize(("shape", "spacing"), CASES)
@pytest.mark.parametrize("seed", range(4))
def test_pooled_hd95_is_medpy_and_max_directed_is_never_smaller(shape, spacing, seed):
    from medpy.metric.binary import assd as medpy_assd
    from medpy.metric.binary import hd95 as medpy_hd95

    rng = np.random.default_rng(77 + 1000 * seed + len(shape))
    pred, truth = _random_mask(rng, shape), _random_mask(rng, shape)
    pooled = hd95(pred, truth, spacing, convention="pooled")
    assert pooled == pytest.approx(medpy_hd95(pred, truth, voxelspacing=spacing), abs=1e-9)
    assert hd95(pred, truth, spacing, convention="max_directed") >= pooled - 1e-12
    # medpy 0.5.2's ASSD pools both directed sets, as ours does
    assert assd(pred, truth, spacing) == pytest.approx(medpy_assd(pred, truth, voxelspacing=spacing), abs=1e-9)


def test_the_two_hd95_conventions_differ_on_a_hand_case():
    """Truth a 1 x 10 bar, prediction the same bar plus one voxel 10 mm away (1 mm voxels)."""
    truth = np.zeros((1, 30), bool)
    truth[0, :10] = True
    pred = truth.copy()
    pred[0, 19] = True
    # pred->truth: 0 x10, 10 (the far voxel); truth->pred: 0 x10 -> max directed P95 = P95 of [0]*10+[10]
    expected_max = float(np.percentile([0.0] * 10 + [10.0], 95))
    expected_pooled = float(np.percentile([0.0] * 20 + [10.0], 95))
    assert hd95(pred, truth, (1.0, 1.0)) == pytest.approx(expected_max)
    assert hd95(pred, truth, (1.0, 1.0), convention="pooled") == pytest.approx(expected_pooled)
    assert expected_max == pytest.approx(5.0)
    assert expected_pooled == pytest.approx(0.0)
