"""``stsseg evaluate``: per-patient 3D tumour metrics next to the PET baseline (rich table)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sts_seg.cli.common import (
    ConfigArg,
    ForceOpt,
    SetOpt,
    SourceOpt,
    config_from,
    console,
    err_console,
    handle_errors,
    progress_bar,
    quiet_tensorflow,
)
from sts_seg.cli.train import DatasetOpt
from sts_seg.config.evaluate import BaselineConfig

ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", help="A .keras model, a run, cv or export folder (default: <train.run_dir>/best.keras)."),
]


def fmt(v: float | None) -> str:
    """A metric for a table cell: 3 decimals, whole numbers from 100 up, '-' when missing."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"


@handle_errors
def evaluate(
    config: ConfigArg = None,
    dataset: DatasetOpt = None,
    model: ModelOpt = None,
    split: Annotated[str | None, typer.Option("--split", help="train, valid or test (default: eval.split).")] = None,
    predictions: Annotated[
        Path | None,
        typer.Option("--predictions", help="Score a folder of predicted masks (same names), or a label_data HDF5."),
    ] = None,
    source: SourceOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Report folder (default: <run>/eval_<split>).")
    ] = None,
    allow_missing: Annotated[
        bool,
        typer.Option("--allow-missing", help="Score predicted volumes that lack some cases (the report lists them)."),
    ] = False,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Per-patient 3D tumour Dice, IoU, HD95/ASSD (mm) next to a PET-threshold baseline.

    A --predictions folder is read as the command line says: with --source (and no --dataset) its
    <case>.nii.gz volumes, with --dataset (and no --source) PNG masks of the split; otherwise
    volumes when it holds <case>.nii.gz masks."""
    values = {
        "data.dataset": dataset,
        "data.source": source,
        "eval.model": model,
        "eval.split": split,
        "eval.predictions": predictions,
        "eval.output": output,
    }
    cfg = config_from(config, overrides, values)
    quiet_tensorflow()
    from sts_seg.evaluate import evaluate as run_evaluate

    named = {"volumes": source is not None, "png": dataset is not None}  # how the truth was named
    mode = next(iter(k for k, v in named.items() if v)) if sum(named.values()) == 1 else None
    with progress_bar("predicting") as progress:
        report = run_evaluate(cfg=cfg, force=force, progress=progress, mode=mode, allow_missing=allow_missing)
    render(report)


COLUMNS = ("case", "Dice", "baseline Dice", "other baseline", "IoU", "precision", "recall", "HD95 mm", "ASSD mm",
           "GT mL", "pred mL")  # fmt: skip


def render(report) -> None:
    """The per-patient table (model next to baseline), the 2D line, notes and the report path."""
    pp, base, other = report.per_patient, report.baseline, report.other_baseline
    if pp is not None and pp.rows:
        by_case = {r["case"]: r for r in base.rows} if base else {}
        other_by_case = {r["case"]: r for r in other.rows} if other else {}
        missing = report.header.get("missing_cases") or []
        caption = f"not scored, no prediction: {len(missing)} case(s) (listed in summary.json)" if missing else None
        rules = BaselineConfig.model_validate(report.settings.get("baseline") or {})
        heads = {
            "baseline Dice": f"{rules.label(rules.mode)} Dice",
            "other baseline": f"{rules.label(rules.other)} Dice",
        }
        t = Table(title=f"{report.split}: per-case 3D tumour metrics (each case's own grid)", caption=caption)
        studies = any(r["case"] != r["patient"] for r in pp.rows)  # autoPET: several studies per patient
        columns = ("case", "patient", *COLUMNS[1:]) if studies else COLUMNS
        for col in columns:
            t.add_column(heads.get(col, col), justify="left" if col in ("case", "patient") else "right")
        for r in pp.rows:
            base_row, other_row = by_case.get(r["case"], {}), other_by_case.get(r["case"], {})
            t.add_row(
                r["case"], *([r["patient"]] if studies else []), f"[bold]{fmt(r['dice'])}[/]",
                fmt(base_row.get("dice")), fmt(other_row.get("dice")),
                fmt(r["iou"]), fmt(r["precision"]), fmt(r["recall"]), fmt(r["hd95_mm"]), fmt(r["assd_mm"]),
                fmt(r["gt_volume_mm3"] / 1000), fmt(r["pred_volume_mm3"] / 1000),
            )  # fmt: skip
        s = pp.stats
        t.add_section()
        t.add_row(
            "mean ± sd", *([""] if studies else []), f"[bold]{fmt(s['dice'].mean)} ± {fmt(s['dice'].std)}[/]",
            f"{fmt(base.dice.mean)} ± {fmt(base.dice.std)}" if base else "-",
            f"{fmt(other.dice.mean)} ± {fmt(other.dice.std)}" if other else "-", fmt(s["iou"].mean),
            fmt(s["precision"].mean), fmt(s["recall"].mean), fmt(s["hd95_mm"].mean), fmt(s["assd_mm"].mean), "", "",
        )  # fmt: skip
        console.print(t)
    if report.per_image is not None and report.per_image.rows:
        d = report.per_image.dice
        console.print(
            f"per-image 2D tumour Dice: mean {fmt(d.mean)} (median {fmt(d.median)}, "
            f"{d.count} slices scored, {d.missing} empty/empty excluded)"
        )
    console.print(f"truth: {report.header.get('truth', '-')}")
    for note in report.notes:
        err_console.print(f"note: {note}", markup=False)
    written = sorted(p.name + ("/" if p.is_dir() else "") for p in Path(report.output).iterdir())
    console.print(f"report: {report.output}  ({', '.join(written)})")


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
