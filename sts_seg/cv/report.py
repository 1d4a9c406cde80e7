"""The out-of-fold report: every case scored (3D, on its own grid) by the fold model that never
saw its patient, next to the PET baseline, with and without test-time flips; the post-processing
chosen on these predictions; the statistics. Files in ``<cv>/cv/``: ``per_patient.csv``,
``summary.json``, ``postprocess.json`` and ``per_patient.png``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sts_seg.config import Config
from sts_seg.core.postprocess import postprocess
from sts_seg.cv.fold import tta_variants
from sts_seg.cv.postprocess_choice import candidate_dice, candidates, choose
from sts_seg.cv.stats import describe, paired
from sts_seg.errors import DataError
from sts_seg.evaluate.baseline import configured_baseline
from sts_seg.evaluate.score import case_row
from sts_seg.evaluate.volumes import plan_volumes, volume_predictions
from sts_seg.io.atomic import staged_dir, staged_file
from sts_seg.io.tables import write_json, write_rows
from sts_seg.modelsource import POSTPROCESS, REPORT, Fold, fold_dir
from sts_seg.sources import Source

_SHOWN = ("dice", "iou", "precision", "recall", "hd95_mm", "assd_mm", "gt_volume_mm3", "pred_volume_mm3")


@dataclass
class CvReport:
    """``rows``: one per case (model with the configured TTA, raw; baseline; fold); ``summary``:
    what ``summary.json`` holds; ``postprocess``: what ``postprocess.json`` holds."""

    folder: Path
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    postprocess: dict[str, Any]


def _score_fold(cfg: Config, source: Source, directory: Path, k: int, main: str, options: list,
                test_cases: list[str]) -> tuple[list, dict]:  # fmt: skip
    """Rows of one fold's test cases (all TTA variants, each must be predicted) and its post-processing Dice table."""
    e, hd = cfg.eval.empty_policy, cfg.eval.hd95
    rows: dict[str, dict[str, Any]] = {}
    table: dict[str, dict[str, float]] = {}
    for tta in tta_variants(cfg):
        pred = volume_predictions(directory / "predictions" / tta)
        if pred is None:
            raise DataError(f"{directory / 'predictions' / tta}: no predictions; rerun 'stsseg cv' with --force")
        for c in plan_volumes(pred, source, cfg, expected=test_cases).cases:
            row = rows.setdefault(c.case, {"case": c.case, "patient": c.patient, "fold": k})
            m = case_row(c.case, c.patient, c.pred, c.truth, c.spacing, e, hd)
            row[f"dice_tta_{tta}"] = m["dice"]
            if tta != main:
                continue
            row.update({key: m[key] for key in _SHOWN if key in m})
            b = cfg.eval.baseline
            base = case_row(c.case, c.patient, configured_baseline(c.pet, b), c.truth, c.spacing, e, hd)
            row.update({f"baseline_{key}": base[key] for key in _SHOWN if key in base})
            other = case_row(c.case, c.patient, configured_baseline(c.pet, b, b.other), c.truth, c.spacing, e, hd)
            row.update({f"baseline_{b.other}_{key}": other[key] for key in ("dice", "hd95_mm")})
            row["_hd95_by_candidate"] = {
                name: case_row(c.case, c.patient, postprocess(c.pred, c.spacing, **settings), c.truth, c.spacing, e,
                               hd)["hd95_mm"]
                for name, settings in options
            }  # fmt: skip
            part = candidate_dice([(c.case, c.pred, c.truth, c.spacing)], options)
            for name, per_case in part.items():
                table.setdefault(name, {}).update(per_case)
    return list(rows.values()), table


