"""Linear resampling against scikit-image's ``resize`` (the oracle of the convention), shapes
from spacings, and label-safe mask resampling."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.transform import resize

from sts_seg.core.resample import resample_image, resample_mask, target_shape


@pytest.mark.parametrize(
    ("shape", "out"),
    [((10, 20, 30), (7, 33, 30)), ((5, 8, 9), (13, 3, 9)), ((1, 4, 4), (1, 9, 2)), ((6, 40, 44), (6, 16, 17))],
)
def test_linear_resampling_equals_scikit_image(shape, out):
    vol = np.random.default_rng(3).normal(100.0, 50.0, shape).astype(np.float32)
    expected = resize(vol, out, order=1, mode="edge", anti_aliasing=False, preserve_range=True)
    got = resample_image(vol, out)
    assert got.dtype == np.float32
    assert got.shape == out
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_equal_shape_is_a_no_op_and_constant_volumes_stay_constant():
    vol = np.full((4, 5, 6), 7.5, np.float32)
    assert resample_image(vol, vol.shape) is vol
    np.testing.assert_array_equal(resample_image(vol, (9, 2, 11)), np.full((9, 2, 11), 7.5, np.float32))


def test_an_integer_upsampling_keeps_the_mean_of_a_ramp():
    """1 -> 2 voxels per voxel along x: samples at x - 0.25 and x + 0.25, clamped at the edges (hand computed)."""
    ramp = np.arange(4, dtype=np.float32)[None, None, :]
    np.testing.assert_allclose(resample_image(ramp, (1, 1, 8))[0, 0], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])


def test_target_shape_keeps_the_extent():
    assert target_shape((326, 400, 400), (3.0, 2.0, 2.0), (3.0, 4.0, 4.0)) == (326, 200, 200)
    assert target_shape((10, 7, 7), (5.0, 5.0, 5.0), (2.0, 2.0, 2.0)) == (25, 18, 18)  # round(17.5) = 18
    assert target_shape((1, 3, 3), (5.0, 1.0, 1.0), (50.0, 4.0, 4.0)) == (1, 1, 1)  # never 0


def test_masks_are_binary_uint8_and_a_round_trip_at_an_integer_factor_is_exact():
    mask = np.zeros((2, 8, 8), np.uint8)
    mask[:, 2:6, 2:6] = 3  # any label > 0 is foreground
    up = resample_mask(mask, (2, 16, 16))
    assert up.dtype == np.uint8
    assert set(np.unique(up)) == {0, 1}
    assert up.sum() == 4 * (mask > 0).sum()  # 2x2 children per voxel
    np.testing.assert_array_equal(resample_mask(up, mask.shape), (mask > 0).astype(np.uint8))
