"""``stsseg train``: build, compile and fit; everything a run used lands in its run directory.

``runs/<name>/``: best.keras, last.keras, history.csv, config.yaml, versions.json, plots/, previews/.
"""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sts_seg import __version__
from sts_seg.config import Config, dump_config
from sts_seg.errors import DataError, ModelError, OverwriteError
from sts_seg.model import build_model
from sts_seg.model.losses import make_loss
from sts_seg.progress import ProgressFn, no_progress
from sts_seg.train import callbacks as cbs
from sts_seg.train.arrays import SliceArrays, load_split
from sts_seg.train.epoch_metrics import SeedPixelAgreement, TumourDice
from sts_seg.train.pipeline import eval_dataset, steps_per_epoch, train_dataset
from sts_seg.train.plots import read_history


@dataclass
class TrainResult:
    run_dir: Path
    parameters: int
    epochs_run: int
    best_epoch: int
    best_value: float
    monitor: str
    history: list[dict[str, float]]


def versions() -> dict[str, str]:
    import sys

    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "stsseg": __version__,
        "platform": platform.platform(),
    }


def setup_runtime(cfg: Config, epoch_offset: int = 0) -> None:
    """Seed Python/NumPy/TF (shifted by the resumed epoch), op determinism, precision policy."""
    keras.utils.set_random_seed(cfg.train.seed + epoch_offset)
    if cfg.train.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(cfg.train.precision)


def compile_model(model: keras.Model, cfg: Config) -> keras.Model:
    t = cfg.train
    clip = {"clipvalue": t.clipvalue} if t.clipvalue else {}
    if t.optimizer == "adam":
        opt = keras.optimizers.Adam(t.learning_rate, **clip)
    elif t.optimizer == "adamw":
        opt = keras.optimizers.AdamW(t.learning_rate, weight_decay=t.weight_decay, **clip)
    else:
        opt = keras.optimizers.SGD(t.learning_rate, momentum=0.99, nesterov=True, **clip)
    metrics: list[keras.metrics.Metric] = [TumourDice()]
    if t.log_seed_metric:
        metrics.append(SeedPixelAgreement())
    model.compile(optimizer=opt, loss=make_loss(t, cfg.model.num_classes), metrics=metrics, jit_compile=False)
    return model


def check_run_dir(run_dir: Path, force: bool, resume: bool) -> None:
    """Refuse (without side effects) a run directory that would be lost or cannot be resumed."""
    if resume:
        if not (run_dir / "last.keras").is_file():
            raise OverwriteError(f"{run_dir}: nothing to resume (no last.keras); drop --resume to start a new run")
    elif run_dir.exists() and any(run_dir.iterdir()) and not force:
        raise OverwriteError(f"{run_dir}: run directory exists; pass --force to replace it or --resume to continue")


def prepare_run_dir(run_dir: Path, force: bool, resume: bool) -> None:
    """:func:`check_run_dir`, then empty the directory for a fresh run (``force``)."""
    check_run_dir(run_dir, force, resume)
    if not resume and run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)


def _best_so_far(history: list[dict[str, float]], monitor: str) -> float | None:
    vals = [r[monitor] for r in history if monitor in r and not np.isnan(r[monitor])]
    if not vals:
        return None
    return min(vals) if monitor == "val_loss" else max(vals)


def _callbacks(
    cfg: Config, run_dir: Path, valid: SliceArrays, extra: Sequence[keras.callbacks.Callback], resume: bool
) -> list[keras.callbacks.Callback]:
    """Order matters: log the epoch's LR, write the CSV, then let the reducer act, then checkpoint
    (so last.keras holds the reduced LR for --resume)."""
    t, mon = cfg.train, cfg.train.monitor
    mode = "min" if mon == "val_loss" else "max"
    out: list[keras.callbacks.Callback] = [
        cbs.LearningRateLogger(),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resume),
        cbs.PlotCallback(run_dir / "history.csv", run_dir / "plots" / "curves.png"),
    ]
    if t.reducer.enabled:
        out.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=mon,
                mode=mode,
                factor=t.reducer.factor,
                patience=t.reducer.patience,
                min_lr=t.reducer.min_lr,
                verbose=0,
            )
        )
    if t.early_stopping.enabled:
        out.append(
            keras.callbacks.EarlyStopping(
                monitor=mon,
                mode=mode,
                patience=t.early_stopping.patience,
                restore_best_weights=t.early_stopping.restore_best,
            )
        )
    best = _best_so_far(read_history(run_dir / "history.csv"), mon) if resume else None
    out += [
        keras.callbacks.ModelCheckpoint(
            str(run_dir / "best.keras"), monitor=mon, mode=mode, save_best_only=True, initial_value_threshold=best
        ),
        keras.callbacks.ModelCheckpoint(str(run_dir / "last.keras")),
    ]
    if t.preview_images:
        idx = _preview_indices(valid, t.preview_images)
        out.append(cbs.PreviewCallback(valid.images[idx], valid.masks[idx], run_dir / "previews"))
    return [*out, *extra]


