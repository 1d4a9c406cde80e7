"""RGB mask colours <-> class labels (the original project's black/yellow masks).

An RGB map is a tuple of ``((r, g, b), label)`` pairs; :data:`DEFAULT_RGB_MAP` is the only
definition of the default (background black, tumour yellow).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Rgb = tuple[int, int, int]
RgbMap = tuple[tuple[Rgb, int], ...]

DEFAULT_RGB_MAP: RgbMap = (((0, 0, 0), 0), ((255, 255, 0), 1))


def rgb_to_labels(rgb: np.ndarray, rgb_map: Sequence[tuple[Sequence[int], int]] = DEFAULT_RGB_MAP) -> np.ndarray:
    """Nearest colour of ``rgb_map`` for each pixel of ``(H, W, 3)`` -> ``(H, W)`` uint8 labels.

    This is the original project's rule (argmin of squared RGB distance, map order breaks ties),
    so interpolated colours are thresholded half way.
    """
    colors = np.asarray([c for c, _ in rgb_map], dtype=np.int32)
    labels = np.asarray([lab for _, lab in rgb_map], dtype=np.uint8)
    diff = rgb[..., None, :3].astype(np.int32) - colors[None, None]
    return labels[np.argmin((diff * diff).sum(-1), axis=-1)]
