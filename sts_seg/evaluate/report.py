"""The evaluation report: a typed :class:`EvalReport` and the files it is written as.

``per_patient.csv``, ``baseline_per_patient.csv`` (the headline PET rule),
``baseline_<rule>_per_patient.csv`` (the other rule), ``per_image.csv``, ``summary.json`` (stats,
empty counts, notes, config), the original's two-column ``evaluation.csv`` and ``overlays/``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sts_seg.core import pictures
from sts_seg.evaluate.score import Scores
from sts_seg.io import png
from sts_seg.io.atomic import staged_dir
from sts_seg.io.tables import write_json, write_rows, write_seed_csv

PATIENT_COLUMNS = (
    "case",
    "patient",
    "dice",
    "iou",
    "precision",
    "recall",
    "hd95_mm",
    "assd_mm",
    "gt_volume_mm3",
    "pred_volume_mm3",
    "fp_volume_mm3",
    "fn_volume_mm3",
)

#: (tag, image name, image, truth, prediction) of one overlay
Overlay = tuple[str, str, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class EvalReport:
    """What ``evaluate`` found: per-patient 3D scores (the headline), the baseline's, per-image 2D."""

    output: Path
    split: str
    header: dict[str, Any]
    cases: list[str]
    per_patient: Scores | None
    baseline: Scores | None
    per_image: Scores | None
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    other_baseline: Scores | None = None
    """The baseline rule that is not the headline one (``eval.baseline.mode``): both are always scored."""

    @property
    def other_rule(self) -> str:
        """``suv`` or ``fraction``: the rule of :attr:`other_baseline`."""
        return "fraction" if (self.settings.get("baseline") or {}).get("mode") == "suv" else "suv"

    def summary(self) -> dict[str, Any]:
        """The content of summary.json."""

        def part(s: Scores | None) -> Any:
            return s.stats if s is not None else None

        return {
            **self.header,
            "cases": self.cases,
            "per_patient_3d": part(self.per_patient),
            "per_patient_3d_empty": self.per_patient.empty if self.per_patient else None,
            "per_image_2d": part(self.per_image),
            "per_image_2d_empty": self.per_image.empty if self.per_image else None,
            "baseline": {"method": self.settings.get("baseline"), "per_patient_3d": self.baseline.stats}
            if self.baseline
            else None,
            "other_baseline": {"rule": self.other_rule, "per_patient_3d": self.other_baseline.stats}
            if self.other_baseline
            else None,
            **{k: v for k, v in self.settings.items() if k != "baseline"},
            "notes": self.notes,
        }


def seed_pairs(report: EvalReport) -> list[tuple[str, float]]:
    """The original's ``evaluation.csv`` lines (tumour Dice, IoU, HD95, ASSD; 3D then 2D)."""
    out = []
    for scope, s in (("3d", report.per_patient), ("2d", report.per_image)):
        if s is not None and s.rows:
            out += [
                (f"tumour_dice_{scope}_mean", s.stats["dice"].mean),
                (f"tumour_dice_{scope}_median", s.stats["dice"].median),
                (f"iou_{scope}_mean", s.stats["iou"].mean),
                (f"hd95_mm_{scope}_median", s.stats["hd95_mm"].median),
                (f"assd_mm_{scope}_median", s.stats["assd_mm"].median),
            ]
    if report.baseline is not None:
        out.append(("baseline_tumour_dice_3d_mean", report.baseline.dice.mean))
    if report.other_baseline is not None:
        out.append((f"baseline_{report.other_rule}_tumour_dice_3d_mean", report.other_baseline.dice.mean))
    return [(k, float(v) if v is not None else math.nan) for k, v in out]


def write_overlays(folder: Path, picks: list[Overlay]) -> None:
    """Each PNG ``<tag>_<name>.png``: the input next to the outlines (truth green, prediction red)."""
    folder.mkdir(parents=True, exist_ok=True)
    for tag, name, image, truth, pred in picks:
        tile = pictures.grid([[image, pictures.draw_outlines(image, truth, pred)]], scale=2)
        png.write_image(folder / f"{tag}_{name}.png", tile)


def write_report(report: EvalReport, force: bool, overlays: list[Overlay] = ()) -> None:
    """All report files into ``report.output``, built in a temporary folder and renamed in."""
    with staged_dir(report.output, force, "evaluation folder") as tmp:
        if report.per_image is not None and report.per_image.rows:
            write_rows(tmp / "per_image.csv", report.per_image.rows, ("image", *PATIENT_COLUMNS, "z"))
        if report.per_patient is not None and report.per_patient.rows:
            write_rows(tmp / "per_patient.csv", report.per_patient.rows, PATIENT_COLUMNS)
        if report.baseline is not None:
            write_rows(tmp / "baseline_per_patient.csv", report.baseline.rows, PATIENT_COLUMNS)
        if report.other_baseline is not None:
            name = f"baseline_{report.other_rule}_per_patient.csv"
            write_rows(tmp / name, report.other_baseline.rows, PATIENT_COLUMNS)
        write_json(tmp / "summary.json", report.summary())
        write_seed_csv(tmp / "evaluation.csv", seed_pairs(report))
        if overlays:
            write_overlays(tmp / "overlays", overlays)
