"""PET-threshold baseline: exact voxels on synthetic SUV volumes."""

from __future__ import annotations

import numpy as np
import pytest

from sts_seg.core.components import largest as largest_components
from sts_seg.evaluate.baseline import pet_threshold


def _two_blobs(small_suv: float = 6.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background SUV 0.5; big blob (48 voxels, SUV 10) plus an edge voxel at exactly 4.0;
    small blob (8 voxels, SUV ``small_suv``); a stray voxel at 3.99."""
    pet = np.full((8, 10, 10), 0.5, dtype=np.float32)
    big = np.zeros(pet.shape, dtype=bool)
    big[1:4, 1:5, 1:5] = True
    big[1, 0, 1] = True  # face neighbour of the blob at exactly 0.4 * SUVmax
    small = np.zeros(pet.shape, dtype=bool)
    small[5:7, 6:8, 6:8] = True
    pet[big] = 10.0
    pet[1, 0, 1] = 4.0
    pet[small] = small_suv
    pet[7, 0, 0] = 3.99
    return pet, big, small


def test_fraction_keeps_largest_component_with_inclusive_threshold():
    pet, big, _ = _two_blobs()
    out = pet_threshold(pet)  # 0.4 * 10 = 4.0; the 4.0 voxel is in, 3.99 is out
    assert out.dtype == np.uint8
    assert out.shape == pet.shape
    np.testing.assert_array_equal(out, big.astype(np.uint8))
    assert out.sum() == 49


def test_fraction_keep_two_and_keep_all():
    pet, big, small = _two_blobs()
    expected = (big | small).astype(np.uint8)
    np.testing.assert_array_equal(pet_threshold(pet, keep_components=2), expected)
    np.testing.assert_array_equal(pet_threshold(pet, keep_components=None), expected)


def test_fraction_is_relative_to_patient_max_and_largest_means_volume():
    pet, big, small = _two_blobs(small_suv=20.0)  # threshold 8: the 4.0 voxel drops out
    big_only = big.copy()
    big_only[1, 0, 1] = False
    np.testing.assert_array_equal(pet_threshold(pet), big_only.astype(np.uint8))
    np.testing.assert_array_equal(
        pet_threshold(pet, fraction=0.6), small.astype(np.uint8)
    )  # threshold 12: only the hot small blob


def test_fixed_mode():
    pet, big, small = _two_blobs()
    big_core = big.copy()
    big_core[1, 0, 1] = False  # the 4.0 edge voxel is below every cut-off used here
    np.testing.assert_array_equal(pet_threshold(pet, mode="fixed", suv=5.0), big_core.astype(np.uint8))
    np.testing.assert_array_equal(
        pet_threshold(pet, mode="fixed", suv=5.0, keep_components=2),
        (big_core | small).astype(np.uint8),
    )
    np.testing.assert_array_equal(
        pet_threshold(pet, mode="fixed", suv=7.0, keep_components=2), big_core.astype(np.uint8)
    )
    everything = pet_threshold(pet, mode="fixed", suv=0.5, keep_components=None)
    assert everything.sum() == pet.size  # background at exactly 0.5 is >= 0.5


def test_corner_touching_voxels_are_one_component():
    pet = np.zeros((6, 6, 6))
    pet[0, 0, 0] = pet[1, 1, 1] = 5.0  # 26-connected only: one component of 2
    blob = [(5, 5, 3), (5, 5, 4), (5, 4, 4)]  # face-connected, 3 voxels, far from the chain
    for idx in blob:
        pet[idx] = 5.0
    expected = np.zeros(pet.shape, dtype=np.uint8)
    for idx in blob:
        expected[idx] = 1
    np.testing.assert_array_equal(pet_threshold(pet, keep_components=1), expected)
    pet[2, 2, 2] = 5.0  # the corner chain now has 3 voxels (6-connectivity would see 3 x 1)
    out = pet_threshold(pet, keep_components=1)
    # tie 3 vs 3: the component met first in raster order (the chain, at (0, 0, 0)) wins
    chain = np.zeros(pet.shape, dtype=np.uint8)
    chain[0, 0, 0] = chain[1, 1, 1] = chain[2, 2, 2] = 1
    np.testing.assert_array_equal(out, chain)


@pytest.mark.parametrize("mode", ["fraction", "fixed"])
def test_zero_negative_nan_and_empty_input_give_zeros(mode):
    for pet in (np.zeros((3, 4, 5)), np.full((3, 4, 5), -1.0), np.full((3, 4, 5), np.nan)):
        out = pet_threshold(pet, mode=mode)
        assert out.shape == pet.shape
        assert out.dtype == np.uint8
        assert not out.any()
    assert pet_threshold(np.zeros((0, 4, 4)), mode=mode).shape == (0, 4, 4)


def test_nan_voxels_are_ignored():
    pet = np.zeros((2, 3, 3))
    pet[0, 1, 1] = 8.0
    pet[1, 1, 1] = np.nan
    out = pet_threshold(pet, fraction=0.5)
    assert out.sum() == 1
    assert out[0, 1, 1] == 1


def test_invalid_arguments_raise():
    pet = np.ones((2, 2, 2))
    with pytest.raises(ValueError, match="mode"):
        pet_threshold(pet, mode="otsu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fraction"):
        pet_threshold(pet, fraction=0.0)
    with pytest.raises(ValueError, match="fraction"):
        pet_threshold(pet, fraction=1.5)
    with pytest.raises(ValueError, match="suv"):
        pet_threshold(pet, mode="fixed", suv=0.0)
    with pytest.raises(ValueError, match="keep_components"):
        pet_threshold(pet, keep_components=0)


def test_largest_components_2d():
    m = np.array(
        [
            [1, 1, 0, 0, 1],
            [1, 0, 0, 0, 0],
            [0, 0, 0, 1, 1],
            [0, 0, 1, 1, 1],
        ],
        dtype=bool,
    )
    keep1 = largest_components(m, 1)
    assert keep1.sum() == 5
    assert keep1[3, 2]
    assert largest_components(m, 2).sum() == 8
    assert largest_components(m, None).sum() == 9


def test_suv_mode_by_hand():
    """SUV >= 2.5 is inclusive: a 27-voxel block at 3.0 and an 8-voxel block at exactly 2.5 are in,
    a voxel at 2.49 is out; ``fixed`` is the old name of ``suv``."""
    pet = np.full((8, 8, 8), 1.0, dtype=np.float32)
    pet[0:3, 0:3, 0:3] = 3.0
    pet[5:7, 5:7, 5:7] = 2.5
    pet[7, 0, 7] = 2.49
    a = np.zeros(pet.shape, np.uint8)
    a[0:3, 0:3, 0:3] = 1
    b = np.zeros(pet.shape, np.uint8)
    b[5:7, 5:7, 5:7] = 1
    np.testing.assert_array_equal(pet_threshold(pet, mode="suv", suv=2.5), a)
    np.testing.assert_array_equal(pet_threshold(pet, mode="suv", suv=2.5, keep_components=2), a | b)
    np.testing.assert_array_equal(pet_threshold(pet, mode="fixed", suv=2.5, keep_components=2), a | b)
    assert pet_threshold(pet, mode="suv", suv=2.5, keep_components=None).sum() == 27 + 8


def test_baseline_config_names_the_headline_and_the_other_rule():
    from sts_seg.config.evaluate import BaselineConfig

    assert BaselineConfig(mode="fixed").mode == "suv"  # the 0.x name still loads
    assert BaselineConfig(mode="suv").other == "fraction"
    assert BaselineConfig().other == "suv"
    assert BaselineConfig(mode="suv", suv=3).label("suv") == "SUV>=3"
    assert BaselineConfig(fraction=0.41).label("fraction") == "41% SUVmax"
