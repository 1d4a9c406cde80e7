"""Segmentation losses on one-hot ``y_true (B, H, W, C)`` and softmax ``y_pred (B, H, W, C)``.

Every loss returns one scalar for the batch, registered under the ``sts_seg`` package so a
``.keras`` file reloads without ``custom_objects``.

* Cross-entropy and focal loss are averaged over every pixel of the batch (the original's
  ``SUM_OVER_BATCH_SIZE``). With ``class_weights`` each pixel's term is multiplied by the weight
  of its true class and the result is still divided by the pixel count (Keras' ``class_weight``
  convention, not renormalised by the weights).
* Soft Dice is computed on the foreground channels ``1..C−1`` only, **batch-global**: sums over
  all pixels of all images of the batch, per class, ``dice_c = (2Σyp + ε)/(Σy + Σp + ε)``, loss
  ``1 − mean_c dice_c``. Pooling over the batch keeps the gradient meaningful on batches where
  single slices hold no tumour; ε = 1e-5 only guards the empty case (a batch with no tumour
  then pushes the predicted tumour probability towards 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sts_seg.config import TrainConfig
from sts_seg.errors import ConfigError
from sts_seg.runtime import import_keras

keras = import_keras()
ops = keras.ops

PROB_EPS = 1e-7  # probabilities are clipped to [PROB_EPS, 1 − PROB_EPS] before log (as Keras does)
DICE_EPS = 1e-5


def _weights(class_weights: Sequence[float] | None, dtype: Any) -> Any:
    if class_weights is None:
        return None
    return ops.reshape(ops.convert_to_tensor(list(class_weights), dtype=dtype), (1, 1, 1, -1))


def categorical_crossentropy(y_true: Any, y_pred: Any, class_weights: Sequence[float] | None = None) -> Any:
    """Mean over pixels of ``−Σ_c w_c y_c log p_c`` (scalar)."""
    return focal_crossentropy(y_true, y_pred, gamma=0.0, class_weights=class_weights)


def focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    gamma: float = 2.0,
    class_weights: Sequence[float] | None = None,
) -> Any:
    """Mean over pixels of ``−Σ_c w_c y_c (1 − p_c)^γ log p_c`` (scalar); γ = 0 is plain CE."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    p = ops.clip(y_pred, PROB_EPS, 1.0 - PROB_EPS)
    terms = -y_true * ops.log(p)
    if gamma:
        terms = terms * ops.power(1.0 - p, gamma)
    w = _weights(class_weights, y_pred.dtype)
    if w is not None:
        terms = terms * w
    return ops.mean(ops.sum(terms, axis=-1))


