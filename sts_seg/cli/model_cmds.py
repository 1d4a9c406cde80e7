"""``train``, ``evaluate`` and ``infer``: the commands that import TensorFlow (lazily)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from sts_seg.cli.common import ConfigArg, ForceOpt, SetOpt, config_from, console, err_console, handle_errors, progress_bar
from sts_seg.config import SPLITS

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
    from sts_seg.train.run import load_data, prepare_run_dir, train as run_train

    prepare_run_dir(Path(run), force, resume)  # refuse early, before loading anything
    with progress_bar("loading slices") as progress:
        data = load_data(cfg, dataset, progress)
    cb = RichProgress(err_console, live=err_console.is_terminal)
    res = run_train(cfg, dataset, run, force=force, resume=resume, callbacks=[cb], data=data)
    console.print(f"parameters: {res.parameters:,}; epochs run: {res.epochs_run}; "
                  f"best {res.monitor} {res.best_value:.4f} at epoch {res.best_epoch}")
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


def register(app: typer.Typer) -> None:
    for fn in (train,):
        app.command()(fn)
