"""Choosing the training canvas so that no voxel of any slice is lost.

``model.image_size: auto`` (the default) takes the largest native slice side of the exported
patients, rounded up to a multiple of 2^(num_layers-1). An explicit size is checked: with
``pad`` a slice larger than the canvas is refused before anything is written (it would be
cropped); with ``resize`` a canvas smaller than a slice is allowed, with a note that masks are
downsampled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sts_seg.config import ModelConfig
from sts_seg.core.geometry import choose_canvas, round_up
from sts_seg.errors import ConfigError


@dataclass(frozen=True)
class Canvas:
    """The canvas side in px, why it was chosen, and notes for the user."""

    side: int
    reason: str
    notes: tuple[str, ...] = field(default=())


def _largest(shapes: Mapping[str, tuple[int, int, int]]) -> tuple[str, int, int]:
    pid = max(sorted(shapes), key=lambda p: max(shapes[p][1:]))
    return pid, shapes[pid][1], shapes[pid][2]


def plan_canvas(shapes: Mapping[str, tuple[int, int, int]], model: ModelConfig, geometry: str) -> Canvas:
    """The canvas for slices of ``shapes`` (``{patient: (z, y, x)}``) under ``model`` and ``geometry``."""
    pid, h, w = _largest(shapes)
    d = model.divisor
    need = round_up(max(h, w), d)
    if model.image_size == "auto":
        side = choose_canvas(shapes.values(), d)
        why = f"largest native slice {h}x{w} px ({pid}) rounded up to a multiple of {d} ({model.num_layers} levels)"
        return Canvas(side, f"model.image_size auto: {why}")
    side = int(model.image_size)
    if geometry == "pad" and side < max(h, w):
        raise ConfigError(
            f"{pid}: slices of {h}x{w} px do not fit model.image_size {side} with prepare.geometry pad "
            f"(they would be cropped); set model.image_size: auto (here {need}) or at least {need}, "
            "or prepare.geometry: resize"
        )
    notes = ()
    if geometry == "resize" and side < max(h, w):
        notes = (
            f"prepare.geometry resize downsamples slices of up to {h}x{w} px ({pid}) to {side} px; "
            "masks lose detail (nearest) and are scored after resampling back to the native grid",
        )
    return Canvas(side, f"model.image_size {side} (set in the config)", notes)
