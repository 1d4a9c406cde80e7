"""``train``, ``evaluate`` and ``infer``: the commands that import TensorFlow (lazily)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from sts_seg.cli.common import (
    ConfigArg,
    ForceOpt,
    SetOpt,
    config_from,
    console,
    err_console,
    handle_errors,
    progress_bar,
)
from sts_seg.config import SPLITS
from sts_seg.errors import ConfigError

DatasetOpt = Annotated[Path | None, typer.Option("--dataset", help="Prepared dataset folder (default: data.dataset).")]
RunOpt = Annotated[Path | None, typer.Option("--run", help="Run directory (default: train.run_dir).")]


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@handle_errors
def train(
    config: ConfigArg = None,
    dataset: DatasetOpt = None,
    run: RunOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Build the model, check the data, do not train.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from last.keras (epoch, optimiser, LR).")] = False,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Train the UNet on a prepared (and optionally augmented) dataset."""
    cfg = config_from(config, overrides)
    dataset, run = dataset or cfg.data.dataset, run or cfg.train.run_dir
    _quiet_tf()
    if dry_run:
        return _dry_run(cfg, dataset)
    from sts_seg.cli.keras_progress import RichProgress
    from sts_seg.train.run import check_run_dir, load_data
    from sts_seg.train.run import train as run_train

    check_run_dir(Path(run), force, resume)  # refuse early; nothing is deleted before the data loads
    with progress_bar("loading slices") as progress:
        data = load_data(cfg, dataset, progress)
    cb = RichProgress(err_console, live=err_console.is_terminal)
    res = run_train(cfg, dataset, run, force=force, resume=resume, callbacks=[cb], data=data)
    console.print(
        f"parameters: {res.parameters:,}; epochs run: {res.epochs_run}; "
        f"best {res.monitor} {res.best_value:.4f} at epoch {res.best_epoch}"
    )
    console.print(f"run directory: {res.run_dir}  (best.keras, last.keras, history.csv, plots/curves.png, previews/)")


def _dry_run(cfg, dataset: Path) -> None:
    from sts_seg.io.layout import list_pairs
    from sts_seg.model import build_model

    model = build_model(cfg.model)
    console.print(f"parameters: {model.count_params()}")
    console.print(f"input shape: {tuple(model.input_shape)}  output shape: {tuple(model.output_shape)}")
    if not Path(dataset).is_dir():
        err_console.print(f"warning: dataset {dataset} does not exist yet; run 'stsseg prepare' before training")
        return
    for s in SPLITS:
        console.print(f"{s}: {len(list_pairs(dataset, s))} image/mask pairs")


ModelOpt = Annotated[Path | None, typer.Option("--model", help="A .keras model (default: <train.run_dir>/best.keras).")]


def _default_model(cfg, model: Path | None) -> Path:
    return model or Path(cfg.train.run_dir) / "best.keras"


def _fmt(v) -> str:
    import math

    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"


