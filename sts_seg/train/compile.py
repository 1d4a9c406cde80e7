"""Runtime set-up (seeds, determinism, precision) and model compilation (optimiser, loss, metrics)."""

from __future__ import annotations

import platform
import sys

import numpy as np

from sts_seg import __version__
from sts_seg.config import TrainConfig
from sts_seg.model.losses import make_loss
from sts_seg.runtime import import_keras, import_tensorflow
from sts_seg.train.epoch_metrics import SeedPixelAgreement, TumourDice

keras = import_keras()
tf = import_tensorflow()


def versions() -> dict[str, str]:
    """Versions of everything that decides a run's numbers."""
    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "stsseg": __version__,
        "platform": platform.platform(),
    }


def setup_runtime(t: TrainConfig) -> None:
    """Seed Python/NumPy/TF, op determinism, precision policy."""
    keras.utils.set_random_seed(t.seed)
    if t.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(t.precision)


def learning_rate(t: TrainConfig, total_steps: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """``train.learning_rate``, or its per-step decay to 0 over ``total_steps`` optimiser steps."""
    if t.lr_schedule == "poly":
        return keras.optimizers.schedules.PolynomialDecay(t.learning_rate, max(total_steps, 1), 0.0, power=0.9)
    if t.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(t.learning_rate, max(total_steps, 1), alpha=0.0)
    return t.learning_rate


def compile_model(model: keras.Model, t: TrainConfig, num_classes: int, total_steps: int = 1) -> keras.Model:
    """Compile with the configured optimiser (and LR schedule over ``total_steps``), loss and the
    tumour Dice (+ the original's metric)."""
    clip = {"clipvalue": t.clipvalue} if t.clipvalue else {}
    lr = learning_rate(t, total_steps)
    if t.optimizer == "adam":
        opt = keras.optimizers.Adam(lr, **clip)
    elif t.optimizer == "adamw":
        opt = keras.optimizers.AdamW(lr, weight_decay=t.weight_decay, **clip)
    else:
        opt = keras.optimizers.SGD(lr, momentum=0.99, nesterov=True, **clip)
    metrics: list[keras.metrics.Metric] = [TumourDice()]
    if t.log_seed_metric:
        metrics.append(SeedPixelAgreement())
    model.compile(optimizer=opt, loss=make_loss(t, num_classes), metrics=metrics, jit_compile=False)
    return model