def _plot(rows: Sequence[dict[str, Any]], path: Path, label: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["case"] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(rows) + 2), 3.6))
    ax.bar(x - 0.2, [r["dice"] for r in rows], 0.4, label="model (out of fold)")
    ax.bar(x + 0.2, [r.get("baseline_dice", np.nan) for r in rows], 0.4, label=f"PET baseline ({label})")
    ax.set(ylim=(0, 1), ylabel="3D tumour Dice", title="per-patient Dice, leave-out folds")
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with staged_file(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def _summary(rows: list[dict[str, Any]], main: str, choice: dict, cfg: Config, seed: int) -> dict[str, Any]:
    def col(key: str) -> list[float]:
        return [float(r.get(key, np.nan)) for r in rows]

    rng = lambda: np.random.default_rng(seed)  # noqa: E731 - the same resamples for every statistic
    model = {key: describe(col(key), rng=rng()) for key in ("dice", "iou", "hd95_mm", "assd_mm")}
    base = {key: describe(col(f"baseline_{key}"), rng=rng()) for key in ("dice", "iou", "hd95_mm", "assd_mm")}
    variants = tta_variants(cfg)
    tta = {v: describe(col(f"dice_tta_{v}"), rng=rng()) for v in variants}
    effect = paired(col("dice_tta_flips"), col("dice_tta_none"), rng=rng()) if len(variants) > 1 else None
    return {
        "cases": len(rows),
        "patients": len({r["patient"] for r in rows}),
        "tta": main,
        "model": model,
        "baseline": base,
        "baseline_settings": cfg.eval.baseline.model_dump(),
        "model_vs_baseline": paired(col("dice"), col("baseline_dice"), rng=rng()),
        "other_baseline": {
            "rule": cfg.eval.baseline.other,
            "dice": describe(col(f"baseline_{cfg.eval.baseline.other}_dice"), rng=rng()),
            "model_vs": paired(col("dice"), col(f"baseline_{cfg.eval.baseline.other}_dice"), rng=rng()),
        },
        "tta_effect": {"dice": tta, "flips_vs_none": effect},
        "postprocess": {k: choice[k] for k in ("chosen", "settings", "gain", "mean_dice")},
        "hd95_convention": cfg.eval.hd95,
        "empty_policy": cfg.eval.empty_policy,
    }


def write_cv_report(cfg: Config, source: Source, cv_dir: Path, folds: Sequence[Fold], *, seed: int,
                    fold_notes: Sequence[dict]) -> CvReport:  # fmt: skip
    """Score every fold's predictions and write ``<cv_dir>/cv/`` (replaced whole)."""
    main = cfg.infer.tta
    options = candidates()
    rows: list[dict[str, Any]] = []
    table: dict[str, dict[str, float]] = {}
    for k in range(len(folds)):
        test_cases = list(fold_notes[k]["test_cases"])
        fold_rows, fold_table = _score_fold(cfg, source, fold_dir(cv_dir, k), k, main, options, test_cases)
        rows += fold_rows
        for name, per_case in fold_table.items():
            table.setdefault(name, {}).update(per_case)
    rows.sort(key=lambda r: r["case"])
    choice = choose(table, options)
    for r in rows:
        r["dice_postprocessed"] = choice["per_case"][choice["chosen"]][r["case"]]
        r["hd95_postprocessed_mm"] = r.pop("_hd95_by_candidate")[choice["chosen"]]
    summary = _summary(rows, main, choice, cfg, seed)
    summary["folds"] = [dict(n) for n in fold_notes]
    decision = {
        "chosen": choice["chosen"],
        "settings": choice["settings"],
        "gain": choice["gain"],
        "mean_dice": choice["mean_dice"],
        "per_case": choice["per_case"],
        "tta": main,
        "rule": "a candidate is kept only if it raises the mean out-of-fold 3D Dice over 'none'",
    }
    folder = Path(cv_dir) / REPORT
    with staged_dir(folder, force=True, what="cv report") as tmp:
        first = ["case", "patient", "fold", "dice", "baseline_dice", f"baseline_{cfg.eval.baseline.other}_dice"]
        write_rows(tmp / "per_patient.csv", rows, first)
        write_json(tmp / "summary.json", summary)
        write_json(tmp / POSTPROCESS, decision)
        _plot(rows, tmp / "per_patient.png", cfg.eval.baseline.label(cfg.eval.baseline.mode))
    return CvReport(folder, rows, summary, decision)
