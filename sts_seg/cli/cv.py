"""``stsseg cv``: patient-level cross-validation (TensorFlow, and Ray if asked, load inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sts_seg.cli.common import (
    ConfigArg,
    ForceOpt,
    SetOpt,
    SourceOpt,
    config_from,
    console,
    handle_errors,
    progress_bar,
    quiet_tensorflow,
)
from sts_seg.cli.evaluate import fmt
from sts_seg.config.evaluate import BaselineConfig
from sts_seg.runtime import require


def _stat(d: dict[str, Any]) -> str:
    if d.get("mean") is None:
        return "-"
    lo, hi = d["ci95"]
    return f"{d['mean']:.3f} ± {d['sd']:.3f}  (95 % CI {lo:.3f}–{hi:.3f}, n={d['n']})"


def render(summary: dict[str, Any], rows: list[dict[str, Any]], folder: Path) -> None:
    """The per-patient out-of-fold table and the statistics, as in ``cv/summary.json``."""
    t = Table(
        title=f"out-of-fold 3D tumour metrics, tta={summary['tta']} (each case scored by the fold that never saw it)"
    )
    b = summary["baseline_settings"]
    rules = BaselineConfig.model_validate(b)
    names = {rule: rules.label(rule) for rule in ("fraction", "suv")}
    other = (summary.get("other_baseline") or {}).get("rule")
    head, second = names[b["mode"]], names.get(other, "")
    columns = ["case", "fold", "model Dice", f"{head} Dice", "difference", *([f"{second} Dice"] if other else []),
               "model HD95 mm", f"{head} HD95 mm"]  # fmt: skip
    for col in columns:
        t.add_column(col, justify="left" if col == "case" else "right")
    for r in rows:
        diff = r["dice"] - r["baseline_dice"]
        t.add_row(r["case"], str(r["fold"]), fmt(r["dice"]), fmt(r["baseline_dice"]), f"{diff:+.3f}",
                  *([fmt(r.get(f"baseline_{other}_dice"))] if other else []),
                  fmt(r.get("hd95_mm")), fmt(r.get("baseline_hd95_mm")))  # fmt: skip
    console.print(t)
    _stats(summary, head, second)
    console.print(f"report: {folder}  (per_patient.csv, summary.json, postprocess.json, per_patient.png)")


def _stats(summary: dict[str, Any], head: str, second: str) -> None:
    p = summary["model_vs_baseline"]
    tta = summary["tta_effect"]
    pp = summary["postprocess"]
    console.print(f"model Dice     {_stat(summary['model']['dice'])}")
    console.print(f"baseline Dice  {_stat(summary['baseline']['dice'])}  ({head}, the headline baseline)")
    console.print(
        f"model - baseline: {_stat(p['difference'])}; wins {p['wins']}, losses {p['losses']}, ties {p['ties']}; "
        f"Wilcoxon signed-rank p = {p['wilcoxon_p']:.4g} (n={p['wilcoxon_n']}, two-sided)"
    )
    o = summary.get("other_baseline")
    if o:
        q = o["model_vs"]
        console.print(
            f"{second} Dice {_stat(o['dice'])}; model wins {q['wins']}, losses {q['losses']}, "
            f"Wilcoxon p = {q['wilcoxon_p']:.4g}"
        )
    if tta["flips_vs_none"] is not None:
        console.print(
            f"test-time flips: Dice {tta['dice']['flips']['mean']:.3f} with, {tta['dice']['none']['mean']:.3f} "
            f"without (wins {tta['flips_vs_none']['wins']}, losses {tta['flips_vs_none']['losses']})"
        )
    tried = ", ".join(f"{k} {v:.3f}" for k, v in pp["mean_dice"].items())
    console.print(f"post-processing: chose {pp['chosen']} (gain {pp['gain']:+.4f}); mean Dice {tried}")


@handle_errors
def cv(
    config: ConfigArg = None,
    source: SourceOpt = None,
    run: Annotated[Path, typer.Option("--run", help="The cv folder (folds.json, fold_<k>/, cv/).")] = Path("runs/cv"),
    folds: Annotated[
        int | None, typer.Option("--folds", help="Number of folds (default: LOPO up to 10 patients, else 5).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Folds at once, as Ray tasks (pip install 'stsseg\\[ray]').")
    ] = None,
    address: Annotated[str | None, typer.Option("--address", help="Run the folds on this Ray cluster.")] = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Patient-level cross-validation: folds -> prepare, train, predict per fold -> out-of-fold report."""
    values = {"data.source": source, "cv.folds": folds, "cv.workers": workers, "cv.address": address}
    cfg = config_from(config, overrides, values)
    require("tensorflow", "stsseg cv")  # (Ray, when asked for, is checked where the folds start)
    quiet_tensorflow()
    from sts_seg.cv.run import cross_validate

    with progress_bar("cv folds") as progress:
        res = cross_validate(cfg=cfg, run_dir=run, force=force, progress=progress)
    if res.skipped:
        console.print(f"folds already finished (kept): {', '.join(map(str, res.skipped))}")
    render(res.report.summary, res.report.rows, res.report.folder)


def register(app: typer.Typer) -> None:
    app.command()(cv)
