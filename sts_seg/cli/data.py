"""``synth``, ``prepare`` and ``augment``: the commands that need no TensorFlow."""

from __future__ import annotations

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
)
from sts_seg.config import SPLITS

DatasetOpt = Annotated[Path | None, typer.Option("--dataset", help="Dataset folder (default: data.dataset).")]


@handle_errors
def synth(
    output: Annotated[Path, typer.Option("--output", "-o", help="HDF5 file (kaggle_h5) or folder (NIfTI layouts).")],
    patients: Annotated[int, typer.Option(min=1, help="Number of patients.")] = 7,
    seed: Annotated[int, typer.Option(help="Random seed (same seed -> same file).")] = 0,
    layout: Annotated[str, typer.Option(help="kaggle_h5, autopet, nnunet or hecktor.")] = "kaggle_h5",
    spacing: Annotated[tuple[float, float, float], typer.Option(help="NIfTI layouts: voxel spacing z y x in mm.")] = (
        3.0,
        2.0,
        2.0,
    ),
    force: ForceOpt = False,
) -> None:
    """Write a synthetic PET/CT phantom: the layout of lab_petct_vox_5.00mm.h5, or NIfTI case folders."""
    from sts_seg.phantom import synth as run_synth

    with progress_bar("synth") as progress:
        shapes = run_synth(
            output=output,
            n_patients=patients,
            seed=seed,
            layout=layout,
            spacing=spacing,
            force=force,
            progress=progress,
        )
    mm = "5 mm voxels" if layout == "kaggle_h5" else f"{layout}, {'x'.join(f'{v:g}' for v in spacing)} mm (z y x)"
    table = Table("case", "slices (z)", "y", "x", title=f"{output}: {len(shapes)} cases, {mm}")
    for pid, (z, y, x) in shapes.items():
        table.add_row(pid, str(z), str(y), str(x))
    console.print(table)


@handle_errors
def prepare(
    config: ConfigArg = None,
    source: SourceOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Dataset folder (default: data.dataset).")
    ] = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Source volumes (HDF5 or NIfTI cases) -> 2D image/mask PNG dataset, split by patient."""
    from sts_seg.prepare import prepare as run_prepare

    cfg = config_from(config, overrides, {"data.source": source, "data.dataset": output})
    with progress_bar("prepare") as progress:
        res = run_prepare(cfg=cfg, force=force, progress=progress)
    table = Table(
        "split",
        "patients",
        "slices",
        "tumour slices",
        title=f"{res.output} (canvas {res.canvas.side}x{res.canvas.side} px)",
    )
    for s in SPLITS:
        table.add_row(s, ", ".join(res.splits[s]), str(res.slices[s]), str(res.tumour_slices[s]))
    console.print(table)
    sizes = sorted({g.grid_shape[1:] for g in res.cases.values()})
    console.print(f"source: {cfg.data.source} ({res.layout}, {len(res.cases)} cases)")
    console.print(f"in-plane sizes of the slicing grid: {', '.join(f'{h}x{w}' for h, w in sizes)}")
    console.print(f"canvas {res.canvas.side} px: {res.canvas.reason}; no voxel is cropped")
    for note in res.notes:
        err_console.print(f"note: {note}", markup=False)
    console.print("wrote manifest.csv, split.json, cases.json, spec.json, fingerprint.json")


@handle_errors
def augment(
    config: ConfigArg = None,
    dataset: DatasetOpt = None,
    force: ForceOpt = False,
    overrides: SetOpt = None,
) -> None:
    """Offline augmentation of the TRAIN split only (image and mask transformed together)."""
    from sts_seg.augment.offline import augment as run_augment

    cfg = config_from(config, overrides, {"data.dataset": dataset})
    with progress_bar("augment") as progress:
        res = run_augment(cfg=cfg, force=force, progress=progress)
    table = Table("operation", "outputs")
    for op, n in res.per_op.items():
        table.add_row(op, str(n))
    console.print(table)
    console.print(f"{res.dataset}/train: {res.sources} source pairs -> {res.outputs} augmented pairs")
    if res.kept_in_train:
        err_console.print(
            f"note: train/ already holds {len(res.kept_in_train)} augmented-looking file(s) "
            f"(e.g. {res.kept_in_train[0]}); they are kept as they are and not augmented again",
            markup=False,
        )
    console.print(f"wrote the batch to {res.manifest.parent} (train/, valid/ and test/ are untouched)")


def register(app: typer.Typer) -> None:
    for fn in (synth, prepare, augment):
        app.command()(fn)
