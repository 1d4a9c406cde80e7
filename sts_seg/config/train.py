"""Section ``train``: optimiser, loss, schedule, callbacks and data sampling."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from sts_seg.config.base import Section


class ReducerConfig(Section):
    """ReduceLROnPlateau on ``train.monitor`` (the original's reducer, working)."""

    enabled: bool = True
    """Reduce the learning rate when the monitored value stalls."""
    factor: float = Field(0.5, gt=0, lt=1)
    """New LR = factor * LR."""
    patience: int = Field(6, ge=1)
    """Epochs without improvement before a reduction."""
    min_lr: float = Field(0.0, ge=0)
    """Lower bound of the learning rate."""


class EarlyStoppingConfig(Section):
    """Stop when ``train.monitor`` stops improving."""

    enabled: bool = True
    """Stop early when the monitored value stalls."""
    patience: int = Field(20, ge=1)
    """Epochs without improvement before stopping."""
    restore_best: bool = True
    """Restore the best epoch's weights when stopping."""


class TrainConfig(Section):
    """How ``stsseg train`` fits the model."""

    run_dir: Path = Path("runs/sts")
    """Run folder (checkpoints, history, plots); `--run` overrides."""
    epochs: int = Field(80, ge=1)
    """Total epochs (a resumed run continues up to this number)."""
    batch_size: int = Field(16, ge=1)
    """Slices (or patches) per training batch."""
    steps_per_epoch: int | None = Field(None, ge=1)
    """Batches per epoch; default: one pass over the train slices."""
    seed: int = 137
    """Seed of weights, sampling, shuffling and on-the-fly augmentation."""
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    """`adam`, `adamw` or `sgd` (Nesterov, momentum 0.99)."""
    learning_rate: float = Field(1e-3, gt=0)
    """Initial learning rate."""
    lr_schedule: Literal["constant", "poly", "cosine"] = "constant"
    """`constant` (only `reducer` changes it), `poly` (nnU-Net: lr (1 - step/steps)^0.9) or `cosine`, to 0."""
    weight_decay: float = Field(1e-4, ge=0)
    """Decoupled weight decay of `adamw`."""
    clipvalue: float | None = Field(None, gt=0)
    """Gradient value clipping (the original: 0.5)."""
    loss: Literal["ce", "dice", "ce_dice", "focal", "focal_dice", "ce_tversky"] = "ce_dice"
    """`ce` (the original), `dice`, `ce_dice`, `focal`, `focal_dice`, `ce_tversky` (CE + Tversky)."""
    class_weights: tuple[float, ...] | None = None
    """Per-class weights of the cross-entropy/focal term (one per class)."""
    tversky_beta: float = Field(0.7, gt=0, lt=1)
    """Weight of missed tumour in the Tversky term of `ce_tversky` (false positives get 1 - beta; 0.5 = Dice)."""
    focal_gamma: float = Field(2.0, ge=0)
    """Focusing exponent of the focal losses."""
    checkpoint: Literal["best", "last"] = "best"
    """Weights kept as best.keras: the `best` epoch on `monitor`, or the `last` one (nnU-Net's final checkpoint)."""
    monitor: Literal["val_loss", "val_tumour_dice"] = "val_tumour_dice"
    """Metric for checkpoints, LR reduction and early stopping."""
    reducer: ReducerConfig = ReducerConfig()
    """Learning-rate reduction on plateau."""
    early_stopping: EarlyStoppingConfig = EarlyStoppingConfig()
    """Early stopping."""
    tumour_fraction: float | None = Field(0.33, gt=0, lt=1)
    """Fraction of sampled slices that hold tumour (nnU-Net oversamples 33 %); null = uniform."""
    hard_negative_fraction: float | None = Field(0.25, gt=0, lt=1)
    """Fraction of samples from hard negatives: no tumour, PET >= `hard_negative_suv` (bladder, nodes); null = none."""
    hard_negative_suv: float = Field(4.0, gt=0)
    """SUV a tumour-free slice must reach somewhere to count as a hard negative."""
    patch_size: int | None = Field(64, ge=8)
    """Train on square patches of this many px (a multiple of 2^(num_layers-1), <= the canvas); null = whole slices."""
    cache: bool = True
    """Cache the validation stream in memory."""
    preview_images: int = Field(4, ge=0)
    """Validation slices in the per-epoch preview grid."""
    precision: Literal["float32", "mixed_bfloat16"] = "float32"
    """`mixed_bfloat16` is faster on CPUs with AVX512-BF16."""
    deterministic: bool = False
    """TensorFlow op determinism (slower)."""
    log_seed_metric: bool = True
    """Also log the original's `dice_coef_multiclass` as `seed_pixel_agreement`."""

    @model_validator(mode="after")
    def _one_schedule(self) -> TrainConfig:
        if self.lr_schedule != "constant" and self.reducer.enabled:
            raise ValueError(
                f"train.lr_schedule {self.lr_schedule} sets the learning rate every step; "
                "set train.reducer.enabled: false (or lr_schedule: constant)"
            )
        return self
