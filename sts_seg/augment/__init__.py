"""Augmentation: pure numpy ops applied to image and mask together.

Every op is ``sample(rng, (H, W), params) -> sampled`` (all random draws, once) plus
``apply(image, mask, sampled) -> (image, mask)`` (deterministic; one transform for both).
``registry`` names them; ``apply_online`` uses them during training; ``offline`` writes
augmented copies of the train split (``stsseg augment``).
"""

from sts_seg.augment.base import Op as Op
from sts_seg.augment.offline import AugmentResult as AugmentResult
from sts_seg.augment.offline import augment_dataset as augment_dataset
from sts_seg.augment.registry import REGISTRY as REGISTRY
from sts_seg.augment.registry import apply_online as apply_online
from sts_seg.augment.registry import get_op as get_op
from sts_seg.augment.registry import is_augmented_name as is_augmented_name
from sts_seg.augment.registry import validate_op as validate_op
