"""FlexUNet: the original project's 2D UNet, rebuilt as a pure Keras 3 functional builder.

Layer order, schedules and initialisers follow the original's ``TensorFlowFlexUNet.py``, so its settings
(16 filters, 11×11 kernels, 8 levels, no normalisation, 3 channels, 2 classes) give
126,809,218 parameters at any image size. Added options: batch/group normalisation, a
constant kernel schedule and other activations. Channels-last and fully convolutional: input
``(H, W, C)`` floats in 0..255 with H and W multiples of 2^(num_layers-1), output
``(H, W, num_classes)`` softmax probabilities (always float32).

Keras is imported inside the builders only, so the schedule functions (and ``stsseg`` commands
that only need them) do not pay the ~3 s TensorFlow import.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sts_seg.config import ModelConfig
from sts_seg.errors import ConfigError
from sts_seg.runtime import import_keras

if TYPE_CHECKING:
    keras = import_keras()


def kernel_schedule(cfg: ModelConfig) -> tuple[list[int], list[int]]:
    """Square kernel sizes per encoder level and per decoder step.

    ``shrink`` (original): start at ``base_kernels[0]``, 2 less per level, floor 3 (a base of 1
    stays 1); ``constant``: ``base_kernels[0]`` everywhere. The decoder uses the reversed
    encoder list without its first element, so (11, 11) over 8 levels gives
    ``[11, 9, 7, 5, 3, 3, 3, 3]`` and ``[3, 3, 3, 5, 7, 9, 11]``.
    """
    k = cfg.base_kernels[0]
    enc: list[int] = []
    for _ in range(cfg.num_layers):
        enc.append(k)
        if cfg.kernel_schedule == "shrink":
            k = max(k - 2, min(3, k))
    return enc, enc[::-1][1:]


def dilation_schedule(cfg: ModelConfig) -> tuple[list[int], list[int]]:
    """Dilation per encoder level and decoder step: ``dilation[0]``, 1 less per level, floor 1."""
    d = cfg.dilation[0]
    enc: list[int] = []
    for _ in range(cfg.num_layers):
        enc.append(d)
        d = max(d - 1, 1)
    return enc, enc[::-1][1:]


def filters_schedule(cfg: ModelConfig) -> list[int]:
    """Filters per level: ``base_filters · 2^i`` (the last entry is the bridge)."""
    return [cfg.base_filters * 2**i for i in range(cfg.num_layers)]


def dropout_schedule(cfg: ModelConfig) -> list[float]:
    """Dropout rate per level: ``dropout_rate · i`` (decoder step j uses level num_layers−2−j)."""
    return [cfg.dropout_rate * i for i in range(cfg.num_layers)]


def _norm(cfg: ModelConfig, name: str) -> keras.layers.Layer | None:
    keras = import_keras()

    if cfg.normalization == "batch":
        # momentum 0.9 (Keras default 0.99): the moving statistics used at inference catch up within
        # ~20 steps instead of ~200, which matters for short CPU trainings of a few hundred steps
        return keras.layers.BatchNormalization(momentum=0.9, name=name)
    if cfg.normalization == "group":
        return keras.layers.GroupNormalization(groups=cfg.norm_groups, name=name)
    return None


def _block(
    x: keras.KerasTensor,
    cfg: ModelConfig,
    prefix: str,
    filters: int,
    kernel: int,
    dilation: int,
    rate: float,
) -> keras.KerasTensor:
    """conv → [norm] → dropout → conv → [norm]; the activation sits inside each conv."""
    keras = import_keras()

    for idx in (1, 2):
        x = keras.layers.Conv2D(
            filters,
            (kernel, kernel),
            activation=cfg.activation,
            kernel_initializer="he_normal",
            dilation_rate=(dilation, dilation),
            padding="same",
            name=f"{prefix}_conv{idx}",
        )(x)
        norm = _norm(cfg, f"{prefix}_norm{idx}")
        if norm is not None:
            x = norm(x)
        if idx == 1:
            x = keras.layers.Dropout(rate, name=f"{prefix}_drop")(x)
    return x


def head_bias(cfg: ModelConfig) -> str | keras.initializers.Initializer:
    """Head bias so that the initial softmax gives each foreground class ``foreground_prior``.

    Tumour covers ~1 % of the pixels; starting at p = 0.5 everywhere wastes the first epochs on
    learning "background" (the prior-probability init of Lin et al., 2017). ``None`` keeps zeros.
    """
    keras = import_keras()

    prior = cfg.foreground_prior
    if prior is None:
        return "zeros"
    k = cfg.num_classes - 1
    bg = 1.0 - k * prior
    return keras.initializers.Constant([0.0] + [math.log(prior / bg)] * k)


def build_unet(cfg: ModelConfig) -> keras.Model:
    """Build an uncompiled FlexUNet: ``(B, S, S, image_channels)`` → ``(B, S, S, num_classes)``."""
    if cfg.base_kernels[0] != cfg.base_kernels[1]:
        raise ConfigError(
            f"model.base_kernels {list(cfg.base_kernels)}: FlexUNet uses square kernels; "
            f"give two equal sizes, e.g. [{cfg.base_kernels[0]}, {cfg.base_kernels[0]}]"
        )
    keras = import_keras()

    enc_k, dec_k = kernel_schedule(cfg)
    enc_d, dec_d = dilation_schedule(cfg)
    filters = filters_schedule(cfg)
    rates = dropout_schedule(cfg)
    last = cfg.num_layers - 1

    # fully convolutional: any height and width that are multiples of 2^(num_layers-1)
    inputs = keras.Input((None, None, cfg.image_channels), name="image")
    x = inputs
    if cfg.input_normalize:
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(x)

    skips: list[keras.KerasTensor] = []
    for i in range(cfg.num_layers):
        prefix = "bridge" if i == last else f"enc{i}"
        x = _block(x, cfg, prefix, filters[i], enc_k[i], enc_d[i], rates[i])
        skips.append(x)
        if i < last:
            x = keras.layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"enc{i}_pool")(x)

    for j in range(cfg.num_layers - 1):
        f = cfg.num_layers - 2 - j
        up = keras.layers.Conv2DTranspose(filters[f], (2, 2), strides=(2, 2), padding="same", name=f"dec{j}_up")(x)
        x = keras.layers.Concatenate(name=f"dec{j}_concat")([up, skips[f]])
        x = _block(x, cfg, f"dec{j}", filters[f], dec_k[j], dec_d[j], rates[f])

    logits = keras.layers.Conv2D(cfg.num_classes, (1, 1), bias_initializer=head_bias(cfg), name="head")(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="softmax")(logits)
    return keras.Model(inputs, outputs, name=cfg.name)
