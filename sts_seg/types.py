"""Shared type aliases. Arrays: images ``(H, W, C)`` uint8 or float32, masks ``(H, W)`` uint8 labels,
volumes ``(Z, Y, X)`` on the native grid."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Image2D = np.ndarray  #: (H, W, C), uint8 0..255 or float32
Mask2D = np.ndarray  #: (H, W), uint8 class indices
Volume3D = np.ndarray  #: (Z, Y, X), native grid

#: progress callback: ``progress(done, total, label)``; the CLI renders it with rich
ProgressFn = Callable[[int, int, str], None]


def no_progress(done: int, total: int, label: str) -> None:
    """The default progress callback: do nothing."""
