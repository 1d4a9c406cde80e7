"""Training and validation streams over in-memory :class:`SliceArrays`.

The training stream is a pure function of ``(seed, epoch)``: each epoch's slice order (with
``tumour_fraction`` oversampling) and each sample's on-the-fly augmentation draw from
``numpy.random.default_rng([seed, epoch, ...])``. A run resumed at epoch k therefore sees
exactly the batches that an uninterrupted run sees from epoch k on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow as tf

from sts_seg.augment.online import apply_online
from sts_seg.augment.ops import Op
from sts_seg.config import TrainConfig
from sts_seg.train.arrays import SliceArrays


def steps_per_epoch(n: int, t: TrainConfig) -> int:
    """``train.steps_per_epoch``, or one pass over ``n`` slices."""
    return t.steps_per_epoch or max(1, math.ceil(n / t.batch_size))


def _cycle(pool: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` indices from ``pool``: shuffled passes over it, one after another."""
    passes = [rng.permutation(pool) for _ in range(-(-k // len(pool)))]
    return np.concatenate(passes)[:k]


def epoch_indices(tumour: np.ndarray, n_samples: int, fraction: float | None, seed: int, epoch: int) -> np.ndarray:
    """Slice indices of one epoch: shuffled passes, or a ``fraction`` of tumour slices (each sample
    drawn tumour/non-tumour with that probability, each pool in shuffled passes)."""
    rng = np.random.default_rng([seed, epoch, 0])
    idx = np.arange(len(tumour))
    if fraction is None or tumour.all() or not tumour.any():
        return _cycle(idx, n_samples, rng)
    pick_tumour = rng.random(n_samples) < fraction
    out = np.empty(n_samples, np.int64)
    out[pick_tumour] = _cycle(idx[tumour], int(pick_tumour.sum()), rng)
    out[~pick_tumour] = _cycle(idx[~tumour], int((~pick_tumour).sum()), rng)
    return out


def _batches(
    data: SliceArrays, t: TrainConfig, ops: Sequence[Op], steps: int, first_epoch: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    bs = t.batch_size
    for epoch in range(first_epoch, t.epochs):
        order = epoch_indices(data.tumour, steps * bs, t.tumour_fraction, t.seed, epoch)
        for step in range(steps):
            idx = order[step * bs : (step + 1) * bs]
            images, masks = data.images[idx].copy(), data.masks[idx].copy()
            for j in range(len(idx)) if ops else ():
                rng = np.random.default_rng([t.seed, epoch, 1, step * bs + j])
                img, msk = apply_online(images[j], masks[j], ops, rng)
                images[j], masks[j] = img, msk
            yield images, masks


def train_dataset(
    data: SliceArrays, t: TrainConfig, ops: Sequence[Op], num_classes: int, first_epoch: int = 0
) -> tf.data.Dataset:
    """Batches for epochs ``first_epoch .. t.epochs - 1`` (``steps_per_epoch`` each), one-hot masks."""
    steps = steps_per_epoch(len(data), t)
    shape = data.images.shape[1:]
    sig = (
        tf.TensorSpec((None, *shape), tf.uint8),
        tf.TensorSpec((None, *shape[:2]), tf.uint8),
    )
    ds = tf.data.Dataset.from_generator(lambda: _batches(data, t, ops, steps, first_epoch), output_signature=sig)

    def to_model(images: tf.Tensor, masks: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(images, tf.float32), tf.one_hot(tf.cast(masks, tf.int32), num_classes, dtype=tf.float32)

    return ds.map(to_model, num_parallel_calls=1).prefetch(2)


def eval_dataset(data: SliceArrays, num_classes: int, batch_size: int, cache: bool = True) -> tf.data.Dataset:
    """Finite, ordered validation stream."""
    ds = tf.data.Dataset.from_tensor_slices((data.images, data.masks))

    def to_model(image: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(image, tf.float32), tf.one_hot(tf.cast(mask, tf.int32), num_classes, dtype=tf.float32)

    ds = ds.map(to_model, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size)
    return ds.cache().prefetch(tf.data.AUTOTUNE) if cache else ds.prefetch(tf.data.AUTOTUNE)
