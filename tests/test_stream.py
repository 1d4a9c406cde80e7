"""The training stream: tumour oversampling measured on real batches, on-the-fly augmentation
applied to image and mask together, and every batch a pure function of (seed, epoch)."""

from __future__ import annotations

import numpy as np
import pytest

from sts_seg.config import load_config
from sts_seg.train.arrays import SliceArrays

pytestmark = pytest.mark.tf


def _data(n: int = 40, tumour_every: int = 10, size: int = 16) -> SliceArrays:
    """Slice i's image holds the value i in its top-left pixel; every 10th slice holds tumour."""
    images = np.zeros((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        images[i, 0, 0] = i
        images[i, :, size // 2 :] = 200  # right half bright: a flip is visible
        if i % tumour_every == 0:
            masks[i, 2:6, 10:14] = 1
    return SliceArrays([str(i) for i in range(n)], images, masks)


def _batches(data: SliceArrays, *sets: str, epochs: int = 2):
    from sts_seg.train.pipeline import train_dataset

    base = ["train.batch_size=8", "train.steps_per_epoch=25", f"train.epochs={epochs}", "augment.online=[]"]
    cfg = load_config(None, [*base, *sets])  # no on-the-fly ops unless a test sets them
    ds = train_dataset(data, cfg.train, cfg.augment.online, 2)
    return [(x.numpy(), y.numpy()) for x, y in ds]


def test_tumour_fraction_is_what_the_batches_hold():
    data = _data()  # 10 % of the slices hold tumour
    for fraction in (0.33, 0.5):
        batches = _batches(data, f"train.tumour_fraction={fraction}")
        holds = np.concatenate([y[..., 1].reshape(len(y), -1).max(1) for _, y in batches])
        n = len(holds)
        assert n == 2 * 25 * 8
        # binomial: 400 draws, sd = sqrt(p (1-p) / n) <= 0.025; allow 4 sd
        assert abs(holds.mean() - fraction) < 4 * np.sqrt(fraction * (1 - fraction) / n)
    uniform = np.concatenate(
        [y[..., 1].reshape(len(y), -1).max(1) for _, y in _batches(data, "train.tumour_fraction=null")]
    )
    assert abs(uniform.mean() - 0.1) < 0.03  # without oversampling: the data's own 10 %


def test_online_flips_move_image_and_mask_together():
    data = _data()
    batches = _batches(data, "augment.online=[{name: hflip, p: 0.5}]")
    flipped = kept = 0
    for x, y in batches:
        for img, onehot in zip(x, y, strict=True):
            mask = onehot[..., 1]
            if img[0, -1, 0] != 200:  # the bright half moved to the left: flipped
                i = int(img[0, -1, 0])
                np.testing.assert_array_equal(img, data.images[i][:, ::-1])
                np.testing.assert_array_equal(mask, data.masks[i][:, ::-1])
                flipped += 1
            else:
                i = int(img[0, 0, 0])
                np.testing.assert_array_equal(img, data.images[i])
                np.testing.assert_array_equal(mask, data.masks[i])
                kept += 1
    assert abs(flipped / (flipped + kept) - 0.5) < 0.1


def test_each_epoch_is_a_function_of_seed_and_epoch():
    from sts_seg.train.pipeline import train_dataset

    data = _data()
    cfg = load_config(None, ["train.batch_size=8", "train.steps_per_epoch=5", "train.epochs=3"])
    full = [x.numpy() for x, _ in train_dataset(data, cfg.train, (), 2)]
    from_epoch_2 = [x.numpy() for x, _ in train_dataset(data, cfg.train, (), 2, first_epoch=2)]
    assert len(full) == 15
    assert len(from_epoch_2) == 5
    for a, b in zip(full[10:], from_epoch_2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(full[0], full[5])  # another epoch, another order


def test_hot_negatives_are_tumour_free_slices_with_uptake_by_hand():
    from sts_seg.train.pipeline import hot_negatives

    images = np.zeros((4, 8, 8, 3), np.uint8)
    images[1, 2, 2, 1] = 200  # hot PET (green channel), no tumour: a hard negative
    images[2, 2, 2, 1] = 200  # hot, but it is the tumour slice
    images[3, 2, 2, 0] = 250  # bright CT only: not hot
    tumour = np.array([False, False, True, False])
    np.testing.assert_array_equal(hot_negatives(images, tumour, 1, 102), [False, True, False, False])


def test_hard_negative_fraction_is_what_the_epoch_draws():
    from sts_seg.train.pipeline import epoch_indices

    tumour = np.zeros(100, bool)
    tumour[:10] = True
    hard = np.zeros(100, bool)
    hard[10:15] = True  # 5 % of the slices are hot negatives
    n = 4000
    idx = epoch_indices(tumour, n, 0.3, 7, 0, hard, 0.25)
    sd = np.sqrt(0.25 * 0.75 / n)
    assert abs(tumour[idx].mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
    assert abs(hard[idx].mean() - 0.25) < 4 * sd
    assert set(idx[hard[idx]]) == set(range(10, 15))  # every hard negative used


def test_training_finds_hard_negatives_through_the_pet_window():
    """train.hard_negative_suv is mapped through prepare's PET window (0..10 SUV -> 0..255)."""
    from sts_seg.errors import ConfigError
    from sts_seg.train.run import _hard_negatives

    images = np.zeros((3, 8, 8, 3), np.uint8)
    images[0, 1, 1, 1] = 101  # SUV 3.96: below 4
    images[1, 1, 1, 1] = 103  # SUV 4.04: a hard negative
    images[2, 1, 1, 1] = 255  # hot, but the tumour slice
    masks = np.zeros((3, 8, 8), np.uint8)
    masks[2, 1, 1] = 1
    data = SliceArrays(["a", "b", "c"], images, masks)
    assert _hard_negatives(load_config(None, ["train.hard_negative_fraction=null"]), data) is None  # off
    np.testing.assert_array_equal(_hard_negatives(load_config(None, ()), data), [False, True, False])  # the default
    cfg = load_config(None, ["train.hard_negative_fraction=0.25"])
    np.testing.assert_array_equal(_hard_negatives(cfg, data), [False, True, False])
    cfg = load_config(None, ["train.hard_negative_fraction=0.25", "train.hard_negative_suv=3.9"])
    np.testing.assert_array_equal(_hard_negatives(cfg, data), [True, True, False])
    seed = load_config(None, ["train.hard_negative_fraction=0.25", "prepare.image_mode=seed_sum",
                              "model.image_channels=3"])  # fmt: skip
    with pytest.raises(ConfigError, match="needs a PET channel"):
        _hard_negatives(seed, data)
