"""Keras callbacks: LR logging, per-epoch preview grids and training-curve plots."""

from __future__ import annotations

import csv
from pathlib import Path

import keras
import numpy as np

from sts_seg import viz
from sts_seg.io import png
from sts_seg.io.atomic import staged_file


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
            [img, viz.blend(img, m, color=viz.GREEN), viz.blend(img, p)]
            for img, m, p in zip(self.images, self.masks, pred, strict=True)
        ]
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with staged_file(self.out_dir / f"epoch_{epoch + 1:03d}.png") as tmp:
            png.write_image(tmp, viz.grid(rows, scale=self.scale))


def read_history(path: Path) -> list[dict[str, float]]:
    """Rows of a Keras CSVLogger file as floats ([] if absent)."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as fh:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fh)]


def plot_history(history: list[dict[str, float]], path: Path) -> None:
    """Loss, tumour Dice and learning rate per epoch, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [int(r["epoch"]) + 1 for r in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = [
        ("loss", "loss", False),
        ("tumour_dice", "tumour Dice (argmax, pooled)", False),
        ("learning_rate", "learning rate", True),
    ]
    for ax, (key, title, log) in zip(axes, panels, strict=True):
        for prefix, style in (("", "o-"), ("val_", "s--")):
            ys = [r.get(prefix + key) for r in history]
            if key == "learning_rate" and prefix:
                continue
            if any(y is not None for y in ys):
                ax.plot(epochs, [np.nan if y is None else y for y in ys], style, ms=3, label=prefix + key)
        ax.set(title=title, xlabel="epoch")
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with staged_file(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


class PlotCallback(keras.callbacks.Callback):
    """Re-draws ``plots/curves.png`` from history.csv after every epoch."""

    def __init__(self, history_csv: Path, out: Path) -> None:
        super().__init__()
        self.history_csv, self.out = Path(history_csv), Path(out)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        rows = read_history(self.history_csv)
        if rows:
            plot_history(rows, self.out)
