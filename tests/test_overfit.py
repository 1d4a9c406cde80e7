"""The one test that proves the model learns: a tiny UNet, trained by ``stsseg train``'s own code
path, fits 4 slices (tumour Dice > 0.8 on them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sts_seg.config import load_config
from sts_seg.io import png

pytestmark = [pytest.mark.tf, pytest.mark.slow]


def _dataset(root: Path) -> Path:
    """4 slices of 32 px: a bright disc (tumour) and a dimmer square (not tumour) on noise."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :32]
    for split in ("train", "valid", "test"):
        for sub in ("images", "masks"):
            (root / split / sub).mkdir(parents=True)
    for k in range(4):
        cy, cx = 10 + 4 * k, 22 - 3 * k
        mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < 16 + 4 * k).astype(np.uint8)
        img = rng.integers(0, 60, (32, 32, 3)).astype(np.uint8)
        img[mask > 0] = (200, 230, 180)
        img[2 + k : 8 + k, 2:8] = (120, 120, 120)
        for split in ("train", "valid"):
            png.write_image(root / split / "images" / f"S{k}_{k}.png", img)
            png.write_mask(root / split / "masks" / f"S{k}_{k}.png", mask)
    return root


def test_a_tiny_unet_fits_four_slices(tmp_path):
    from sts_seg.train.run import train

    ds = _dataset(tmp_path / "ds")
    cfg = load_config(
        None,
        [
            "model.num_layers=3",
            "model.base_filters=8",
            "train.epochs=12",
            "train.batch_size=4",
            "train.steps_per_epoch=4",
            "train.learning_rate=0.01",
            "train.early_stopping.enabled=false",
            "train.preview_images=0",
            "train.patch_size=null",  # whole 32 px slices, no on-the-fly ops: the plain fit
            "augment.online=[]",
        ],
        {"data.dataset": ds, "train.run_dir": tmp_path / "run"},
    )
    from sts_seg.model import build_model

    images = np.stack([png.read_image(p) for p in sorted((ds / "train" / "images").iterdir())])
    masks = np.stack([png.read_mask(p) for p in sorted((ds / "train" / "masks").iterdir())]) > 0
    untrained = np.argmax(build_model(cfg.model).predict(images.astype(np.float32), verbose=0), -1) > 0
    assert 2 * (untrained & masks).sum() / (untrained.sum() + masks.sum()) < 0.2  # it starts from nothing
    res = train(cfg=cfg)
    assert res.best_value > 0.8  # val_tumour_dice on the same 4 slices
    assert max(r["tumour_dice"] for r in res.history) > 0.8


def test_a_unet_trained_on_patches_segments_whole_slices(tmp_path):
    """Trained only on 16 px patches (poly LR), the fully convolutional model is scored on the
    whole 32 px slices: validation runs on them, and so does a prediction from best.keras."""
    import keras

    from sts_seg.train.run import train

    ds = _dataset(tmp_path / "ds")
    cfg = load_config(
        None,
        ["model.num_layers=3", "model.base_filters=8", "train.epochs=12", "train.batch_size=8",
         "train.steps_per_epoch=4", "train.learning_rate=0.01", "train.early_stopping.enabled=false",
         "train.preview_images=0", "train.patch_size=16", "train.tumour_fraction=0.5",
         "train.lr_schedule=poly", "train.reducer.enabled=false", "augment.online=[]"],
        {"data.dataset": ds, "train.run_dir": tmp_path / "run"},
    )  # fmt: skip
    res = train(cfg=cfg)
    assert res.best_value > 0.8  # val_tumour_dice on the 4 whole slices
    images = np.stack([png.read_image(p) for p in sorted((ds / "valid" / "images").iterdir())])
    masks = np.stack([png.read_mask(p) for p in sorted((ds / "valid" / "masks").iterdir())]) > 0
    model = keras.models.load_model(tmp_path / "run" / "best.keras")
    pred = np.argmax(model.predict(images.astype(np.float32), verbose=0), -1) > 0
    assert pred.shape == (4, 32, 32)
    assert 2 * (pred & masks).sum() / (pred.sum() + masks.sum()) > 0.8


@pytest.mark.parametrize("name", ["demo.yaml", "sts.yaml"])
def test_the_shipped_configs_train_on_patches_of_the_phantom_canvas(name):
    """The test above guards the shipped recipe: both configs train on patches that fit the
    phantom's 112 px canvas and that the model can halve."""
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / name)
    assert cfg.train.patch_size is not None
    assert cfg.train.patch_size < 112
    assert cfg.train.patch_size % cfg.model.divisor == 0
