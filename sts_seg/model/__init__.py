"""Model registry: ``build_model(cfg.model)`` returns an uncompiled Keras 3 model.

Importing this package does not import TensorFlow; building a model does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sts_seg.config import ModelConfig
from sts_seg.model.unet import build_unet

if TYPE_CHECKING:
    import keras

MODELS: dict[str, Callable[[ModelConfig], keras.Model]] = {"flexunet": build_unet}


def build_model(cfg: ModelConfig) -> keras.Model:
    """Build the model named by ``cfg.name`` (uncompiled)."""
    return MODELS[cfg.name](cfg)  # cfg.name is validated against MODELS' keys (a Literal)


__all__ = ["MODELS", "build_model", "build_unet"]
