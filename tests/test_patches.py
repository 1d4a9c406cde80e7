"""Training patches: where they are cut (by hand), image and mask cut together, and the stream
that serves them (shapes, every tumour sample holds tumour, a pure function of seed and epoch)."""

from __future__ import annotations

import numpy as np
import pytest

from sts_seg.train.patches import crop_patch, patch_origin


def _one_pixel(y: int, x: int, h: int = 64, w: int = 64) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[y, x] = 1
    return m


def test_a_foreground_pixel_lands_in_the_middle_half_of_its_patch():
    mask = _one_pixel(30, 40)
    for seed in range(200):
        y0, x0 = patch_origin(mask, 16, np.random.default_rng(seed))
        # centred (30 - 8 = 22, 40 - 8 = 32) with a jitter of at most 16 // 4 = 4 px
        assert 18 <= y0 <= 26
        assert 28 <= x0 <= 36
        assert 4 <= 30 - y0 <= 12
        assert 4 <= 40 - x0 <= 12


def test_a_patch_near_the_border_is_clipped_into_the_slice():
    mask = _one_pixel(1, 62)
    for seed in range(50):
        y0, x0 = patch_origin(mask, 16, np.random.default_rng(seed))
        assert y0 == 0
        assert x0 == 48
        assert mask[y0 : y0 + 16, x0 : x0 + 16].sum() == 1


def test_an_empty_slice_is_cut_anywhere_or_around_a_hot_pixel():
    empty = np.zeros((40, 48), np.uint8)
    origins = np.array([patch_origin(empty, 16, np.random.default_rng(s)) for s in range(400)])
    assert origins[:, 0].min() == 0
    assert origins[:, 0].max() == 40 - 16
    assert origins[:, 1].min() == 0
    assert origins[:, 1].max() == 48 - 16
    hot = np.zeros((40, 48), bool)
    hot[35, 5] = True
    for seed in range(50):
        y0, x0 = patch_origin(empty, 16, np.random.default_rng(seed), hot)
        assert y0 <= 35 < y0 + 16
        assert x0 <= 5 < x0 + 16


def test_foreground_wins_over_hot_pixels():
    mask, hot = _one_pixel(5, 5), np.zeros((64, 64), bool)
    hot[60, 60] = True
    for seed in range(50):
        y0, x0 = patch_origin(mask, 16, np.random.default_rng(seed), hot)
        assert y0 <= 5 < y0 + 16
        assert x0 <= 5 < x0 + 16


def test_image_and_mask_are_cut_by_the_same_window():
    rng = np.random.default_rng(0)
    mask = (rng.random((48, 48)) < 0.05).astype(np.uint8)
    image = np.zeros((48, 48, 3), np.uint8)
    image[..., 0] = mask * 255  # channel 0 is the mask: the crops must still agree
    image[..., 1] = np.arange(48)[:, None]  # row number
    image[..., 2] = np.arange(48)[None, :]  # column number
    for seed in range(30):
        img, msk = crop_patch(image, mask, 16, np.random.default_rng(seed), hot_channel=0, hot_level=200)
        assert img.shape == (16, 16, 3)
        assert msk.shape == (16, 16)
        np.testing.assert_array_equal(img[..., 0], msk * 255)
        y0, x0 = int(img[0, 0, 1]), int(img[0, 0, 2])
        np.testing.assert_array_equal(msk, mask[y0 : y0 + 16, x0 : x0 + 16])


def test_a_patch_larger_than_the_slice_is_refused():
    with pytest.raises(ValueError, match="16 px patch does not fit a 12x20 px slice"):
        patch_origin(np.zeros((20, 12), np.uint8), 16, np.random.default_rng(0))


@pytest.mark.tf
def test_the_stream_serves_patches_and_every_tumour_sample_holds_tumour():
    from sts_seg.config import load_config
    from sts_seg.train.arrays import SliceArrays
    from sts_seg.train.pipeline import PatchSpec, train_dataset

    n, size = 30, 32
    images = np.zeros((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    images[..., 1] = np.arange(size)[:, None]
    for i in range(0, n, 3):
        masks[i, 20:23, 3:6] = 1  # a small tumour in one corner: a random window would often miss it
        images[i, 20:23, 3:6, 0] = 250
    data = SliceArrays([str(i) for i in range(n)], images, masks)
    cfg = load_config(None, ["train.batch_size=6", "train.steps_per_epoch=10", "train.epochs=2",
                             "train.tumour_fraction=0.5"])  # fmt: skip

    def batches():
        ds = train_dataset(data, cfg.train, (), 2, patch=PatchSpec(16))
        return [(x.numpy(), y.numpy()) for x, y in ds]

    first = batches()
    assert len(first) == 20
    assert all(x.shape == (6, 16, 16, 3) and y.shape == (6, 16, 16, 2) for x, y in first)
    for x, y in first:
        tumour_slice = x[..., 0].reshape(6, -1).max(1) == 250
        holds = y[..., 1].reshape(6, -1).max(1) > 0
        np.testing.assert_array_equal(holds, tumour_slice)  # the label travels with the pixels
    # a tumour slice's patch always holds its tumour: as many tumour samples as the sampler drew
    holds = np.concatenate([y[..., 1].reshape(6, -1).max(1) > 0 for _, y in first])
    assert abs(holds.mean() - 0.5) < 4 * np.sqrt(0.25 / len(holds))
    again = batches()
    for (x1, y1), (x2, y2) in zip(first, again, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
