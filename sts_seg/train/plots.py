"""Training history: read ``history.csv`` and draw ``plots/curves.png`` (loss, tumour Dice, LR)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sts_seg.io.atomic import staged_file
from sts_seg.io.reading import READ_ERRORS, reading


def read_history(path: Path) -> list[dict[str, float]]:
    """Rows of a Keras CSVLogger file as floats ([] if absent)."""
    if not Path(path).is_file():
        return []
    bad = (*READ_ERRORS, TypeError)  # a row with more cells than the header: float() of a list
    with reading(path, "training history", "start a new run with --force", bad), open(path, newline="") as fh:
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
