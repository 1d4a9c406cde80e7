"""Section ``augment``: the typed ops written offline and applied on the fly."""

from __future__ import annotations

from sts_seg.augment.ops import AugmentOp
from sts_seg.config.base import Section


class AugmentConfig(Section):
    """``offline``: files written by ``stsseg augment``; ``online``: random ops during training."""

    seed: int = 137
    """Seed of the offline outputs (each output draws from [seed, source, variant])."""
    offline: tuple[AugmentOp, ...] = ()
    """Ops written to disk by `stsseg augment` (train split only)."""
    online: tuple[AugmentOp, ...] = ()
    """Ops applied on the fly during training, each with probability `p`."""
