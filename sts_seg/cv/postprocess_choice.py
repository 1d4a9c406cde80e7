"""Post-processing chosen as nnU-Net does: each candidate is applied to the out-of-fold predictions
and kept only if it raises the mean out-of-fold per-patient 3D Dice (pure numpy; no file I/O).

Candidates: ``none``, keep the largest 3D component, and drop components under a volume (mL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from sts_seg.core.postprocess import postprocess
from sts_seg.metrics.overlap import confusion_counts, dice

#: component-volume thresholds tried, in mL
MIN_VOLUMES_ML: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0)


def candidates(min_volumes_ml: Sequence[float] = MIN_VOLUMES_ML) -> list[tuple[str, dict[str, Any]]]:
    """``[(name, postprocess settings)]``, ``none`` first (ties keep the earlier, simpler one)."""
    out: list[tuple[str, dict[str, Any]]] = [("none", {"keep_largest": None, "min_volume_ml": 0.0})]
    out.append(("keep_largest", {"keep_largest": 1, "min_volume_ml": 0.0}))
    out += [(f"min_volume_{v:g}ml", {"keep_largest": None, "min_volume_ml": float(v)}) for v in min_volumes_ml]
    return out


def candidate_dice(
    cases: Iterable[tuple[str, np.ndarray, np.ndarray, Sequence[float]]],
    options: Sequence[tuple[str, dict[str, Any]]],
) -> dict[str, dict[str, float]]:
    """``{candidate: {case: Dice}}`` for ``(case, pred, truth, spacing mm)`` volumes, one at a
    time (a case whose truth and prediction are both empty scores 1: nothing to find, nothing found)."""
    table: dict[str, dict[str, float]] = {name: {} for name, _ in options}
    for case, pred, truth, spacing in cases:
        for name, settings in options:
            cleaned = postprocess(pred, spacing, **settings)
            table[name][case] = dice(confusion_counts(cleaned, truth), "one")
    return table


def choose(table: dict[str, dict[str, float]], options: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The candidate with the highest mean Dice, if it beats ``none`` strictly; else ``none``.

    Returns ``{"chosen", "settings", "mean_dice": {candidate: mean}, "per_case": table, "gain"}``.
    """
    means = {name: float(np.mean(list(table[name].values()))) for name, _ in options}
    best = options[0][0]
    for name, _ in options[1:]:
        if means[name] > means[best] + 1e-9:
            best = name
    settings = dict(options)[best]
    return {
        "chosen": best,
        "settings": settings,
        "mean_dice": means,
        "gain": means[best] - means[options[0][0]],
        "per_case": table,
    }
