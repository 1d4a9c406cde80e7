"""Section ``augment``: the typed ops written offline and applied on the fly."""

from __future__ import annotations

from sts_seg.augment.ops import AugmentOp
from sts_seg.augment.ops.geometric import HFlip, Rotate, VFlip, Zoom
from sts_seg.augment.ops.intensity import GammaOp
from sts_seg.config.base import Section

#: the shipped recipe's on-the-fly ops (configs/sts.yaml): flips, small rotations, zoom, gamma
RECIPE_ONLINE: tuple[AugmentOp, ...] = (
    HFlip(p=0.5),
    VFlip(p=0.2),
    Rotate(p=0.3, angles=(-15, -10, -5, 5, 10, 15)),
    Zoom(p=0.2, factors=(0.9, 1.1)),
    GammaOp(p=0.2, range=(0.8, 1.25)),
)


class AugmentConfig(Section):
    """``offline``: files written by ``stsseg augment``; ``online``: random ops during training."""

    seed: int = 137
    """Seed of the offline outputs (each output draws from [seed, source, variant])."""
    offline: tuple[AugmentOp, ...] = ()
    """Ops written to disk by `stsseg augment` (train split only)."""
    online: tuple[AugmentOp, ...] = RECIPE_ONLINE
    """Ops applied on the fly during training, each with probability `p`; `[]`: none."""
