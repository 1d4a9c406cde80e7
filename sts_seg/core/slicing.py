"""A case's volumes -> the images the model sees, and the model's output -> the native grid.

This is the one place that knows how an axial slice of CT (HU) and PET (SUV) becomes a uint8
canvas image (channel windows, then geometry, then quantisation) and how a canvas label or
probability map goes back to the slice's native ``(h, w)``. ``prepare``, ``infer``, ``evaluate``
and the exported model's spec all use it, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sts_seg.core.geometry import Mode, Placement, inference_placement, placement_for, to_canvas, to_native
from sts_seg.core.intensity import Window, quantize, render_slice, window


@dataclass(frozen=True)
class SliceSpec:
    """How native slices map to model inputs.

    ``image_mode``: ``"channels"`` or ``"seed_sum"``; ``windows``: ``(modality, low, high)`` per
    channel; ``geometry``: ``"pad"`` or ``"resize"``; ``canvas``: training canvas side in px;
    ``divisor``: the UNet needs sides that are multiples of it (2^(levels-1)).
    """

    image_mode: str
    windows: tuple[Window, ...]
    geometry: Mode
    canvas: int
    divisor: int

    @property
    def channels(self) -> int:
        return 1 if self.image_mode == "seed_sum" else len(self.windows)

    def placement(self, native_shape: Sequence[int]) -> Placement:
        """Training placement of a native ``(h, w)`` slice (ValueError if ``pad`` would crop)."""
        return placement_for(native_shape, self.canvas, self.geometry)

    def inference_placement(self, native_shape: Sequence[int]) -> Placement:
        """The training placement, on a larger canvas when the slice does not fit (never crops)."""
        return inference_placement(native_shape, self.canvas, self.divisor, self.geometry)

    def image(self, ct: np.ndarray, pet: np.ndarray, p: Placement) -> np.ndarray:
        """One native ``(h, w)`` CT/PET slice -> uint8 ``(canvas_h, canvas_w, C)``."""
        return quantize(to_canvas(render_slice(ct, pet, self.image_mode, self.windows), p))

    def mask(self, label: np.ndarray, p: Placement) -> np.ndarray:
        """One native ``(h, w)`` label slice -> uint8 canvas tumour mask (label > 0 -> 1)."""
        return to_canvas((np.asarray(label) > 0).astype(np.uint8), p, is_mask=True)

    def images(self, ct: np.ndarray, pet: np.ndarray, p: Placement) -> np.ndarray:
        """``(N, h, w)`` CT/PET slices -> uint8 ``(N, canvas_h, canvas_w, C)``, equal to
        :meth:`image` slice by slice; windowed and padded in whole-stack numpy operations (pad
        geometry, ``channels`` mode), else slice by slice."""
        n = len(ct)
        if self.geometry != "pad" or self.image_mode != "channels" or n == 0:
            out = np.zeros((n, p.canvas_h, p.canvas_w, self.channels), np.uint8)
            for i in range(n):
                out[i] = self.image(ct[i], pet[i], p)
            return out
        out = np.zeros((n, p.canvas_h, p.canvas_w, self.channels), np.uint8)
        inner = out[:, p.offset_y : p.offset_y + p.native_h, p.offset_x : p.offset_x + p.native_w]
        src = {"ct": ct, "pet": pet}
        for c, (modality, lo, hi) in enumerate(self.windows):
            inner[..., c] = quantize(window(src[modality], lo, hi))
        return out

    def masks(self, label: np.ndarray, p: Placement) -> np.ndarray:
        """``(N, h, w)`` label slices -> uint8 ``(N, canvas_h, canvas_w)`` tumour masks (label > 0 -> 1)."""
        if self.geometry != "pad":
            return np.stack([self.mask(lab, p) for lab in label]) if len(label) else np.zeros(
                (0, p.canvas_h, p.canvas_w), np.uint8)  # fmt: skip
        out = np.zeros((len(label), p.canvas_h, p.canvas_w), np.uint8)
        out[:, p.offset_y : p.offset_y + p.native_h, p.offset_x : p.offset_x + p.native_w] = np.asarray(label) > 0
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "windows": [list(w) for w in self.windows]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SliceSpec:
        windows = tuple((str(m), float(lo), float(hi)) for m, lo, hi in d["windows"])
        return cls(str(d["image_mode"]), windows, d["geometry"], int(d["canvas"]), int(d["divisor"]))


def volume_images(
    ct: np.ndarray, pet: np.ndarray, spec: SliceSpec, zs: Sequence[int] | None = None
) -> tuple[np.ndarray, Placement]:
    """``[z, y, x]`` CT and PET -> ``(N, H, W, C)`` uint8 images of slices ``zs`` (default all),
    on the inference placement (every voxel kept)."""
    p = spec.inference_placement(ct.shape[1:])
    zs = list(range(ct.shape[0]) if zs is None else zs)
    return spec.images(ct[zs], pet[zs], p), p


def labels_to_native(labels: np.ndarray, p: Placement) -> np.ndarray:
    """``(N, H, W)`` canvas label maps -> ``(N, h, w)`` uint8 on the native grid."""
    out = np.zeros((len(labels), p.native_h, p.native_w), np.uint8)
    for i, lab in enumerate(labels):
        out[i] = to_native(lab, p)
    return out
