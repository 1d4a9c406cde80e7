"""Training and validation streams over in-memory :class:`SliceArrays`.

The training stream is a pure function of ``(seed, epoch)``: each epoch's slice order (with
``tumour_fraction`` oversampling) and each sample's on-the-fly augmentation draw from
``numpy.random.default_rng([seed, epoch, ...])``. A run resumed at epoch k therefore sees
exactly the batches that an uninterrupted run sees from epoch k on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sts_seg.augment.online import apply_online
from sts_seg.augment.ops import Op
from sts_seg.config import TrainConfig
from sts_seg.runtime import import_tensorflow
from sts_seg.train.arrays import SliceArrays
from sts_seg.train.patches import crop_patch

tf = import_tensorflow()


def steps_per_epoch(n: int, t: TrainConfig) -> int:
    """``train.steps_per_epoch``, or one pass over ``n`` slices."""
    return t.steps_per_epoch or max(1, math.ceil(n / t.batch_size))


def _cycle(pool: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` indices from ``pool``: shuffled passes over it, one after another."""
    passes = [rng.permutation(pool) for _ in range(-(-k // len(pool)))]
    return np.concatenate(passes)[:k]


def hot_negatives(images: np.ndarray, tumour: np.ndarray, pet_channel: int, level: int) -> np.ndarray:
    """(N,) bool: slices without tumour whose PET channel (uint8) reaches ``level`` somewhere."""
    hot = images[..., pet_channel].reshape(len(images), -1).max(axis=1) >= level
    return hot & ~tumour


def epoch_indices(tumour: np.ndarray, n_samples: int, fraction: float | None, seed: int, epoch: int,
                  hard: np.ndarray | None = None, hard_fraction: float | None = None) -> np.ndarray:  # fmt: skip
    """Slice indices of one epoch: shuffled passes, or a ``fraction`` of tumour slices (each sample
    drawn tumour/non-tumour with that probability, each pool in shuffled passes); with ``hard``
    (a bool mask of hard negatives) a further ``hard_fraction`` of samples comes from that pool."""
    rng = np.random.default_rng([seed, epoch, 0])
    idx = np.arange(len(tumour))
    if hard is not None and hard_fraction and hard.any() and tumour.any() and (~tumour & ~hard).any():
        u = rng.random(n_samples)
        f = fraction if fraction is not None else float(tumour.mean())
        pools = [(u < f, idx[tumour]), ((u >= f) & (u < f + hard_fraction), idx[hard]),
                 (u >= f + hard_fraction, idx[~tumour & ~hard])]  # fmt: skip
        out = np.empty(n_samples, np.int64)
        for pick, pool in pools:
            out[pick] = _cycle(pool, int(pick.sum()), rng)
        return out
    if fraction is None or tumour.all() or not tumour.any():
        return _cycle(idx, n_samples, rng)
    pick_tumour = rng.random(n_samples) < fraction
    out = np.empty(n_samples, np.int64)
    out[pick_tumour] = _cycle(idx[tumour], int(pick_tumour.sum()), rng)
    out[~pick_tumour] = _cycle(idx[~tumour], int((~pick_tumour).sum()), rng)
    return out


def _stream_indices(data: SliceArrays, t: TrainConfig, steps: int, first_epoch: int,
                    hard: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """``(N, 3)`` int64 rows ``(epoch, position in epoch, slice index)`` for epochs ``first_epoch ..``."""
    n = steps * t.batch_size
    tumour = data.tumour
    rows = [
        np.stack([np.full(n, e), np.arange(n),
                  epoch_indices(tumour, n, t.tumour_fraction, t.seed, e, hard, t.hard_negative_fraction)], 1)
        for e in range(first_epoch, t.epochs)
    ]  # fmt: skip
    return np.concatenate(rows) if rows else np.zeros((0, 3), np.int64)


@dataclass(frozen=True)
class PatchSpec:
    """Training patches: ``size`` px; a tumour-free slice is cut around a pixel whose channel
    ``hot_channel`` reaches ``hot_level`` (uint8) when one does (None: anywhere)."""

    size: int
    hot_channel: int | None = None
    hot_level: int = 255


def _per_sample(ops: Sequence[Op], seed: int, shape: tuple[int, ...], patch: PatchSpec | None):
    """A per-sample tf.data map: the numpy ops with ``default_rng([seed, epoch, 1, position])``,
    then the patch cut with ``default_rng([seed, epoch, 2, position])``."""

    def np_fn(image: np.ndarray, mask: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        img, msk = image, mask
        if ops:
            img, msk = apply_online(img, msk, ops, np.random.default_rng([seed, int(key[0]), 1, int(key[1])]))
        if patch is not None:
            rng = np.random.default_rng([seed, int(key[0]), 2, int(key[1])])
            img, msk = crop_patch(img, msk, patch.size, rng, patch.hot_channel, patch.hot_level)
        return np.ascontiguousarray(img, dtype=np.uint8), np.ascontiguousarray(msk, dtype=np.uint8)

    out = shape if patch is None else (patch.size, patch.size, *shape[2:])

    def fn(image: tf.Tensor, mask: tf.Tensor, key: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        img, msk = tf.numpy_function(np_fn, [image, mask, key], [tf.uint8, tf.uint8], stateful=False)
        img.set_shape(out)
        msk.set_shape(out[:2])
        return img, msk

    return fn


def train_dataset(
    data: SliceArrays, t: TrainConfig, ops: Sequence[Op], num_classes: int, first_epoch: int = 0,
    hard: np.ndarray | None = None, patch: PatchSpec | None = None,
) -> tf.data.Dataset:  # fmt: skip
    """Batches for epochs ``first_epoch .. t.epochs - 1`` (``steps_per_epoch`` each), one-hot masks;
    ``hard``: the hard-negative slices ``t.hard_negative_fraction`` oversamples; ``patch``: cut
    each sample to a training patch (after the on-the-fly ops).

    The slices live in two non-trainable variables and are gathered by index (no Python in the
    loop unless on-the-fly ops are configured; those run per sample, keyed by (epoch, position))."""
    steps = steps_per_epoch(len(data), t)
    keys = _stream_indices(data, t, steps, first_epoch, hard)
    images = tf.Variable(data.images, trainable=False)
    masks = tf.Variable(data.masks, trainable=False)
    ds = tf.data.Dataset.from_tensor_slices(keys)

    def gather(key: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        return tf.gather(images, key[2]), tf.gather(masks, key[2]), key

    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if ops or patch is not None:
        fn = _per_sample(ops, t.seed, data.images.shape[1:], patch)
        ds = ds.map(fn, num_parallel_calls=2, deterministic=True)
    else:
        ds = ds.map(lambda image, mask, key: (image, mask))

    def to_model(image: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(image, tf.float32), tf.one_hot(tf.cast(mask, tf.int32), num_classes, dtype=tf.float32)

    return ds.batch(t.batch_size).map(to_model, num_parallel_calls=1).prefetch(2)


def eval_dataset(data: SliceArrays, num_classes: int, batch_size: int, cache: bool = True) -> tf.data.Dataset:
    """Finite, ordered validation stream."""
    ds = tf.data.Dataset.from_tensor_slices((data.images, data.masks))

    def to_model(image: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(image, tf.float32), tf.one_hot(tf.cast(mask, tf.int32), num_classes, dtype=tf.float32)

    ds = ds.map(to_model, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size)
    return ds.cache().prefetch(tf.data.AUTOTUNE) if cache else ds.prefetch(tf.data.AUTOTUNE)
