"""Predicting images of any size: each is placed as the model was trained (``pad``: centred on
a canvas of at least the training size, grown to a multiple of the UNet's divisor; ``resize``:
resampled to the training canvas), predicted in batches of equal canvases, and mapped back to
its own size. Nothing is cropped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from sts_seg.core.geometry import fit_channels, to_canvas, to_native
from sts_seg.core.slicing import SliceSpec
from sts_seg.infer.predictor import Predictor
from sts_seg.progress import ProgressFn, no_progress


def fit_batch(images: np.ndarray, channels: int) -> np.ndarray:
    """``(N, H, W, c)`` -> ``(N, H, W, channels)`` (grey repeated, as the training data loader does)."""
    if images.shape[-1] == channels:
        return images
    return np.stack([fit_channels(img, channels) for img in images]) if len(images) else images


def predict_images(
    predictor: Predictor, spec: SliceSpec, images: Sequence[np.ndarray], progress: ProgressFn = no_progress
) -> list[np.ndarray]:
    """uint8 ``(h, w, c)`` images -> uint8 ``(h, w)`` label maps, each at its image's own size."""
    placements = [spec.inference_placement(img.shape[:2]) for img in images]
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, p in enumerate(placements):
        groups[(p.canvas_h, p.canvas_w)].append(i)
    out: list[np.ndarray | None] = [None] * len(images)
    done = 0
    for idx in groups.values():
        batch = np.stack([to_canvas(fit_channels(images[i], predictor.channels), placements[i]) for i in idx])
        for i, lab in zip(idx, predictor.labels(batch), strict=True):
            out[i] = to_native(lab, placements[i])
        done += len(idx)
        progress(done, len(images), "")
    return out  # type: ignore[return-value]
