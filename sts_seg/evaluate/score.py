"""Pure scoring: label volumes in, metric rows and summaries out (no file I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sts_seg.metrics import SUMMARY_KEYS, Stats, case_metrics, empty_counts, summarize
from sts_seg.metrics.lesion import Connectivity

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Scores:
    """Per-case rows (one dict per patient or image) and their summary per metric."""

    rows: Rows
    stats: dict[str, Stats]
    empty: dict[str, int]

    @property
    def dice(self) -> Stats:
        return self.stats["dice"]


def scores(rows: Rows) -> Scores:
    """Summaries of ``rows`` (NaN-aware, with empty-mask counts)."""
    return Scores(rows, summarize(rows, SUMMARY_KEYS), empty_counts(rows))


def case_row(case: str, patient: str, pred: np.ndarray, truth: np.ndarray, spacing: Sequence[float], empty: str,
             hd95: str = "max_directed", connectivity: Connectivity = 26) -> dict[str, Any]:  # fmt: skip
    """The 3D metrics of one case (``pred`` and ``truth`` on its grid, ``spacing`` mm; ``connectivity``
    of the lesion FP/FN volumes: 6, 18 or 26)."""
    return {"case": case, "patient": patient, **case_metrics(pred, truth, spacing, empty, hd95, connectivity)}


def slice_rows(case: str, patient: str, slices: Sequence[tuple[str, int]], truth: np.ndarray, pred: np.ndarray,
               spacing: Sequence[float], empty: str, hd95: str = "max_directed",
               connectivity: Connectivity = 26) -> Rows:  # fmt: skip
    """2D metrics of the listed ``(image name, z)`` slices of one case's volumes."""
    return [
        {
            "image": name,
            "case": case,
            "patient": patient,
            "z": z,
            **case_metrics(pred[z], truth[z], spacing, empty, hd95, connectivity),
        }
        for name, z in slices
    ]


def score_volumes(
    truth: Mapping[str, np.ndarray],
    pred: Mapping[str, np.ndarray],
    spacing: Sequence[float],
    empty: str,
    hd95: str = "max_directed",
) -> Scores:
    """One row per patient: 3D metrics of ``pred[pid]`` against ``truth[pid]`` (same shape, mm spacing)."""
    rows = [{"patient": pid, **case_metrics(pred[pid], truth[pid], spacing, empty, hd95)} for pid in sorted(truth)]
    return scores(rows)


def score_slices(
    records: Sequence[tuple[str, str, int | str]],
    truth: Mapping[str, np.ndarray],
    pred: Mapping[str, np.ndarray],
    spacing: Sequence[float],
    empty: str,
    hd95: str = "max_directed",
    connectivity: Connectivity = 26,
) -> Scores:
    """One row per image: ``records`` are ``(image, patient, z)``; ``truth``/``pred`` keyed by image."""
    rows = [
        {
            "image": name,
            "patient": pid,
            "z": z,
            **case_metrics(pred[name], truth[name], spacing, empty, hd95, connectivity),
        }
        for name, pid, z in records
    ]
    return scores(rows)


def pick_overlays(per_image: Rows, n: int) -> list[tuple[str, str]]:
    """``[(tag, image)]``: the ``n`` best and ``n`` worst tumour slices by Dice (best1, worst1, ...)."""
    scored = [(r["dice"], r["image"]) for r in per_image if r["gt_volume_mm3"] > 0 and not np.isnan(r["dice"])]
    scored.sort()
    worst, best = scored[:n], scored[::-1][:n]
    picks = [(f"best{i + 1}", name) for i, (_, name) in enumerate(best)]
    return picks + [(f"worst{i + 1}", name) for i, (_, name) in enumerate(worst) if name not in {b for _, b in best}]
