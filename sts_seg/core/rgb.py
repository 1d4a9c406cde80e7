"""RGB mask colours <-> class labels (the original project's black/yellow masks).

:class:`ColourMap` holds the ``((r, g, b), label)`` pairs and the matching rule: ``exact``
refuses a colour that is not in the map, ``nearest`` maps every colour to the nearest entry
(the original's rule, which thresholds interpolated colours half way). :data:`DEFAULT_RGB_MAP`
is the only definition of the default (background black, tumour yellow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Rgb = tuple[int, int, int]
RgbMap = tuple[tuple[Rgb, int], ...]

DEFAULT_RGB_MAP: RgbMap = (((0, 0, 0), 0), ((255, 255, 0), 1))


def _codes(rgb: np.ndarray) -> np.ndarray:
    flat = rgb[..., :3].reshape(-1, 3).astype(np.int32)
    return (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]


@dataclass(frozen=True)
class ColourMap:
    """Colour -> class: ``pairs`` and the ``match`` rule (``"exact"`` or ``"nearest"``)."""

    pairs: RgbMap = DEFAULT_RGB_MAP
    match: str = "exact"

    def unmapped(self, rgb: np.ndarray) -> list[tuple[Rgb, int]]:
        """``[((r, g, b), pixels)]`` of the colours of ``(H, W, 3)`` not in the map, most frequent first."""
        codes = _codes(rgb)
        known = np.array([(r << 16) | (g << 8) | b for (r, g, b), _ in self.pairs], dtype=np.int32)
        values, counts = np.unique(codes[~np.isin(codes, known)], return_counts=True)
        order = np.argsort(-counts, kind="stable")
        return [
            ((int(v) >> 16 & 255, int(v) >> 8 & 255, int(v) & 255), int(c))
            for v, c in zip(values[order], counts[order], strict=True)
        ]

    def labels(self, rgb: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` -> ``(H, W)`` uint8 labels; ValueError naming an unmapped colour (``exact``)."""
        if self.match == "exact":
            unknown = self.unmapped(rgb)
            if unknown:
                (colour, count), more = unknown[0], len(unknown) - 1
                extra = f", and {more} more colour{'s' * (more > 1)}" if more else ""
                raise ValueError(
                    f"colour {colour} ({count} px{extra}) is not in data.rgb_map; add it to the map, "
                    "or set data.rgb_match: nearest (the original's rule)"
                )
        colors = np.asarray([c for c, _ in self.pairs], dtype=np.int32)
        labels = np.asarray([lab for _, lab in self.pairs], dtype=np.uint8)
        diff = rgb[..., None, :3].astype(np.int32) - colors[None, None]
        return labels[np.argmin((diff * diff).sum(-1), axis=-1)]
