"""Load a split's image/mask pairs into memory (uint8), fitted to the model's input.

No TensorFlow here: the arrays feed ``tf.data`` (training), batched prediction (evaluate)
and the benchmarks alike. Images ``(N, S, S, C)`` uint8, masks ``(N, S, S)`` uint8 labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sts_seg.core.geometry import fit_image, fit_mask
from sts_seg.core.rgb import DEFAULT_RGB_MAP, RgbMap
from sts_seg.errors import DataError
from sts_seg.io import png
from sts_seg.io.layout import Pair, list_pairs
from sts_seg.progress import ProgressFn, no_progress


@dataclass
class SliceArrays:
    names: list[str]
    images: np.ndarray  #: (N, S, S, C) uint8
    masks: np.ndarray  #: (N, S, S) uint8 class indices

    def __len__(self) -> int:
        return len(self.names)

    @property
    def tumour(self) -> np.ndarray:
        """(N,) bool: slice holds any foreground."""
        return self.masks.reshape(len(self), -1).max(axis=1) > 0


def load_pairs(
    pairs: Sequence[Pair],
    size: int,
    channels: int,
    num_classes: int,
    rgb_map: RgbMap = DEFAULT_RGB_MAP,
    progress: ProgressFn = no_progress,
) -> SliceArrays:
    """Read and fit every pair; a mask label >= ``num_classes`` is a DataError naming the file."""
    images = np.zeros((len(pairs), size, size, channels), np.uint8)
    masks = np.zeros((len(pairs), size, size), np.uint8)
    for i, p in enumerate(pairs):
        try:
            images[i] = fit_image(png.read_image(p.image), size, channels, str(p.image))
        except ValueError as exc:
            raise DataError(str(exc)) from None
        m = png.read_mask(p.mask, rgb_map)
        if m.size and int(m.max()) >= num_classes:
            raise DataError(
                f"{p.mask}: label {int(m.max())} but model.num_classes is {num_classes}; fix the mask or the config"
            )
        masks[i] = fit_mask(m, size)
        progress(i + 1, len(pairs), p.name)
    return SliceArrays([p.name for p in pairs], images, masks)


def load_split(
    root: Path,
    split: str,
    size: int,
    channels: int,
    num_classes: int,
    rgb_map: RgbMap = DEFAULT_RGB_MAP,
    progress: ProgressFn = no_progress,
) -> SliceArrays:
    """All pairs of ``<root>/<split>``; an empty split is a DataError."""
    pairs = list_pairs(root, split)
    if not pairs:
        raise DataError(f"{Path(root) / split}: no image/mask pairs; run 'stsseg prepare' or check the folder")
    return load_pairs(pairs, size, channels, num_classes, rgb_map, progress)
