"""Losses and metrics against values computed by hand on tiny tensors."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from sts_seg.config import TrainConfig
from sts_seg.errors import ConfigError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

pytestmark = pytest.mark.tf

EPS = 1e-5

# one 2×2 image: labels [[0, 1], [0, 0]]; predicted tumour probability [[.2, .7], [.4, .1]]
LABELS = np.array([[[0, 1], [0, 0]]])
P_FG = np.array([[[0.2, 0.7], [0.4, 0.1]]])
# probability of each pixel's true class, in pixel order
P_TRUE = [0.8, 0.7, 0.6, 0.9]


def onehot(labels: np.ndarray, c: int = 2) -> np.ndarray:
    return np.eye(c, dtype="float32")[labels]


def probs(p_fg: np.ndarray) -> np.ndarray:
    return np.stack([1 - p_fg, p_fg], axis=-1).astype("float32")


def value(x: object) -> float:
    return float(np.asarray(x))


@pytest.fixture(scope="module")
def lo():
    from sts_seg.model import losses

    return losses


@pytest.fixture(scope="module")
def mt():
    from sts_seg.train import epoch_metrics as metrics

    return metrics


# ----------------------------------------------------------------------------- losses


def test_crossentropy_by_hand(lo) -> None:
    y, p = onehot(LABELS), probs(P_FG)
    hand = -sum(math.log(q) for q in P_TRUE) / 4
    assert value(lo.CrossEntropy()(y, p)) == pytest.approx(hand, rel=1e-5)
    import keras

    keras_ce = value(keras.losses.CategoricalCrossentropy()(y, p))
    assert value(lo.CrossEntropy()(y, p)) == pytest.approx(keras_ce, rel=1e-5)


def test_class_weights_change_crossentropy_by_hand(lo) -> None:
    y, p = onehot(LABELS), probs(P_FG)
    w = (1.0, 3.0)
    hand = -(math.log(0.8) + 3 * math.log(0.7) + math.log(0.6) + math.log(0.9)) / 4
    got = value(lo.CrossEntropy(class_weights=w)(y, p))
    assert got == pytest.approx(hand, rel=1e-5)
    assert got > value(lo.CrossEntropy()(y, p))


def test_soft_dice_by_hand(lo) -> None:
    y, p = onehot(LABELS), probs(P_FG)
    inter, sy, sp = 0.7, 1.0, 0.2 + 0.7 + 0.4 + 0.1
    hand = 1 - (2 * inter + EPS) / (sy + sp + EPS)
    assert value(lo.SoftDice()(y, p)) == pytest.approx(hand, rel=1e-5)


def test_tversky_by_hand(lo) -> None:
    """tp = 0.7, fp = 0.2 + 0.4 + 0.1 = 0.7, fn = 0.3; beta 0.7 weighs the miss, 0.3 the false alarm."""
    y, p = onehot(LABELS), probs(P_FG)
    tp, fp, fn = 0.7, 0.7, 0.3
    hand = 1 - (tp + EPS) / (tp + 0.3 * fp + 0.7 * fn + EPS)
    assert value(lo.tversky_loss(y, p, beta=0.7)) == pytest.approx(hand, rel=1e-5)
    ce = -sum(math.log(q) for q in P_TRUE) / 4
    assert value(lo.CrossEntropyTversky(beta=0.7)(y, p)) == pytest.approx(ce + hand, rel=1e-5)
    assert value(lo.tversky_loss(y, p, beta=0.5)) == pytest.approx(value(lo.SoftDice()(y, p)), rel=1e-5)  # = Dice
    # here false alarms (0.7) outweigh the miss (0.3): a larger beta weighs the miss more, the alarms less
    assert value(lo.tversky_loss(y, p, beta=0.9)) == pytest.approx(1 - (tp + EPS) / (tp + 0.1 * fp + 0.9 * fn + EPS))
    assert value(lo.tversky_loss(y, p, beta=0.9)) < value(lo.tversky_loss(y, p, beta=0.5))


def test_soft_dice_is_batch_global(lo) -> None:
    # second image has no tumour but predicts 0.5 on one pixel: pooled, not averaged per image
    labels = np.array([[[0, 1], [0, 0]], [[0, 0], [0, 0]]])
    p_fg = np.array([[[0.2, 0.7], [0.4, 0.1]], [[0.5, 0.0], [0.0, 0.0]]])
    pooled = 1 - (2 * 0.7 + EPS) / (1.0 + 1.4 + 0.5 + EPS)
    per_image = 1 - ((1.4 + EPS) / (2.4 + EPS) + EPS / (0.5 + EPS)) / 2
    got = value(lo.SoftDice()(onehot(labels), probs(p_fg)))
    assert got == pytest.approx(pooled, rel=1e-5)
    assert got != pytest.approx(per_image, rel=1e-2)


def test_soft_dice_averages_foreground_classes_only(lo) -> None:
    # 3 classes, 2 pixels: truth [1, 2], prediction rows are softmax probabilities
    y = onehot(np.array([[[1, 2]]]), 3)
    p = np.array([[[[0.1, 0.6, 0.3], [0.2, 0.2, 0.6]]]], dtype="float32")
    d1 = (2 * 0.6 + EPS) / (1 + 0.8 + EPS)
    d2 = (2 * 0.6 + EPS) / (1 + 0.9 + EPS)
    assert value(lo.SoftDice()(y, p)) == pytest.approx(1 - (d1 + d2) / 2, rel=1e-5)


def test_focal_by_hand(lo) -> None:
    y, p = onehot(LABELS), probs(P_FG)
    g = 2.0
    hand = -sum((1 - q) ** g * math.log(q) for q in P_TRUE) / 4
    assert value(lo.Focal(gamma=g)(y, p)) == pytest.approx(hand, rel=1e-5)
    weighted = -sum(w * (1 - q) ** g * math.log(q) for w, q in zip((1, 3, 1, 1), P_TRUE, strict=True)) / 4
    got = value(lo.Focal(gamma=g, class_weights=(1.0, 3.0))(y, p))
    assert got == pytest.approx(weighted, rel=1e-5)
    # gamma 0 is plain crossentropy, computed by hand
    assert value(lo.Focal(gamma=0.0)(y, p)) == pytest.approx(-sum(math.log(q) for q in P_TRUE) / 4, rel=1e-5)


def test_combined_losses_are_sums(lo) -> None:
    y, p = onehot(LABELS), probs(P_FG)
    ce, dice = value(lo.CrossEntropy()(y, p)), value(lo.SoftDice()(y, p))
    focal = value(lo.Focal(gamma=1.5)(y, p))
    assert value(lo.CrossEntropyDice()(y, p)) == pytest.approx(ce + dice, rel=1e-6)
    assert value(lo.FocalDice(gamma=1.5)(y, p)) == pytest.approx(focal + dice, rel=1e-6)


def test_perfect_prediction_gives_near_zero_loss(lo) -> None:
    y = onehot(LABELS)
    assert value(lo.CrossEntropyDice()(y, y)) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize(
    ("name", "cls_name"),
    [
        ("ce", "CrossEntropy"),
        ("dice", "SoftDice"),
        ("ce_dice", "CrossEntropyDice"),
        ("focal", "Focal"),
        ("focal_dice", "FocalDice"),
        ("ce_tversky", "CrossEntropyTversky"),
    ],
)
def test_make_loss_maps_names(lo, name: str, cls_name: str) -> None:
    loss = lo.make_loss(TrainConfig(loss=name, focal_gamma=1.0), num_classes=2)
    assert type(loss).__name__ == cls_name
    assert loss.gamma == 1.0


def test_make_loss_passes_and_checks_class_weights(lo) -> None:
    loss = lo.make_loss(TrainConfig(loss="ce", class_weights=(1.0, 5.0)), num_classes=2)
    assert loss.class_weights == [1.0, 5.0]
    with pytest.raises(ConfigError, match="3 classes"):
        lo.make_loss(TrainConfig(loss="ce", class_weights=(1.0, 5.0)), num_classes=3)
    with pytest.raises(ConfigError, match="no effect"):
        lo.make_loss(TrainConfig(loss="dice", class_weights=(1.0, 5.0)), num_classes=2)


def test_loss_serialization_round_trip(lo) -> None:
    import keras

    loss = lo.FocalDice(gamma=3.0, class_weights=(0.5, 2.0), smooth=1e-4)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(again) is lo.FocalDice
    assert (again.gamma, again.class_weights, again.smooth) == (3.0, [0.5, 2.0], 1e-4)
    tv = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(lo.CrossEntropyTversky(beta=0.8)))
    assert (type(tv), tv.beta, tv.name) == (lo.CrossEntropyTversky, 0.8, "ce_tversky")
    assert again.name == "focal_dice"


# ----------------------------------------------------------------------------- metrics


def test_tumour_dice_pools_across_updates(mt) -> None:
    m = mt.TumourDice()
    # batch 1: truth fg at (0,0),(0,1); prediction fg at (0,0),(1,0) -> I=1, P=2, T=2
    t1 = onehot(np.array([[[1, 1], [0, 0]]]))
    p1 = probs(np.array([[[0.9, 0.2], [0.6, 0.1]]]))
    # batch 2: truth fg at (1,1); nothing predicted -> I=0, P=0, T=1
    t2 = onehot(np.array([[[0, 0], [0, 1]]]))
    p2 = probs(np.array([[[0.1, 0.1], [0.1, 0.4]]]))
    m.update_state(t1, p1)
    assert value(m.result()) == pytest.approx(2 * 1 / (2 + 2))
    m.update_state(t2, p2)
    assert value(m.result()) == pytest.approx(2 * 1 / (2 + 3))  # pooled 0.4, not mean 0.25
    m.reset_state()
    assert value(m.result()) == 1.0


def test_tumour_dice_empty_cases(mt) -> None:
    m = mt.TumourDice()
    empty = onehot(np.zeros((1, 2, 2), int))
    m.update_state(empty, probs(np.full((1, 2, 2), 0.1)))
    assert value(m.result()) == 1.0  # no tumour anywhere, none predicted
    m.update_state(empty, probs(np.array([[[0.9, 0.1], [0.1, 0.1]]])))
    assert value(m.result()) == 0.0  # one false positive pixel


def test_tumour_dice_multiclass_needs_same_class(mt) -> None:
    m = mt.TumourDice()
    t = onehot(np.array([[[1, 2, 0]]]), 3)
    p = onehot(np.array([[[1, 1, 0]]]), 3)  # second pixel: foreground but wrong class
    m.update_state(t, p)
    assert value(m.result()) == pytest.approx(2 * 1 / (2 + 2))


def test_tumour_dice_sample_weight(mt) -> None:
    m = mt.TumourDice()
    t = onehot(np.array([[[1, 0]], [[1, 0]]]))
    p = onehot(np.array([[[1, 0]], [[0, 1]]]))
    m.update_state(t, p, sample_weight=np.array([1.0, 0.0]))
    assert value(m.result()) == 1.0  # the wrong second sample is weighted out


def test_seed_pixel_agreement_all_background_scores_high(mt) -> None:
    # 10×10 mask with 2 % tumour, hard all-background prediction
    labels = np.zeros((1, 10, 10), int)
    labels[0, 4, 4:6] = 1
    y = onehot(labels)
    p = onehot(np.zeros_like(labels))
    hand = (2 * 98 + 1) / (100 + 100 + 1)  # Σy·p counts the 98 background pixels
    m = mt.SeedPixelAgreement()
    m.update_state(y, p)
    assert value(m.result()) == pytest.approx(hand, rel=1e-6)
    assert value(m.result()) == pytest.approx(0.980, abs=1e-3)
    dice = mt.TumourDice()
    dice.update_state(y, p)
    assert value(dice.result()) == 0.0


def test_seed_pixel_agreement_averages_samples(mt) -> None:
    y, p = onehot(LABELS), probs(P_FG)
    s1 = (2 * sum(P_TRUE) + 1) / (4 + 4 + 1)
    s2 = 1.0  # perfect prediction: (2·4 + 1)/(8 + 1)
    m = mt.SeedPixelAgreement()
    m.update_state(np.concatenate([y, y]), np.concatenate([p, y]))
    m.update_state(y, y)
    assert value(m.result()) == pytest.approx((s1 + 2 * s2) / 3, rel=1e-6)


def test_metric_serialization_round_trip(mt) -> None:
    import keras

    for cls, name in (
        (mt.TumourDice, "tumour_dice"),
        (mt.SeedPixelAgreement, "seed_pixel_agreement"),
    ):
        obj = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(cls()))
        assert type(obj) is cls
        assert obj.name == name
