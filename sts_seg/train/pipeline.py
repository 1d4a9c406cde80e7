"""tf.data pipelines over in-memory :class:`SliceArrays`.

Training: seeded shuffle (or tumour oversampling), optional on-the-fly augmentation through the
numpy op registry, one-hot masks, batching, prefetch. Validation: fixed order, no augmentation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from sts_seg.augment.ops import Op
from sts_seg.config import Config
from sts_seg.train.arrays import SliceArrays


def _to_model(num_classes: int):
    def fn(image: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(image, tf.float32), tf.one_hot(tf.cast(mask, tf.int32), num_classes, dtype=tf.float32)

    return fn


def _online_augment(ops: Sequence[Op], seed: int, shape: tuple[int, ...]):
    """A tf.data map applying the numpy ops; one Generator, sequential -> reproducible."""
    from sts_seg.augment.online import apply_online

    rng = np.random.default_rng([seed, 1])  # seed already shifted by a resumed epoch

    def np_fn(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        img, msk = apply_online(image, mask, ops, rng)
        return np.ascontiguousarray(img, dtype=np.uint8), np.ascontiguousarray(msk, dtype=np.uint8)

    def fn(image: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        img, msk = tf.numpy_function(np_fn, [image, mask], [tf.uint8, tf.uint8], stateful=True)
        img.set_shape(shape)
        msk.set_shape(shape[:2])
        return img, msk

    return fn


def steps_per_epoch(n: int, cfg: Config) -> int:
    return cfg.train.steps_per_epoch or max(1, math.ceil(n / cfg.train.batch_size))


def train_dataset(data: SliceArrays, cfg: Config, epoch_offset: int = 0) -> tf.data.Dataset:
    """Infinite, batched training stream (use with :func:`steps_per_epoch`).

    ``epoch_offset`` (a resumed run's first epoch) shifts every seed, so a resumed run does not
    replay the batches of epoch 0.
    """
    seed, t = cfg.train.seed + 1000 * epoch_offset, cfg.train
    frac = t.tumour_fraction
    tumour = data.tumour
    if frac is not None and tumour.any() and (~tumour).any():
        parts = [
            tf.data.Dataset.from_tensor_slices((data.images[sel], data.masks[sel]))
            .shuffle(int(sel.sum()), seed=seed + k, reshuffle_each_iteration=True)
            .repeat()
            for k, sel in enumerate((tumour, ~tumour))
        ]
        ds = tf.data.Dataset.sample_from_datasets(parts, weights=[frac, 1 - frac], seed=seed)
    else:
        ds = (
            tf.data.Dataset.from_tensor_slices((data.images, data.masks))
            .shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
            .repeat()
        )
    if cfg.augment.online:
        ds = ds.map(_online_augment(cfg.augment.online, seed, data.images.shape[1:]), num_parallel_calls=1)
    ds = ds.map(_to_model(cfg.model.num_classes), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(t.batch_size).prefetch(tf.data.AUTOTUNE)


def eval_dataset(data: SliceArrays, cfg: Config, batch_size: int | None = None) -> tf.data.Dataset:
    """Finite, ordered validation stream."""
    ds = tf.data.Dataset.from_tensor_slices((data.images, data.masks))
    ds = ds.map(_to_model(cfg.model.num_classes), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size or cfg.train.batch_size)
    return ds.cache().prefetch(tf.data.AUTOTUNE) if cfg.train.cache else ds.prefetch(tf.data.AUTOTUNE)
