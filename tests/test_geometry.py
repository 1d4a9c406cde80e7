"""Native slice <-> canvas: exact pad round trips, no cropping anywhere, the canvas choice, the
inference canvas for larger slices, resize with its recorded scale."""

from __future__ import annotations

import numpy as np
import pytest

from sts_seg.core.geometry import (
    choose_canvas,
    inference_placement,
    placement_for,
    round_up,
    to_canvas,
    to_native,
)


def _random_mask(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).choice(np.array([0, 1, 3], np.uint8), size=shape)


@pytest.mark.parametrize(("native", "offsets"), [((20, 24), (6, 4)), ((32, 32), (0, 0)), ((17, 31), (7, 0))])
def test_pad_centres_and_round_trips(native, offsets):
    p = placement_for(native, 32, "pad")
    assert (p.offset_y, p.offset_x) == offsets
    assert p.scale == (1.0, 1.0)
    mask = _random_mask(native)
    canvas = to_canvas(mask, p, is_mask=True)
    assert canvas.shape == (32, 32)
    assert canvas.dtype == mask.dtype
    oy, ox = offsets
    np.testing.assert_array_equal(canvas[oy : oy + native[0], ox : ox + native[1]], mask)
    assert canvas.sum() == mask.sum()  # the border is zero
    np.testing.assert_array_equal(to_native(canvas, p), mask)


def test_pad_image_keeps_channels():
    img = np.random.default_rng(1).random((20, 24, 3)).astype(np.float32)
    canvas = to_canvas(img, placement_for((20, 24), 32, "pad"))
    assert canvas.shape == (32, 32, 3)
    np.testing.assert_array_equal(canvas[6:26, 4:28], img)


@pytest.mark.parametrize("native", [(40, 36), (20, 41), (45, 32)])
def test_pad_never_crops_a_larger_slice(native):
    with pytest.raises(ValueError, match=f"{native[0]}x{native[1]} px slice does not fit a 32x32"):
        placement_for(native, 32, "pad")


@pytest.mark.parametrize(
    ("native", "canvas"), [((40, 36), (48, 48)), ((20, 41), (32, 48)), ((150, 172), (160, 176)), ((20, 24), (32, 32))]
)
def test_inference_canvas_grows_to_multiples_of_the_divisor_and_keeps_every_pixel(native, canvas):
    p = inference_placement(native, 32, 16, "pad")
    assert (p.canvas_h, p.canvas_w) == canvas
    mask = _random_mask(native, 5)
    on = to_canvas(mask, p, is_mask=True)
    assert on.sum() == mask.sum()
    np.testing.assert_array_equal(to_native(on, p), mask)


def test_canvas_is_the_largest_side_rounded_up():
    assert round_up(100, 16) == 112
    assert round_up(112, 16) == 112
    assert choose_canvas([(80, 90, 104), (120, 110, 97)], 16) == 112
    assert choose_canvas([(5, 150, 172)], 16) == 176
    assert choose_canvas([(5, 150, 172)], 8) == 176
    assert choose_canvas([(5, 33, 20)], 32) == 64


@pytest.mark.parametrize("native", [(20, 24), (24, 20), (32, 32), (31, 17), (8, 8)])
def test_resize_round_trips_masks_when_the_canvas_is_not_smaller(native):
    p = placement_for(native, 32, "resize")
    assert (p.mode, p.native_h, p.native_w, p.canvas_h, p.canvas_w) == ("resize", *native, 32, 32)
    assert p.scale == (32 / native[0], 32 / native[1])
    assert not p.downsamples
    mask = _random_mask(native, 3)
    canvas = to_canvas(mask, p, is_mask=True)
    assert canvas.shape == (32, 32)
    assert canvas.dtype == np.uint8
    assert set(np.unique(canvas)) <= {0, 1, 3}  # nearest: never an in-between label
    np.testing.assert_array_equal(to_native(canvas, p), mask)


def test_resize_records_downsampling():
    p = placement_for((64, 40), 32, "resize")
    assert p.scale == (0.5, 0.8)
    assert p.downsamples


def test_resize_image_is_bilinear_and_keeps_range():
    img = np.zeros((20, 24, 3), np.float32)
    img[..., 0] = 100.0
    img[:, 12:, 1] = 200.0
    canvas = to_canvas(img, placement_for((20, 24), 32, "resize"))
    assert canvas.shape == (32, 32, 3)
    np.testing.assert_allclose(canvas[..., 0], 100.0, atol=1e-4)
    assert canvas[..., 1].min() == 0
    assert canvas[..., 1].max() == pytest.approx(200.0)
    assert ((canvas[..., 1] > 0) & (canvas[..., 1] < 200)).any()  # interpolated edge


def test_probabilities_go_back_bilinearly_with_resize():
    p = placement_for((10, 10), 20, "resize")
    prob = np.zeros((20, 20, 2), np.float32)
    prob[..., 1] = np.linspace(0, 1, 20)[None, :]
    back = to_native(prob, p, nearest=False)
    assert back.shape == (10, 10, 2)
    assert 0 < back[0, 0, 1] < back[0, -1, 1] <= 1


@pytest.mark.parametrize(
    ("mode", "geometry"), [("channels", "pad"), ("channels", "resize"), ("seed_sum", "pad"), ("seed_sum", "resize")]
)
def test_whole_stack_images_equal_the_slice_by_slice_ones(mode, geometry):
    from sts_seg.core.slicing import SliceSpec

    rng = np.random.default_rng(8)
    ct = rng.uniform(-1200, 1500, (5, 19, 23)).astype(np.float32)
    pet = rng.uniform(0, 14, (5, 19, 23)).astype(np.float32)
    label = (rng.random((5, 19, 23)) > 0.7).astype(np.uint8) * 2
    spec = SliceSpec(mode, (("ct", -1000.0, 1000.0), ("pet", 0.0, 10.0), ("ct", -160.0, 240.0)), geometry, 32, 4)
    p = spec.placement(ct.shape[1:])
    images, masks = spec.images(ct, pet, p), spec.masks(label, p)
    assert images.dtype == masks.dtype == np.uint8
    for i in range(len(ct)):
        np.testing.assert_array_equal(images[i], spec.image(ct[i], pet[i], p))
        np.testing.assert_array_equal(masks[i], spec.mask(label[i], p))
    assert spec.images(ct[:0], pet[:0], p).shape == (0, 32, 32, spec.channels)
    assert spec.masks(label[:0], p).shape == (0, 32, 32)
