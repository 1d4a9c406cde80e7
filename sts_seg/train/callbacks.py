"""Keras callbacks: LR logging, per-epoch preview grids and training-curve plots."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from sts_seg.core import pictures
from sts_seg.io import png
from sts_seg.io.atomic import staged_file
from sts_seg.train.plots import plot_history, read_history


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
