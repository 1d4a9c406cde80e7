"""Every augmentation op, and ``AugmentOp``: their union, discriminated on ``name``.

A config entry such as ``{name: rotate, p: 0.3, angles: [-10, 10]}`` validates into a
:class:`~sts_seg.augment.ops.geometric.Rotate`; an unknown name, an unknown field or a value out
of range is a validation error with a dotted path (``augment.online.0.rotate.angles.0``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sts_seg.augment.ops.base import Op, Params
from sts_seg.augment.ops.elastic import Distort, Elastic
from sts_seg.augment.ops.geometric import HFlip, Rotate, Shear, Shrink, VFlip, Zoom
from sts_seg.augment.ops.intensity import Blur, BrightnessContrast, ChannelScale, GammaOp, GaussianNoise
from sts_seg.augment.ops.radial import Barrel, Pincushion

OP_TYPES: tuple[type[Op], ...] = (
    HFlip,
    VFlip,
    Rotate,
    Zoom,
    Shrink,
    Shear,
    Barrel,
    Pincushion,
    Distort,
    Elastic,
    GammaOp,
    BrightnessContrast,
    ChannelScale,
    GaussianNoise,
    Blur,
)

AugmentOp = Annotated[
    HFlip
    | VFlip
    | Rotate
    | Zoom
    | Shrink
    | Shear
    | Barrel
    | Pincushion
    | Distort
    | Elastic
    | GammaOp
    | BrightnessContrast
    | ChannelScale
    | GaussianNoise
    | Blur,
    Field(discriminator="name"),
]

#: op name -> class
OPS: dict[str, type[Op]] = {cls.model_fields["name"].default: cls for cls in OP_TYPES}


def is_augmented_name(name: str) -> bool:
    """True when a file name (or stem) starts with the output prefix of any op."""
    return any(cls.matches(name) for cls in OP_TYPES)


__all__ = ["OPS", "OP_TYPES", "AugmentOp", "Op", "Params", "is_augmented_name"]