@handle_errors
def evaluate(
    config: ConfigArg = None,
    dataset: DatasetOpt = None,
    model: ModelOpt = None,
    split: Annotated[str | None, typer.Option("--split", help="train, valid or test (default: eval.split).")] = None,
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions",
            help="Score a folder of predicted masks (same names), or a label_data HDF5 from 'infer --h5'.",
        ),
    ] = None,
    h5: Annotated[
        Path | None, typer.Option("--h5", help="Source HDF5 (PET for the baseline; truth for HDF5 predictions).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Report folder (default: <run>/eval_<split>).")
    ] = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Per-patient 3D tumour Dice, IoU, HD95/ASSD (mm) next to a PET-threshold baseline."""
    if split:
        overrides = [*(overrides or []), f"eval.split={split}"]
    cfg = config_from(config, overrides)
    dataset = dataset or cfg.data.dataset
    output = output or cfg.eval.output or Path(cfg.train.run_dir) / f"eval_{cfg.eval.split}"
    _quiet_tf()
    from sts_seg.evaluation import run as ev

    if predictions is not None and predictions.suffix in (".h5", ".hdf5"):
        src = ev.resolve_h5(dataset, h5, cfg)
        if src is None:
            raise ConfigError("scoring an HDF5 of predictions needs the source file: pass --h5 or set data.h5")
        report = ev.evaluate_volumes(cfg, predictions, src, output, force)
    else:
        mdl = None if predictions is not None else _default_model(cfg, model)
        with progress_bar("predicting") as progress:
            report = ev.evaluate(cfg, dataset, output, mdl, predictions, h5, force, progress)
    _render_report(report)


def _render_report(report) -> None:
    from rich.table import Table

    base = {r["patient"]: r for r in report.baseline or []}
    if report.per_patient:
        t = Table(title=f"{report.split}: per-patient 3D tumour metrics (native grid)")
        for col in (
            "patient",
            "Dice",
            "baseline Dice",
            "IoU",
            "precision",
            "recall",
            "HD95 mm",
            "ASSD mm",
            "GT mL",
            "pred mL",
        ):
            t.add_column(col, justify="left" if col == "patient" else "right")
        for r in report.per_patient:
            b = base.get(r["patient"], {})
            t.add_row(
                r["patient"],
                f"[bold]{_fmt(r['dice'])}[/]",
                _fmt(b.get("dice")),
                _fmt(r["iou"]),
                _fmt(r["precision"]),
                _fmt(r["recall"]),
                _fmt(r["hd95_mm"]),
                _fmt(r["assd_mm"]),
                _fmt(r["gt_volume_mm3"] / 1000),
                _fmt(r["pred_volume_mm3"] / 1000),
            )
        s = report.summary["per_patient_3d"]
        bs = (report.summary.get("baseline") or {}).get("per_patient_3d", {})
        t.add_section()
        t.add_row(
            "mean ± sd",
            f"[bold]{_fmt(s['dice']['mean'])} ± {_fmt(s['dice']['std'])}[/]",
            f"{_fmt(bs['dice']['mean'])} ± {_fmt(bs['dice']['std'])}" if bs else "-",
            _fmt(s["iou"]["mean"]),
            _fmt(s["precision"]["mean"]),
            _fmt(s["recall"]["mean"]),
            _fmt(s["hd95_mm"]["mean"]),
            _fmt(s["assd_mm"]["mean"]),
            "",
            "",
        )
        console.print(t)
    if report.per_image:
        s2 = report.summary["per_image_2d"]["dice"]
        console.print(
            f"per-image 2D tumour Dice: mean {_fmt(s2['mean'])} (median {_fmt(s2['median'])}, "
            f"{s2['count']} slices scored, {s2['missing']} empty/empty excluded)"
        )
    for note in report.notes:
        err_console.print(f"note: {note}", markup=False)
    console.print(f"report: {report.output}  (per_patient.csv, per_image.csv, summary.json, evaluation.csv, overlays/)")


@handle_errors
def infer(
    config: ConfigArg = None,
    input: Annotated[Path | None, typer.Option("--input", "-i", help="Folder of images (png, jpg, bmp, tif).")] = None,
    h5: Annotated[Path | None, typer.Option("--h5", help="Volume mode: a Kaggle-layout HDF5.")] = None,
    patients: Annotated[
        list[str] | None, typer.Option("--patients", help="Volume mode: patient ids (repeatable).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Mask folder, or FILE.h5 in volume mode.")
    ] = None,
    model: ModelOpt = None,
    overlay: Annotated[bool, typer.Option("--overlay", help="Also write the mask blended over the input.")] = False,
    nifti: Annotated[bool, typer.Option("--nifti", help="Volume mode: also write NIfTI files (5 mm spacing).")] = False,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Masks (and overlays) for a folder of images, or label volumes for an HDF5 file."""
    cfg = config_from(config, overrides)
    if (input is None) == (h5 is None):
        raise ConfigError("give exactly one of --input DIR (images) or --h5 FILE (volumes)")
    if output is None:
        raise ConfigError("--output is required (a folder, or FILE.h5 with --h5)")
    _quiet_tf()
    from sts_seg.infer import infer_folder, infer_volumes
    from sts_seg.predict import Predictor

    predictor = Predictor.from_path(_default_model(cfg, model), cfg.infer.batch_size)
    if h5 is not None:
        with progress_bar("infer volumes") as progress:
            shapes = infer_volumes(predictor, h5, output, cfg, patients, nifti or cfg.infer.nifti, force, progress)
        console.print(
            f"wrote label_data for {len(shapes)} patient(s) to {output}"
            + (f" and NIfTI files to {output.with_name(output.stem + '_nifti')}" if nifti or cfg.infer.nifti else "")
        )
        return
    with progress_bar("infer") as progress:
        res = infer_folder(predictor, input, output, cfg, overlay or cfg.infer.overlay, force, progress)
    console.print(
        f"wrote {len(res.written)} mask(s) to {res.output}" + (" (+ overlays/)" if overlay or cfg.infer.overlay else "")
    )
    for _name, why in res.failed:
        err_console.print(f"error: {why}", markup=False)
    if res.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    for fn in (train, evaluate, infer):
        app.command()(fn)
