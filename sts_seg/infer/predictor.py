"""Batched, compiled prediction: one traced ``tf.function`` per model, fed fixed-size batches.

Calling ``model.predict`` pays Keras' per-call set-up every time; one traced function over
fixed-size batches pays it once.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sts_seg.errors import ModelError
from sts_seg.progress import ProgressFn, no_progress


def load_model(path: Path) -> keras.Model:
    """Load a ``.keras`` model for prediction (``compile=False``: losses and metrics are not needed)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found; train one with 'stsseg train' or pass --model")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise ModelError(
            f"{path}: cannot load the model ({exc.__class__.__name__}: {exc}); is it a .keras file from stsseg train?"
        ) from exc


class Predictor:
    """Wraps a model: ``labels`` (argmax) for uint8 ``(N, S, S, C)`` images, in fixed-size batches."""

    def __init__(self, model: keras.Model, batch_size: int = 16) -> None:
        self.model, self.batch_size = model, batch_size
        _, h, w, c = model.input_shape
        self.size, self.channels = int(h), int(c)
        spec = tf.TensorSpec((None, h, w, c), tf.float32)
        self._fn = tf.function(lambda x: tf.cast(model(x, training=False), tf.float32), input_signature=[spec])

    @classmethod
    def from_path(cls, path: Path, batch_size: int = 16) -> Predictor:
        return cls(load_model(path), batch_size)

    def labels(self, images: np.ndarray, progress: ProgressFn = no_progress) -> np.ndarray:
        """``(N, S, S, C)`` uint8 -> ``(N, S, S)`` uint8 argmax labels."""
        n = len(images)
        out = np.zeros((n, self.size, self.size), np.uint8)
        for start in range(0, n, self.batch_size):
            batch = images[start : start + self.batch_size].astype(np.float32)
            out[start : start + len(batch)] = np.argmax(self._fn(tf.constant(batch)).numpy(), axis=-1)
            progress(min(start + self.batch_size, n), n, "")
        return out
