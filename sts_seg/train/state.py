"""Callback state that survives ``--resume``: the LR reducer's and early stopping's counters and
best values, the best checkpoint's value and the dropout layers' random state, written to
``train_state.json`` after every epoch.

Keras resets these callbacks in ``on_train_begin``; the subclasses here restore the saved state
right after that reset, so a run resumed at epoch k behaves as the uninterrupted run would.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sts_seg.io.atomic import staged_file
from sts_seg.io.reading import read_json
from sts_seg.runtime import import_keras

keras = import_keras()

STATE = "train_state.json"


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


class ResumableReducer(keras.callbacks.ReduceLROnPlateau):
    """ReduceLROnPlateau whose ``wait``, ``cooldown_counter`` and ``best`` can be restored."""

    def __init__(self, *args: Any, restore: dict | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.restore = restore

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self.restore:
            self.wait, self.cooldown_counter = int(self.restore["wait"]), int(self.restore["cooldown_counter"])
            self.best = self.restore["best"]

    def state(self) -> dict:
        return {"wait": self.wait, "cooldown_counter": self.cooldown_counter, "best": _num(self.best)}


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping whose ``wait``, ``best`` and ``best_epoch`` (and best weights) can be restored."""

    def __init__(self, *args: Any, restore: dict | None = None, best_weights: list | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.restore, self.restore_weights = restore, best_weights

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self.restore:
            self.wait, self.best_epoch = int(self.restore["wait"]), int(self.restore["best_epoch"])
            self.best = self.restore["best"]
            self.best_weights = self.restore_weights

    def state(self) -> dict:
        return {"wait": self.wait, "best": _num(self.best), "best_epoch": self.best_epoch}


def seed_states(model: keras.Model) -> dict[str, list[int]]:
    """The random state of every layer with a seed generator (dropout); Keras does not save it."""
    out = {}
    for layer in model.layers:
        gen = getattr(layer, "seed_generator", None)
        if gen is not None:
            out[layer.name] = [int(v) for v in keras.ops.convert_to_numpy(gen.state).ravel()]
    return out


def restore_seed_states(model: keras.Model, states: dict[str, list[int]]) -> None:
    """Put back what :func:`seed_states` saved, so a resumed run draws the same dropout masks."""
    for layer in model.layers:
        gen = getattr(layer, "seed_generator", None)
        if gen is not None and layer.name in states:
            gen.state.assign(keras.ops.convert_to_tensor(states[layer.name], dtype=gen.state.dtype))


class StateWriter(keras.callbacks.Callback):
    """After each epoch (last in the callback list): the epoch count and every callback's state."""

    def __init__(self, path: Path, reducer: ResumableReducer | None, stopper: ResumableEarlyStopping | None,
                 best: keras.callbacks.ModelCheckpoint) -> None:  # fmt: skip
        super().__init__()
        self.path, self.reducer, self.stopper, self.best = Path(path), reducer, stopper, best

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        state = {
            "epochs_done": epoch + 1,
            "reducer": self.reducer.state() if self.reducer else None,
            "early_stopping": self.stopper.state() if self.stopper else None,
            "best_checkpoint": _num(self.best.best),
            "seed_generators": seed_states(self.model),
        }
        with staged_file(self.path) as tmp:
            tmp.write_text(json.dumps(state, indent=2))


def read_state(run: Path) -> dict:
    """``train_state.json`` of a run ({} when absent)."""
    path = Path(run) / STATE
    return read_json(path, "training state", "start a new run with --force") if path.is_file() else {}
