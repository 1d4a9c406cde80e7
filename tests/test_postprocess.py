"""3D post-processing on hand-made volumes: what is kept and what is dropped is known exactly."""

from __future__ import annotations

import numpy as np

from sts_seg.core.postprocess import postprocess

SPACING = (5.0, 5.0, 5.0)  # 0.125 mL per voxel


def _volume() -> np.ndarray:
    """Three components: 27 voxels (3.375 mL), 8 voxels (1 mL), 1 voxel (0.125 mL)."""
    v = np.zeros((10, 12, 12), np.uint8)
    v[1:4, 1:4, 1:4] = 1
    v[6:8, 8:10, 8:10] = 2  # any label > 0 is tumour
    v[9, 0, 11] = 1
    return v


def test_defaults_only_binarise():
    v = _volume()
    out = postprocess(v, SPACING)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, (v > 0).astype(np.uint8))


def test_keep_largest_keeps_the_n_largest_components():
    v = _volume()
    one = postprocess(v, SPACING, keep_largest=1)
    assert one.sum() == 27
    assert one[1:4, 1:4, 1:4].all()
    two = postprocess(v, SPACING, keep_largest=2)
    assert two.sum() == 27 + 8
    assert two[9, 0, 11] == 0
    assert postprocess(v, SPACING, keep_largest=5).sum() == 36


def test_min_volume_drops_smaller_components_in_millilitres():
    v = _volume()
    assert postprocess(v, SPACING, min_volume_ml=0.125).sum() == 36  # 1 voxel = 0.125 mL is kept
    assert postprocess(v, SPACING, min_volume_ml=0.2).sum() == 35  # the single voxel goes
    assert postprocess(v, SPACING, min_volume_ml=1.0).sum() == 35  # 8 voxels = 1 mL is kept
    assert postprocess(v, SPACING, min_volume_ml=1.01).sum() == 27
    assert postprocess(v, (1.0, 1.0, 1.0), min_volume_ml=0.01).sum() == 27  # 1 mm voxels: 0.001 mL each


def test_components_are_26_connected():
    v = np.zeros((4, 4, 4), np.uint8)
    v[0, 0, 0] = v[1, 1, 1] = v[2, 2, 2] = 1  # touching only at corners: one component
    v[3, 0, 3] = 1
    assert postprocess(v, SPACING, keep_largest=1).sum() == 3


def test_both_filters_drop_small_first_then_keep_largest():
    v = _volume()
    out = postprocess(v, SPACING, keep_largest=2, min_volume_ml=1.5)
    assert out.sum() == 27  # only one component is left after the volume filter
