"""``stsseg train``: imports TensorFlow lazily, inside the command."""

from __future__ import annotations

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
    quiet_tensorflow,
)
from sts_seg.runtime import require

DatasetOpt = Annotated[Path | None, typer.Option("--dataset", help="Prepared dataset folder (default: data.dataset).")]
RunOpt = Annotated[Path | None, typer.Option("--run", help="Run directory (default: train.run_dir).")]


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
    cfg = config_from(config, overrides, {"data.dataset": dataset, "train.run_dir": run})
    require("tensorflow", "stsseg train")
    quiet_tensorflow()
    if dry_run:
        from sts_seg.train.dryrun import dry_run as run_dry

        res = run_dry(cfg=cfg)
        console.print(f"parameters: {res.parameters}")
        console.print(f"input shape: {res.input_shape}  output shape: {res.output_shape}")
        if res.pairs is None:
            err_console.print(f"warning: dataset {cfg.data.dataset} does not exist yet; run 'stsseg prepare' first")
        for split, n in (res.pairs or {}).items():
            console.print(f"{split}: {n} image/mask pairs")
        return
    from sts_seg.cli.keras_progress import RichProgress
    from sts_seg.train.run import train as run_train

    cb = RichProgress(err_console, live=err_console.is_terminal)
    with progress_bar("loading slices", stop_when_done=True) as progress:
        res = run_train(cfg=cfg, force=force, resume=resume, callbacks=[cb], progress=progress)
    for note in res.notes:
        err_console.print(f"note: {note}", markup=False)
    console.print(
        f"parameters: {res.parameters:,}; epochs run: {res.epochs_run}; "
        f"best {res.monitor} {res.best_value:.4f} at epoch {res.best_epoch}"
    )
    console.print(
        f"run directory: {res.run_dir}  (best.keras, last.keras, stsseg.json, history.csv, plots/curves.png, previews/)"
    )


def register(app: typer.Typer) -> None:
    app.command()(train)
