"""A Keras callback that renders training progress with rich (CLI only)."""

from __future__ import annotations

import math
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sts_seg.runtime import import_keras

keras = import_keras()


def _fmt(v: float | None, spec: str = ".4f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


class RichProgress(keras.callbacks.Callback):
    """A per-epoch step bar and one summary line per epoch (tumour Dice first)."""

    def __init__(self, console: Console, live: bool = True) -> None:
        super().__init__()
        self.console, self.epochs, self.steps = console, 0, 0
        self.bar = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not live,
        )
        self.task = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epochs, self.steps = self.params.get("epochs") or 0, self.params.get("steps") or 0
        self.bar.start()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.stop()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.t0 = time.perf_counter()
        self.task = self.bar.add_task("", total=self.steps, epoch=f"{epoch + 1}/{self.epochs}", loss="-")

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=batch + 1, loss=_fmt((logs or {}).get("loss")))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.task is not None:
            self.bar.remove_task(self.task)
        dt = time.perf_counter() - self.t0
        self.console.print(
            f"epoch {epoch + 1:>3}/{self.epochs}  loss {_fmt(logs.get('loss'))}  "
            f"val_loss {_fmt(logs.get('val_loss'))}  tumour Dice {_fmt(logs.get('tumour_dice'), '.3f')}  "
            f"[bold]val tumour Dice {_fmt(logs.get('val_tumour_dice'), '.3f')}[/]  "
            f"lr {_fmt(logs.get('learning_rate'), '.2e')}  {dt:.0f}s ({self.steps / max(dt, 1e-9):.1f} steps/s)",
            highlight=False,
        )