def _preview_indices(data: SliceArrays, n: int) -> np.ndarray:
    """The ``n`` validation slices with the most tumour (evenly spread over the ranking)."""
    order = np.argsort(-data.masks.reshape(len(data), -1).sum(1, dtype=np.int64), kind="stable")
    pos = order[: max(1, int(data.tumour.sum()))]
    return np.sort(pos[np.linspace(0, len(pos) - 1, min(n, len(pos))).round().astype(int)])


def load_data(cfg: Config, dataset: Path, progress: ProgressFn = no_progress) -> tuple[SliceArrays, SliceArrays]:
    m, rgb = cfg.model, cfg.data.rgb_pairs
    train = load_split(dataset, "train", m.image_size, m.image_channels, m.num_classes, rgb, progress)
    valid = load_split(dataset, "valid", m.image_size, m.image_channels, m.num_classes, rgb, progress)
    return train, valid


def train(
    *,
    cfg: Config,
    force: bool = False,
    resume: bool = False,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    progress: ProgressFn = no_progress,
) -> TrainResult:
    """Fit ``cfg.model`` on ``data.dataset``'s train split, validating on its valid split, into
    ``train.run_dir``. ``progress`` reports the loading of the slices."""
    run_dir, dataset = Path(cfg.train.run_dir), Path(cfg.data.dataset)
    check_run_dir(run_dir, force, resume)  # refuse early; nothing is deleted before the data loads
    train_data, valid_data = load_data(cfg, dataset, progress)
    if not train_data.tumour.any():
        raise DataError(f"{dataset}/train: no slice holds tumour; nothing to learn (check the masks / rgb_map)")
    prepare_run_dir(run_dir, force, resume)
    initial_epoch = len(read_history(run_dir / "history.csv")) if resume else 0
    setup_runtime(cfg, initial_epoch)
    if resume:
        try:
            model = keras.models.load_model(run_dir / "last.keras")
        except Exception as exc:  # corrupt or foreign file
            raise ModelError(f"{run_dir / 'last.keras'}: cannot load ({exc}); start a new run with --force") from exc
    else:
        model = compile_model(build_model(cfg.model), cfg)
        dump_config(cfg, run_dir / "config.yaml")
        (run_dir / "versions.json").write_text(json.dumps(versions(), indent=2))
    model.fit(
        train_dataset(train_data, cfg, epoch_offset=initial_epoch),
        steps_per_epoch=steps_per_epoch(len(train_data), cfg),
        validation_data=eval_dataset(valid_data, cfg),
        epochs=cfg.train.epochs,
        initial_epoch=initial_epoch,
        callbacks=_callbacks(cfg, run_dir, valid_data, callbacks, resume),
        shuffle=False,  # the tf.data stream is already shuffled (seeded)
        verbose=0,
    )
    history = read_history(run_dir / "history.csv")
    return _result(run_dir, model.count_params(), history, cfg.train.monitor)


def _result(run_dir: Path, params: int, history: list[dict[str, float]], monitor: str) -> TrainResult:
    vals = np.array([r.get(monitor, np.nan) for r in history], dtype=float)
    if not len(vals) or np.isnan(vals).all():
        return TrainResult(run_dir, params, len(history), 0, float("nan"), monitor, history)
    best = int(np.nanargmin(vals) if monitor == "val_loss" else np.nanargmax(vals))
    return TrainResult(run_dir, params, len(history), best + 1, float(vals[best]), monitor, history)
