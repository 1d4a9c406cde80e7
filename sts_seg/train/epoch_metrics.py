"""Training metrics on one-hot ``y_true (B, H, W, C)`` and softmax ``y_pred (B, H, W, C)``.

``TumourDice`` is the headline: the Dice of the argmax tumour prediction, pooled over every
pixel the metric saw since its last reset (an epoch in ``fit``). ``SeedPixelAgreement`` is the
original project's ``dice_coef_multiclass``, kept only to compare with its published curves.
"""

from __future__ import annotations

from typing import Any

from sts_seg.runtime import import_keras

keras = import_keras()
ops = keras.ops


def _pixel_weights(sample_weight: Any, shape_like: Any) -> Any:
    """Broadcast a per-sample ``(B,)`` or per-pixel ``(B, H, W)`` weight to ``(B, H, W)``."""
    w = ops.cast(ops.convert_to_tensor(sample_weight), "float32")
    while len(w.shape) < 3:
        w = ops.expand_dims(w, -1)
    return ops.broadcast_to(w, ops.shape(shape_like))


@keras.saving.register_keras_serializable(package="sts_seg")
class TumourDice(keras.metrics.Metric):
    """Foreground Dice ``2I/(P + T)`` of the argmax prediction, pooled over pixels and batches.

    A pixel is foreground when its (true or predicted) argmax class is ≥ 1; ``I`` counts the
    pixels where truth and prediction are the same foreground class (for 2 classes: the plain
    tumour Dice; for more: the micro-averaged foreground Dice). Counts accumulate in float64
    across ``update_state`` calls. When neither truth nor prediction held any foreground since
    the last reset the result is 1.0 (perfect agreement on "no tumour"), never NaN.
    ``sample_weight`` (per sample or per pixel) weights the pixel counts.
    """

    def __init__(self, name: str = "tumour_dice", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.intersection = self.add_variable((), "zeros", dtype="float64", name="intersection")
        self.predicted = self.add_variable((), "zeros", dtype="float64", name="predicted")
        self.truth = self.add_variable((), "zeros", dtype="float64", name="truth")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t_cls = ops.argmax(y_true, axis=-1)
        p_cls = ops.argmax(y_pred, axis=-1)
        t_fg = ops.cast(t_cls >= 1, "float32")
        p_fg = ops.cast(p_cls >= 1, "float32")
        hit = t_fg * ops.cast(ops.equal(t_cls, p_cls), "float32")
        if sample_weight is not None:
            w = _pixel_weights(sample_weight, t_fg)
            t_fg, p_fg, hit = t_fg * w, p_fg * w, hit * w
        # per-batch sums are exact in float32 up to 2^24 pixels; the running totals are float64
        self.intersection.assign_add(ops.cast(ops.sum(hit), "float64"))
        self.predicted.assign_add(ops.cast(ops.sum(p_fg), "float64"))
        self.truth.assign_add(ops.cast(ops.sum(t_fg), "float64"))

    def result(self) -> Any:
        denom = self.predicted + self.truth
        dice = ops.where(denom > 0, 2.0 * self.intersection / ops.maximum(denom, 1e-12), 1.0)
        return ops.cast(dice, self.dtype)


@keras.saving.register_keras_serializable(package="sts_seg")
class SeedPixelAgreement(keras.metrics.Metric):
    """The original ``dice_coef_multiclass`` (its ``dice_coef_multiclass.py``), for comparison only.

    Per sample ``(2·Σ y·p + 1)/(Σ y + Σ p + 1)`` with the sums over all pixels **and all
    classes**, averaged over the samples seen since the last reset (the original averaged
    per-batch means; equal when all batches have the same size). Because ``y`` is one-hot and
    ``p`` a softmax, ``Σy = Σp = H·W``, so the value is ≈ the mean predicted probability of the
    true class, i.e. a soft pixel accuracy: an all-background prediction on slices with 2 %
    tumour already scores ≈ 0.98. It is **not** a tumour Dice; use ``TumourDice`` for that.
    """

    def __init__(self, name: str = "seed_pixel_agreement", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", dtype="float64", name="total")
        self.count = self.add_variable((), "zeros", dtype="float64", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
        axes = (1, 2, 3)
        inter = ops.sum(y_true * y_pred, axis=axes)
        union = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
        per_sample = (2.0 * inter + 1.0) / (union + 1.0)
        weight = ops.ones_like(per_sample)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), ops.shape(per_sample))
        self.total.assign_add(ops.cast(ops.sum(per_sample * weight), "float64"))
        self.count.assign_add(ops.cast(ops.sum(weight), "float64"))

    def result(self) -> Any:
        return ops.cast(ops.divide_no_nan(self.total, self.count), self.dtype)
