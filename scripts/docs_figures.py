"""Refresh the README's figures and results table from a finished ``make demo`` (outputs under demo/).

``python scripts/docs_figures.py`` writes docs/curves.png, docs/test_slices.png and prints the
per-patient markdown table (model vs baseline) to paste into README.md.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np

from sts_seg.core import pictures as viz
from sts_seg.io import png

ROOT = Path(__file__).resolve().parents[1]
DEMO, DOCS = ROOT / "demo", ROOT / "docs"


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as fh:
        return {r["patient"]: r for r in csv.DictReader(fh)}


def _f(v: str, spec: str = ".3f") -> str:
    return format(float(v), spec) if v not in ("", None) else "–"


def table() -> str:
    model, base = _rows(DEMO / "eval" / "per_patient.csv"), _rows(DEMO / "eval" / "baseline_per_patient.csv")
    lines = [
        "| patient | model Dice | baseline Dice | model IoU | model HD95 (mm) | model ASSD (mm) "
        "| tumour (mL) | predicted (mL) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for pid, r in model.items():
        vols = f"{float(r['gt_volume_mm3']) / 1000:.1f} | {float(r['pred_volume_mm3']) / 1000:.1f}"
        lines.append(
            f"| {pid} | **{_f(r['dice'])}** | {_f(base[pid]['dice'])} | {_f(r['iou'])} | {_f(r['hd95_mm'], '.1f')} | "
            f"{_f(r['assd_mm'], '.1f')} | {vols} |"
        )
    s = json.loads((DEMO / "eval" / "summary.json").read_text())
    m, b = s["per_patient_3d"]["dice"], s["baseline"]["per_patient_3d"]["dice"]
    lines.append(f"| **mean** | **{m['mean']:.3f}** | {b['mean']:.3f} | | | | | |")
    return "\n".join(lines)


def slices_figure(n: int = 4) -> None:
    """input | truth (green) | prediction (yellow) for the test slices with the largest tumours."""
    with open(DEMO / "eval" / "per_image.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if float(r["gt_volume_mm3"] or 0) > 0]
    rows.sort(key=lambda r: -float(r["gt_volume_mm3"]))
    picks = rows[:: max(1, len(rows) // n)][:n]
    tiles = []
    for r in picks:
        name = r["image"]
        img = png.read_image(DEMO / "dataset" / "test" / "images" / f"{name}.png")
        truth = png.read_mask(DEMO / "dataset" / "test" / "masks" / f"{name}.png")
        pred = png.read_mask(DEMO / "infer" / f"{name}.png")
        crop = np.s_[:, :]  # the canvas holds the whole slice (112 px for the phantom)
        tiles.append(
            [
                img[crop],
                viz.blend(img, truth, color=viz.GREEN)[crop],
                viz.blend(img, pred)[crop],
                viz.draw_outlines(img, truth, pred)[crop],
            ]
        )
    png.write_image(DOCS / "test_slices.png", viz.grid(tiles, scale=2))


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    shutil.copy(DEMO / "run" / "plots" / "curves.png", DOCS / "curves.png")
    slices_figure()
    print(table())


if __name__ == "__main__":
    main()
