"""``stsseg train``: build, compile and fit; everything a run used lands in its run directory.

``runs/<name>/``: best.keras, last.keras, stsseg.json (the model card), history.csv,
train_state.json, config.yaml (+ config_changes.json after resumes that changed settings),
versions.json, plots/, previews/. The folder is written beside its final path and renamed into
place when training ends (:mod:`sts_seg.train.rundir`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sts_seg.config import Config, dump_config
from sts_seg.errors import ConfigError, DataError, ModelError
from sts_seg.model import build_model
from sts_seg.progress import ProgressFn, no_progress
from sts_seg.runtime import import_keras
from sts_seg.train.arrays import SliceArrays, load_split
from sts_seg.train.callbacks import build_callbacks
from sts_seg.train.card import dataset_spec, write_run_card
from sts_seg.train.compile import compile_model, setup_runtime, versions
from sts_seg.train.history import record_resume
from sts_seg.train.pipeline import PatchSpec, eval_dataset, hot_negatives, steps_per_epoch, train_dataset
from sts_seg.train.plots import read_history
from sts_seg.train.rundir import RunFolder, check_run, open_run
from sts_seg.train.state import read_state, restore_seed_states

keras = import_keras()


@dataclass
class TrainResult:
    """The finished run: where, size, epochs, the best monitored value and the history."""

    run_dir: Path
    parameters: int
    epochs_run: int
    best_epoch: int
    best_value: float
    monitor: str
    history: list[dict[str, float]]
    notes: list[str] = field(default_factory=list)


def load_data(cfg: Config, dataset: Path, progress: ProgressFn = no_progress) -> tuple[SliceArrays, SliceArrays]:
    """Train (with the augmented batch) and valid slices, on the dataset's canvas or ``model.image_size``."""
    m = cfg.model
    size = None if m.image_size == "auto" else int(m.image_size)
    spec = dataset_spec(dataset)
    if spec is not None and size is not None and size != spec.canvas:
        raise ConfigError(
            f"{dataset}: prepared on a {spec.canvas} px canvas but model.image_size is {size}; "
            f"set model.image_size: auto (or {spec.canvas}), or re-run 'stsseg prepare' with {size}"
        )
    common = {"size": size, "channels": m.image_channels, "num_classes": m.num_classes, "colours": cfg.data.colours}
    return load_split(dataset, "train", **common, progress=progress), load_split(dataset, "valid", **common)


def _pet_level(cfg: Config) -> tuple[int, int] | None:
    """``(PET channel, uint8 level of train.hard_negative_suv)`` through prepare's PET window, or None."""
    p = cfg.prepare
    pets = [i for i, (modality, _, _) in enumerate(p.windows) if modality == "pet"]
    if p.image_mode != "channels" or not pets:
        return None
    _, low, high = p.windows[pets[0]]
    return pets[0], int(np.clip(round(255 * (cfg.train.hard_negative_suv - low) / (high - low)), 1, 255))


def _hard_negatives(cfg: Config, data: SliceArrays) -> np.ndarray | None:
    """The tumour-free train slices with PET uptake >= ``train.hard_negative_suv`` (or None)."""
    if not cfg.train.hard_negative_fraction:
        return None
    pet = _pet_level(cfg)
    if pet is None:
        raise ConfigError("train.hard_negative_fraction needs a PET channel (prepare.image_mode: channels, with pet)")
    return hot_negatives(data.images, data.tumour, *pet)


def _patches(cfg: Config, data: SliceArrays) -> PatchSpec | None:
    """``train.patch_size`` as a :class:`PatchSpec` (hot pixels: PET >= ``hard_negative_suv``)."""
    size = cfg.train.patch_size
    if size is None:
        return None
    canvas = int(data.images.shape[1])
    if size > min(data.images.shape[1:3]):
        raise ConfigError(
            f"train.patch_size {size} is larger than the {canvas} px canvas; use at most {canvas} (or null)"
        )
    pet = _pet_level(cfg)
    return PatchSpec(size) if pet is None else PatchSpec(size, *pet)


