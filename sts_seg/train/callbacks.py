"""Keras callbacks: LR logging, per-epoch preview grids and training-curve plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sts_seg.config import Config
from sts_seg.core import pictures
from sts_seg.io import png
from sts_seg.io.atomic import staged_file
from sts_seg.runtime import import_keras
from sts_seg.train.arrays import SliceArrays
from sts_seg.train.plots import plot_history, read_history
from sts_seg.train.state import STATE, ResumableEarlyStopping, ResumableReducer, StateWriter

keras = import_keras()


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's current ``learning_rate`` to the epoch logs (so history.csv has it)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class PreviewCallback(keras.callbacks.Callback):
    """Each epoch: a PNG grid of (input, truth, prediction) for a few validation images."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, out_dir: Path, scale: int = 2) -> None:
        super().__init__()
        self.images, self.masks, self.out_dir, self.scale = images, masks, Path(out_dir), scale

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not len(self.images):
            return
        pred = np.argmax(self.model(self.images.astype(np.float32), training=False), axis=-1)
        rows = [
            [img, pictures.blend(img, m, color=pictures.GREEN), pictures.blend(img, p)]
            for img, m, p in zip(self.images, self.masks, pred, strict=True)
        ]
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with staged_file(self.out_dir / f"epoch_{epoch + 1:03d}.png") as tmp:
            png.write_image(tmp, pictures.grid(rows, scale=self.scale))


class PlotCallback(keras.callbacks.Callback):
    """Re-draws ``plots/curves.png`` from history.csv after every epoch."""

    def __init__(self, history_csv: Path, out: Path) -> None:
        super().__init__()
        self.history_csv, self.out = Path(history_csv), Path(out)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        rows = read_history(self.history_csv)
        if rows:
            plot_history(rows, self.out)


def _preview_indices(data: SliceArrays, n: int) -> np.ndarray:
    """The ``n`` validation slices with the most tumour (evenly spread over the ranking)."""
    order = np.argsort(-data.masks.reshape(len(data), -1).sum(1, dtype=np.int64), kind="stable")
    pos = order[: max(1, int(data.tumour.sum()))]
    return np.sort(pos[np.linspace(0, len(pos) - 1, min(n, len(pos))).round().astype(int)])


def build_callbacks(
    cfg: Config,
    run: Path,
    valid: SliceArrays,
    state: dict,
    best_weights: list | None,
    extra: Sequence[keras.callbacks.Callback] = (),
) -> list[keras.callbacks.Callback]:
    """In order: log the epoch's LR, write the CSV and plot, reduce the LR, stop early,
    checkpoint best and last, then save every callback's state (so ``--resume`` is exact).
    ``state``: a resumed run's ``train_state.json`` ({} for a fresh run)."""
    t, mon = cfg.train, cfg.train.monitor
    mode = "min" if mon == "val_loss" else "max"
    out: list[keras.callbacks.Callback] = [
        LearningRateLogger(),
        keras.callbacks.CSVLogger(str(run / "history.csv"), append=bool(state)),
        PlotCallback(run / "history.csv", run / "plots" / "curves.png"),
    ]
    reducer = stopper = None
    if t.reducer.enabled:
        r = t.reducer
        reducer = ResumableReducer(
            monitor=mon, mode=mode, factor=r.factor, patience=r.patience, min_lr=r.min_lr, verbose=0,
            restore=state.get("reducer"),
        )  # fmt: skip
        out.append(reducer)
    if t.early_stopping.enabled:
        es = t.early_stopping
        stopper = ResumableEarlyStopping(
            monitor=mon, mode=mode, patience=es.patience, restore_best_weights=es.restore_best,
            restore=state.get("early_stopping"), best_weights=best_weights,
        )  # fmt: skip
        out.append(stopper)
    best = keras.callbacks.ModelCheckpoint(
        str(run / "best.keras"), monitor=mon, mode=mode, save_best_only=t.checkpoint == "best",
        initial_value_threshold=state.get("best_checkpoint"),
    )  # fmt: skip
    out += [
        best,
        keras.callbacks.ModelCheckpoint(str(run / "last.keras")),
        StateWriter(run / STATE, reducer, stopper, best),
    ]
    if t.preview_images:
        idx = _preview_indices(valid, t.preview_images)
        out.append(PreviewCallback(valid.images[idx], valid.masks[idx], run / "previews"))
    return [*out, *extra]
