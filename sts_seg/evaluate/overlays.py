"""The best and worst slices drawn as overlays, collected while cases stream past: only the slices
that can still be among the ``n`` best or ``n`` worst keep their pixels, so memory holds at most
``2 n`` slices whatever the size of the split."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sts_seg.evaluate.gather import Slice
from sts_seg.evaluate.report import Overlay
from sts_seg.evaluate.score import Rows, pick_overlays


class OverlayPool:
    """Candidates for :func:`~sts_seg.evaluate.score.pick_overlays`: tumour slices with a Dice."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._keys: list[tuple[float, str]] = []
        self._pixels: dict[str, Slice] = {}

    def offer(self, rows: Rows, pngs: Mapping[str, Slice]) -> None:
        """Per-image ``rows`` (with ``image``, ``dice``, ``gt_volume_mm3``) and their PNG slices."""
        for r in rows:
            name = r["image"]
            if self.n and name in pngs and r["gt_volume_mm3"] > 0 and not np.isnan(r["dice"]):
                self._keys.append((r["dice"], name))
                self._pixels[name] = pngs[name]
        ranked = sorted(self._keys)
        keep = {name for _, name in ranked[: self.n] + ranked[-self.n :]} if self.n else set()
        self._pixels = {k: v for k, v in self._pixels.items() if k in keep}

    def overlays(self, per_image: Rows) -> list[Overlay]:
        """``(tag, name, image, truth, prediction)`` of the picked slices."""
        picks = pick_overlays(per_image, self.n)
        return [(tag, name, *self._pixels[name]) for tag, name in picks if name in self._pixels]