def _model(cfg: Config, run: RunFolder, total_steps: int) -> keras.Model:
    if run.resumed_from is None:
        return compile_model(build_model(cfg.model), cfg.train, cfg.model.num_classes, total_steps)
    try:
        return keras.models.load_model(run.work / "last.keras")
    except Exception as exc:  # a corrupt or foreign file
        raise ModelError(f"{run.final / 'last.keras'}: cannot load ({exc}); start a new run with --force") from exc


def _best_weights(run: RunFolder, cfg: Config) -> list | None:
    best = run.work / "best.keras"
    if run.resumed_from is None or not cfg.train.early_stopping.restore_best or not best.is_file():
        return None
    return keras.models.load_model(best, compile=False).get_weights()


def train(
    *,
    cfg: Config,
    force: bool = False,
    resume: bool = False,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    progress: ProgressFn = no_progress,
) -> TrainResult:
    """Fit ``cfg.model`` on ``data.dataset``'s train split (and augmented batch), validating on
    its valid split, into ``train.run_dir``. ``progress`` reports the loading of the slices."""
    run_dir, dataset = Path(cfg.train.run_dir), Path(cfg.data.dataset)
    check_run(run_dir, force, resume)  # refuse early; nothing is touched before the data loads
    train_data, valid_data = load_data(cfg, dataset, progress)
    if not train_data.tumour.any():
        raise DataError(f"{dataset}/train: no slice holds tumour; nothing to learn (check the masks / rgb_map)")
    hard, patch = _hard_negatives(cfg, train_data), _patches(cfg, train_data)
    steps = steps_per_epoch(len(train_data), cfg.train)
    run = open_run(run_dir, force, resume)
    notes = list(run.notes)
    state = read_state(run.work) if run.resumed_from else {}
    first_epoch = int(state.get("epochs_done", len(read_history(run.work / "history.csv")))) if run.resumed_from else 0
    setup_runtime(cfg.train)
    model = _model(cfg, run, steps * cfg.train.epochs)
    if run.resumed_from:
        restore_seed_states(model, state.get("seed_generators") or {})
        notes += record_resume(run.work, cfg, first_epoch)
    else:
        (run.work / "versions.json").write_text(json.dumps(versions(), indent=2))
    dump_config(cfg, run.work / "config.yaml")
    write_run_card(run.work, cfg, dataset, int(train_data.images.shape[1]))
    model.fit(
        train_dataset(
            train_data,
            cfg.train,
            cfg.augment.online,
            cfg.model.num_classes,
            first_epoch,
            hard,
            patch,
        ),
        steps_per_epoch=steps,
        validation_data=eval_dataset(valid_data, cfg.model.num_classes, cfg.train.batch_size, cfg.train.cache),
        epochs=cfg.train.epochs,
        initial_epoch=first_epoch,
        callbacks=build_callbacks(cfg, run.work, valid_data, state, _best_weights(run, cfg), callbacks),
        shuffle=False,  # the stream is already shuffled, as a function of (seed, epoch)
        verbose=0,
    )
    run.commit()
    history = read_history(run_dir / "history.csv")
    return _result(run_dir, model.count_params(), history, cfg.train.monitor, notes, cfg.train.checkpoint)


def _result(run_dir: Path, params: int, history: list[dict[str, float]], monitor: str, notes: list[str],
            checkpoint: str = "best") -> TrainResult:  # fmt: skip
    """``best_epoch`` (1-based) is the epoch best.keras holds: the best on ``monitor``, or the last."""
    vals = np.array([r.get(monitor, np.nan) for r in history], dtype=float)
    if not len(vals) or np.isnan(vals).all():
        return TrainResult(run_dir, params, len(history), 0, float("nan"), monitor, history, notes)
    if checkpoint == "last":
        best = len(vals) - 1
    else:
        best = int(np.nanargmin(vals) if monitor == "val_loss" else np.nanargmax(vals))
    return TrainResult(run_dir, params, len(history), best + 1, float(vals[best]), monitor, history, notes)
