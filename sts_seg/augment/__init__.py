"""Augmentation: pure numpy ops applied to image and mask together.

``ops`` holds the typed ops (one pydantic model each: fields, ``variants``, ``sample``,
``apply``); ``online`` applies them during training; ``offline`` writes augmented copies of the
train split (``stsseg augment``). ``fields`` and ``warp`` are the numeric kernels they share.
"""