def _foreground(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """The foreground channels ``1..C-1`` of truth (cast to the prediction's dtype) and prediction."""
    y_pred = ops.convert_to_tensor(y_pred)
    return ops.cast(y_true, y_pred.dtype)[..., 1:], y_pred[..., 1:]


def soft_dice_loss(y_true: Any, y_pred: Any, smooth: float = DICE_EPS) -> Any:
    """``1 − mean_c (2Σyp + ε)/(Σy + Σp + ε)`` over foreground classes c ≥ 1, sums batch-global."""
    t, p = _foreground(y_true, y_pred)
    axes = (0, 1, 2)
    inter = ops.sum(t * p, axis=axes)
    denom = ops.sum(t, axis=axes) + ops.sum(p, axis=axes)
    dice = (2.0 * inter + smooth) / (denom + smooth)
    return 1.0 - ops.mean(dice)


def tversky_loss(y_true: Any, y_pred: Any, beta: float = 0.7, smooth: float = DICE_EPS) -> Any:
    """``1 − mean_c (Σyp + ε)/(Σyp + (1−β)Σ(1−y)p + βΣy(1−p) + ε)`` over foreground classes, sums
    batch-global; β weighs missed tumour (false negatives), 1 − β false positives; β = 0.5 is Dice."""
    t, p = _foreground(y_true, y_pred)
    axes = (0, 1, 2)
    tp = ops.sum(t * p, axis=axes)
    fp = ops.sum((1.0 - t) * p, axis=axes)
    fn = ops.sum(t * (1.0 - p), axis=axes)
    index = (tp + smooth) / (tp + (1.0 - beta) * fp + beta * fn + smooth)
    return 1.0 - ops.mean(index)


class SegmentationLoss(keras.losses.Loss):
    """Base: holds ``class_weights``, ``gamma`` and ``smooth`` and serialises them."""

    default_name = "loss"

    def __init__(
        self,
        class_weights: Sequence[float] | None = None,
        gamma: float = 2.0,
        smooth: float = DICE_EPS,
        beta: float = 0.7,
        name: str | None = None,
        reduction: str = "sum_over_batch_size",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name or self.default_name, reduction=reduction, dtype=dtype)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.gamma = float(gamma)
        self.smooth = float(smooth)
        self.beta = float(beta)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(class_weights=self.class_weights, gamma=self.gamma, smooth=self.smooth, beta=self.beta)
        return config


@keras.saving.register_keras_serializable(package="sts_seg")
class CrossEntropy(SegmentationLoss):
    """Categorical crossentropy (the original's loss), optional class weights."""

    default_name = "ce"

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return categorical_crossentropy(y_true, y_pred, self.class_weights)


@keras.saving.register_keras_serializable(package="sts_seg")
class SoftDice(SegmentationLoss):
    """Batch-global soft Dice loss on the foreground classes."""

    default_name = "dice"

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return soft_dice_loss(y_true, y_pred, self.smooth)


@keras.saving.register_keras_serializable(package="sts_seg")
class CrossEntropyDice(SegmentationLoss):
    """Crossentropy + soft Dice (unweighted sum); the default."""

    default_name = "ce_dice"

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ce = categorical_crossentropy(y_true, y_pred, self.class_weights)
        return ce + soft_dice_loss(y_true, y_pred, self.smooth)


@keras.saving.register_keras_serializable(package="sts_seg")
class Focal(SegmentationLoss):
    """Focal crossentropy with exponent ``gamma``, optional class weights (the α term)."""

    default_name = "focal"

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return focal_crossentropy(y_true, y_pred, self.gamma, self.class_weights)


@keras.saving.register_keras_serializable(package="sts_seg")
class FocalDice(SegmentationLoss):
    """Focal crossentropy + soft Dice (unweighted sum)."""

    default_name = "focal_dice"

    def call(self, y_true: Any, y_pred: Any) -> Any:
        focal = focal_crossentropy(y_true, y_pred, self.gamma, self.class_weights)
        return focal + soft_dice_loss(y_true, y_pred, self.smooth)


@keras.saving.register_keras_serializable(package="sts_seg")
class CrossEntropyTversky(SegmentationLoss):
    """Crossentropy + Tversky (unweighted sum): ``beta`` > 0.5 favours recall (small tumours)."""

    default_name = "ce_tversky"

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ce = categorical_crossentropy(y_true, y_pred, self.class_weights)
        return ce + tversky_loss(y_true, y_pred, self.beta, self.smooth)


LOSSES: dict[str, type[SegmentationLoss]] = {
    "ce": CrossEntropy,
    "dice": SoftDice,
    "ce_dice": CrossEntropyDice,
    "focal": Focal,
    "focal_dice": FocalDice,
    "ce_tversky": CrossEntropyTversky,
}


def make_loss(train_cfg: TrainConfig, num_classes: int) -> SegmentationLoss:
    """The loss named by ``train_cfg.loss`` with its class weights, focal γ and Tversky β."""
    cls = LOSSES[train_cfg.loss]  # a Literal of LOSSES' keys
    weights = train_cfg.class_weights
    if weights is not None and len(weights) != num_classes:
        raise ConfigError(
            f"train.class_weights has {len(weights)} entries but the model has "
            f"{num_classes} classes; give one weight per class"
        )
    if weights is not None and cls is SoftDice:
        raise ConfigError("train.class_weights has no effect with loss 'dice'; remove it")
    return cls(class_weights=weights, gamma=train_cfg.focal_gamma, beta=train_cfg.tversky_beta)
