"""A case's volumes -> the images the model sees, and the model's output -> the native grid.

This is the one place that knows how an axial slice of CT (HU) and PET (SUV) becomes a uint8
``(S, S, C)`` canvas image (channel windows, then geometry, then quantisation) and how a canvas
label map or probability map goes back to the slice's native ``(h, w)``. ``prepare``, ``infer``
and ``evaluate`` all use it, so the three can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sts_seg.core.geometry import Mode, Placement, placement_for, to_canvas, to_native
from sts_seg.core.intensity import Window, quantize, render_slice


@dataclass(frozen=True)
class SliceSpec:
    """How native slices map to model inputs.

    ``image_mode``: ``"channels"`` or ``"seed_sum"``; ``windows``: ``(modality, low, high)``
    per channel; ``geometry``: ``"pad"`` or ``"resize"``; ``size``: canvas side in px.
    """

    image_mode: str
    windows: tuple[Window, ...]
    geometry: Mode
    size: int

    def placement(self, native_shape: Sequence[int]) -> Placement:
        """Placement of a native ``(h, w)`` slice on this canvas."""
        return placement_for((int(native_shape[0]), int(native_shape[1])), self.size, self.geometry)

    def image(self, ct: np.ndarray, pet: np.ndarray, p: Placement) -> np.ndarray:
        """One native ``(h, w)`` CT/PET slice -> uint8 ``(S, S, C)``."""
        return quantize(to_canvas(render_slice(ct, pet, self.image_mode, self.windows), p))

    def mask(self, label: np.ndarray, p: Placement) -> np.ndarray:
        """One native ``(h, w)`` label slice -> uint8 ``(S, S)`` tumour mask (label > 0 -> 1)."""
        return to_canvas((np.asarray(label) > 0).astype(np.uint8), p, is_mask=True)


def volume_images(
    ct: np.ndarray, pet: np.ndarray, spec: SliceSpec, zs: Sequence[int] | None = None
) -> tuple[np.ndarray, Placement]:
    """``[z, y, x]`` CT and PET -> ``(N, S, S, C)`` uint8 images of slices ``zs`` (default all)."""
    p = spec.placement(ct.shape[1:])
    zs = range(ct.shape[0]) if zs is None else zs
    images = [spec.image(ct[z], pet[z], p) for z in zs]
    if not images:
        return np.zeros((0, spec.size, spec.size, len(spec.windows) or 1), np.uint8), p
    return np.stack(images), p


def labels_to_native(labels: np.ndarray, p: Placement) -> np.ndarray:
    """``(N, S, S)`` canvas label maps -> ``(N, h, w)`` on the native grid."""
    return np.stack([to_native(lab, p) for lab in labels]) if len(labels) else np.zeros((0, p.native_h, p.native_w))
