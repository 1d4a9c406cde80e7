"""Load a split's image/mask pairs into memory (uint8) for training and validation.

No TensorFlow here: the arrays feed ``tf.data``. Images ``(N, H, W, C)`` uint8, masks
``(N, H, W)`` uint8 labels, all on one canvas: the dataset's own (``model.image_size: auto``) or
an explicit size the pairs are resized to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sts_seg.core.geometry import fit_channels, fit_image, fit_mask
from sts_seg.core.rgb import ColourMap
from sts_seg.errors import DataError
from sts_seg.io import png
from sts_seg.io.layout import Pair, list_pairs, training_pairs
from sts_seg.progress import ProgressFn, no_progress


@dataclass
class SliceArrays:
    names: list[str]
    images: np.ndarray  #: (N, H, W, C) uint8
    masks: np.ndarray  #: (N, H, W) uint8 class indices

    def __len__(self) -> int:
        return len(self.names)

    @property
    def tumour(self) -> np.ndarray:
        """(N,) bool: slice holds any foreground."""
        return self.masks.reshape(len(self), -1).max(axis=1) > 0


def _read(p: Pair, channels: int, num_classes: int, colours: ColourMap) -> tuple[np.ndarray, np.ndarray]:
    image, mask = png.read_image(p.image), png.read_mask(p.mask, colours)
    if image.shape[:2] != mask.shape:
        raise DataError(
            f"{p.image}: image is {image.shape[1]}x{image.shape[0]} px but its mask {p.mask.name} is "
            f"{mask.shape[1]}x{mask.shape[0]}; re-export one of them"
        )
    if mask.size and int(mask.max()) >= num_classes:
        raise DataError(
            f"{p.mask}: label {int(mask.max())} but model.num_classes is {num_classes}; fix the mask or the config"
        )
    try:
        return fit_channels(image, channels, str(p.image)), mask
    except ValueError as exc:
        raise DataError(str(exc)) from None


def load_pairs(
    pairs: Sequence[Pair],
    *,
    size: int | None,
    channels: int,
    num_classes: int,
    colours: ColourMap = ColourMap(),
    progress: ProgressFn = no_progress,
) -> SliceArrays:
    """Read every pair; ``size`` None keeps the images' own size (all must share it), an int
    resizes to ``size x size``. A bad pair is a DataError naming the file."""
    images = masks = None
    for i, p in enumerate(pairs):
        image, mask = _read(p, channels, num_classes, colours)
        if size is not None:
            image, mask = fit_image(image, size, channels), fit_mask(mask, size)
        if images is None:
            images = np.zeros((len(pairs), *image.shape), np.uint8)
            masks = np.zeros((len(pairs), *mask.shape), np.uint8)
        if image.shape != images.shape[1:]:
            raise DataError(
                f"{p.image}: {image.shape[1]}x{image.shape[0]} px, but {pairs[0].image.name} is "
                f"{images.shape[2]}x{images.shape[1]}; re-run 'stsseg prepare' or set model.image_size"
            )
        images[i], masks[i] = image, mask
        progress(i + 1, len(pairs), p.name)
    return SliceArrays([p.name for p in pairs], images, masks)


def load_split(
    root: Path,
    split: str,
    *,
    size: int | None,
    channels: int,
    num_classes: int,
    colours: ColourMap = ColourMap(),
    progress: ProgressFn = no_progress,
) -> SliceArrays:
    """All pairs of ``<root>/<split>`` (for ``train`` with the augmented batch); an empty split is a DataError."""
    pairs = training_pairs(root) if split == "train" else list_pairs(root, split)
    if not pairs:
        raise DataError(f"{Path(root) / split}: no image/mask pairs; run 'stsseg prepare' or check the folder")
    return load_pairs(pairs, size=size, channels=channels, num_classes=num_classes, colours=colours, progress=progress)
