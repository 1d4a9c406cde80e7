"""Compare two cv folders on the same folds: ``python scripts/compare_cv.py BASE OTHER [COLUMN]``;
``python scripts/compare_cv.py --table RUN`` prints RUN's out-of-fold table as Markdown.

Prints the mean out-of-fold Dice of each (COLUMN of per_patient.csv: dice, dice_tta_flips,
dice_postprocessed), the per-patient wins and losses of OTHER over BASE, the paired Wilcoxon
p-value, the worst HD95, and the training time; refuses folders whose folds differ.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from sts_seg.cv.stats import paired


def _rows(run: Path) -> dict[str, dict[str, str]]:
    with open(run / "cv" / "per_patient.csv") as fh:
        return {r["case"]: r for r in csv.DictReader(fh)}


def _train_minutes(run: Path) -> float:
    folds = json.loads((run / "cv" / "summary.json").read_text())["folds"]
    return sum(f["seconds"]["train"] for f in folds) / 60


def main(base: Path, other: Path, column: str = "dice") -> None:
    if (
        json.loads((base / "folds.json").read_text())["folds"]
        != json.loads((other / "folds.json").read_text())["folds"]
    ):
        sys.exit(f"{base} and {other} have different folds; compare runs on the same folds")
    a, b = _rows(base), _rows(other)
    cases = sorted(set(a) & set(b))
    x = [float(a[c][column]) for c in cases]
    y = [float(b[c][column]) for c in cases]
    p = paired(y, x, rng=np.random.default_rng(0))
    hd = [float(b[c]["hd95_mm"] or "nan") for c in cases]
    print(f"{column}: base {np.mean(x):.3f}, other {np.mean(y):.3f} (diff {np.mean(y) - np.mean(x):+.3f}); "
          f"wins {p['wins']}, losses {p['losses']}, ties {p['ties']}; Wilcoxon p = {p['wilcoxon_p']:.3g} "
          f"(n={p['wilcoxon_n']}); other's max HD95 {np.nanmax(hd):.0f} mm; "
          f"train time {_train_minutes(base):.1f} vs {_train_minutes(other):.1f} fold-minutes")  # fmt: skip
    for c, u, v in zip(cases, x, y, strict=True):
        print(f"  {c}: {u:.3f} -> {v:.3f}")


def table(run: Path) -> None:
    """The per-patient out-of-fold table and the summary lines, as the README shows them."""
    rows, summary = _rows(run), json.loads((run / "cv" / "summary.json").read_text())

    def f(v: str, nd: int = 3) -> str:
        return "-" if v in ("", None) else f"{float(v):.{nd}f}"

    b_set = summary["baseline_settings"]
    names = {"fraction": f"{b_set['fraction']:.0%} SUVmax", "suv": f"SUV ≥ {b_set['suv']:g}"}
    o = summary.get("other_baseline")
    other = o["rule"] if o else None
    head = names[b_set["mode"]]
    print(
        f"| patient | fold | model Dice | {head} Dice | "
        + (f"{names[other]} Dice | " if other else "")
        + f"model HD95 (mm) | {head} HD95 (mm) | Dice, flips | Dice, post-processed | HD95, post-processed (mm) |"
    )
    print("|---|---|---|---|" + ("---|" if other else "") + "---|---|---|---|---|")
    for c, r in rows.items():
        second = f" {f(r.get(f'baseline_{other}_dice'))} |" if other else ""
        print(f"| {c} | {r['fold']} | **{f(r['dice'])}** | {f(r['baseline_dice'])} |{second} {f(r['hd95_mm'], 1)} | "
              f"{f(r['baseline_hd95_mm'], 1)} | {f(r['dice_tta_flips'])} | {f(r['dice_postprocessed'])} | "
              f"{f(r.get('hd95_postprocessed_mm'), 1)} |")  # fmt: skip
    m, b, p = summary["model"]["dice"], summary["baseline"]["dice"], summary["model_vs_baseline"]
    below = sum(float(r["dice"]) < 0.30 for r in rows.values())
    print(f"\nmodel {m['mean']:.3f} ± {m['sd']:.3f} (95 % CI {m['ci95'][0]:.3f}-{m['ci95'][1]:.3f}); {head} "
          f"{b['mean']:.3f} ± {b['sd']:.3f} (95 % CI {b['ci95'][0]:.3f}-{b['ci95'][1]:.3f}); wins {p['wins']}, "
          f"losses {p['losses']}; Wilcoxon p = {p['wilcoxon_p']:.3g} (n={p['wilcoxon_n']}); "
          f"patients below Dice 0.30: {below}")  # fmt: skip
    if o:
        d, q = o["dice"], o["model_vs"]
        print(f"{names[other]} {d['mean']:.3f} ± {d['sd']:.3f} (95 % CI {d['ci95'][0]:.3f}-{d['ci95'][1]:.3f}); "
              f"model wins {q['wins']}, losses {q['losses']}; Wilcoxon p = {q['wilcoxon_p']:.3g}")  # fmt: skip
    t = summary["tta_effect"]
    print(f"flips {t['dice']['flips']['mean']:.3f} vs none {t['dice']['none']['mean']:.3f} "
          f"(wins {t['flips_vs_none']['wins']}, losses {t['flips_vs_none']['losses']}, p = "
          f"{t['flips_vs_none']['wilcoxon_p']:.3g}); post-processing: {summary['postprocess']['chosen']} "
          f"(gain {summary['postprocess']['gain']:+.4f}); {summary['postprocess']['mean_dice']}")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1] == "--table":
        table(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]), Path(sys.argv[2]), *(sys.argv[3:4]))
