"""Prediction without knowing the backend: a :class:`Predictor` averages the softmax of one or
more networks (a fold ensemble) and, optionally, of flipped copies of the input (test-time
augmentation), over batches of uint8 ``(N, H, W, C)`` canvas images.

A network is anything with ``channels``, ``divisor`` and ``probabilities(float32 batch)``; the
Keras one lives in :mod:`sts_seg.infer.keras_net` (the only module here that imports TensorFlow).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sts_seg.progress import ProgressFn, no_progress

#: flips averaged by ``tta: flips``: none, horizontal, vertical, both (axes of an (N, H, W, C) batch)
FLIPS: tuple[tuple[int, ...], ...] = ((), (2,), (1,), (1, 2))


class Network(Protocol):
    """One trained model: ``(N, H, W, C)`` float32 in 0..255 -> ``(N, H, W, K)`` float32 softmax."""

    channels: int
    divisor: int

    def probabilities(self, batch: np.ndarray) -> np.ndarray: ...


@dataclass
class Predictor:
    """Mean softmax of ``networks`` (and of ``tta`` flips) in batches of ``batch_size``."""

    networks: Sequence[Network]
    batch_size: int = 16
    tta: str = "none"

    @property
    def channels(self) -> int:
        return self.networks[0].channels

    @property
    def divisor(self) -> int:
        return self.networks[0].divisor

    def _batch(self, batch: np.ndarray) -> np.ndarray:
        flips = FLIPS if self.tta == "flips" else FLIPS[:1]
        total = None
        for net in self.networks:
            for axes in flips:
                x = np.ascontiguousarray(np.flip(batch, axes)) if axes else batch
                p = net.probabilities(x)
                p = np.flip(p, axes) if axes else p
                total = p.astype(np.float32) if total is None else total + p
        return total / np.float32(len(self.networks) * len(flips))

    def probabilities(self, images: np.ndarray, progress: ProgressFn = no_progress) -> np.ndarray:
        """``(N, H, W, C)`` uint8 (H, W multiples of ``divisor``) -> ``(N, H, W, K)`` float32."""
        n = len(images)
        if images.shape[1] % self.divisor or images.shape[2] % self.divisor:
            raise ValueError(f"image sides {images.shape[1:3]} must be multiples of {self.divisor}")
        out = None
        for start in range(0, n, self.batch_size):
            probs = self._batch(images[start : start + self.batch_size].astype(np.float32))
            if out is None:
                out = np.zeros((n, *probs.shape[1:]), np.float32)
            out[start : start + len(probs)] = probs
            progress(min(start + self.batch_size, n), n, "")
        return out if out is not None else np.zeros((0, *images.shape[1:3], 2), np.float32)

    def labels(self, images: np.ndarray, progress: ProgressFn = no_progress) -> np.ndarray:
        """``(N, H, W, C)`` uint8 -> ``(N, H, W)`` uint8 argmax labels of the mean softmax."""
        return np.argmax(self.probabilities(images, progress), axis=-1).astype(np.uint8)
