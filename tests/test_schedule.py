"""Per-step learning-rate schedules and training patches in the config: values by hand, and the
one-line refusals of settings that cannot work together."""

from __future__ import annotations

import pytest

from sts_seg.config import load_config
from sts_seg.errors import ConfigError


def test_a_schedule_and_the_plateau_reducer_are_refused_together():
    with pytest.raises(ConfigError, match=r"train.lr_schedule poly .* set train.reducer.enabled: false"):
        load_config(None, ["train.lr_schedule=poly"])
    cfg = load_config(None, ["train.lr_schedule=cosine", "train.reducer.enabled=false"])
    assert cfg.train.lr_schedule == "cosine"


def test_a_patch_size_the_model_cannot_halve_is_refused_with_a_valid_one():
    with pytest.raises(ConfigError, match=r"train.patch_size 60 .* multiple of 16 \(e.g. 64\)"):
        load_config(None, ["train.patch_size=60", "model.num_layers=5"])
    assert load_config(None, ["train.patch_size=64"]).train.patch_size == 64


@pytest.mark.tf
@pytest.mark.parametrize(
    ("schedule", "step", "want"),
    [
        ("poly", 0, 2e-3),
        ("poly", 50, 2e-3 * 0.5**0.9),  # nnU-Net: lr * (1 - step / steps) ** 0.9
        ("poly", 75, 2e-3 * 0.25**0.9),
        ("poly", 100, 0.0),
        ("cosine", 50, 1e-3),  # 2e-3 * (1 + cos(pi / 2)) / 2
        ("cosine", 25, 2e-3 * (1 + 2**-0.5) / 2),
        ("cosine", 100, 0.0),
    ],
)
def test_schedules_follow_their_formulas(schedule, step, want):
    from sts_seg.train.compile import learning_rate

    cfg = load_config(None, [f"train.lr_schedule={schedule}", "train.reducer.enabled=false",
                             "train.learning_rate=2e-3"])  # fmt: skip
    lr = learning_rate(cfg.train, total_steps=100)
    assert float(lr(step)) == pytest.approx(want, abs=1e-9)
    assert learning_rate(load_config(None, ["train.learning_rate=2e-3"]).train, 100) == 2e-3


@pytest.mark.tf
def test_the_optimizer_follows_the_schedule_while_training(tmp_path):
    """Two epochs of 3 steps under poly: history's learning_rate is the schedule at steps 3 and 6."""
    from test_overfit import _dataset

    from sts_seg.train.run import train

    cfg = load_config(
        None,
        ["model.num_layers=3", "model.base_filters=4", "train.epochs=2", "train.batch_size=2",
         "train.steps_per_epoch=3", "train.lr_schedule=poly", "train.reducer.enabled=false",
         "train.learning_rate=0.01", "train.preview_images=0", "train.patch_size=16"],
        {"data.dataset": _dataset(tmp_path / "ds"), "train.run_dir": tmp_path / "run"},
    )  # fmt: skip
    res = train(cfg=cfg)
    lrs = [r["learning_rate"] for r in res.history]
    assert lrs == pytest.approx([0.01 * (1 - 3 / 6) ** 0.9, 0.0], abs=1e-7)
