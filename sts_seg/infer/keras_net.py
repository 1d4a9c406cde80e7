"""A Keras ``.keras`` model as a :class:`~sts_seg.infer.predictor.Network`: one traced
``tf.function`` with dynamic height and width, so any canvas is predicted without retracing."""

from __future__ import annotations

from pathlib import Path
from zipfile import BadZipFile, is_zipfile

import numpy as np

from sts_seg.errors import ModelError
from sts_seg.runtime import import_keras, import_tensorflow

keras = import_keras()
tf = import_tensorflow()


def load_model(path: Path) -> keras.Model:
    """Load a ``.keras`` model for prediction (``compile=False``: losses and metrics are not needed)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found; train one with 'stsseg train' or pass --model")
    if not is_zipfile(path):
        raise ModelError(f"{path}: not a .keras file (a .keras model is a zip archive); pass a model from stsseg train")
    try:
        return keras.models.load_model(path, compile=False)
    except (BadZipFile, Exception) as exc:
        raise ModelError(
            f"{path}: cannot load the model ({exc.__class__.__name__}: {exc}); is it a .keras file from stsseg train?"
        ) from exc


def pooling_divisor(model: keras.Model) -> int:
    """2^(number of 2x2 poolings): input sides must be multiples of it."""
    return 2 ** sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers)


class KerasNetwork:
    """``probabilities(batch)`` of a Keras model through one traced function."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.channels = int(model.input_shape[-1])
        self.divisor = pooling_divisor(model)
        spec = tf.TensorSpec((None, None, None, self.channels), tf.float32)
        self._fn = tf.function(lambda x: tf.cast(model(x, training=False), tf.float32), input_signature=[spec])

    @classmethod
    def from_path(cls, path: Path) -> KerasNetwork:
        return cls(load_model(path))

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """``(N, H, W, C)`` float32 in 0..255 -> ``(N, H, W, K)`` float32 softmax."""
        return self._fn(tf.constant(batch, tf.float32)).numpy()
