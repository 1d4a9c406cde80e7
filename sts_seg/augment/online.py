"""On-the-fly augmentation during training: each op with its probability, one Generator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sts_seg.augment.ops.base import Op, Pair


def apply_online(image: np.ndarray, mask: np.ndarray, ops: Sequence[Op], rng: np.random.Generator) -> Pair:
    """Apply each op with probability ``op.p``; every applied op samples once from ``rng``.

    Image ``(H, W, C)`` and mask ``(H, W)`` come back with the same shapes and dtypes. The ops
    are validated config objects, so nothing is re-checked per sample.
    """
    for op in ops:
        if op.p < 1.0 and rng.random() >= op.p:
            continue
        image, mask = op.apply(image, mask, op.sample(rng, mask.shape))
    return image, mask
