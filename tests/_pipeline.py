"""Session fixtures shared by the train / evaluate / infer tests (a pytest plugin).

Test modules load it with ``pytest_plugins = ["_pipeline"]``, so each fixture below is one
FixtureDef for the whole session: ``tiny_h5`` is prepared once at 48 px and one tiny UNet
(3 levels, base_filters 4) is trained once for 1 epoch of 2 steps; every test that needs a
model reuses that run directory (tests that change a run work on a copy).

The test modules also import helpers from here before pytest registers it as a plugin, so
assertion rewriting is off for it (PYTEST_DONT_REWRITE); it raises instead of asserting.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from conftest import tiny_overrides

from sts_seg.config import Config, load_config
from sts_seg.prepare import PrepareResult, prepare

SIZE = 48
#: the tiny_h5 split with the default seed/fractions (2/1/1 patients), checked by ``dataset48``
TRAIN_PATIENTS = ["STS_003", "STS_004"]
VALID_PATIENTS = ["STS_002"]
TEST_PATIENTS = ["STS_001"]


def overrides(*extra: str) -> list[str]:
    """The tiny 48 px training setting: 1 epoch of 2 steps, batches of 4, 2 preview images."""
    return [
        *tiny_overrides(SIZE),
        "train.steps_per_epoch=2",
        "train.early_stopping.enabled=false",
        "eval.overlays=2",
        *extra,
    ]


def cfg48(*extra: str) -> Config:
    return load_config(None, overrides(*extra))


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def dice_np(pred: np.ndarray, truth: np.ndarray) -> float:
    """Independent Dice (foreground > 0); NaN when both are empty."""
    p, t = np.asarray(pred) > 0, np.asarray(truth) > 0
    den = int(p.sum()) + int(t.sum())
    return float("nan") if den == 0 else 2.0 * int((p & t).sum()) / den


@pytest.fixture(scope="session")
def prepared48(tiny_h5: Path, tmp_path_factory: pytest.TempPathFactory) -> PrepareResult:
    """``tiny_h5`` prepared at 48 px (pad geometry, train: labeled + negatives, valid/test: all)."""
    res = prepare(cfg=cfg48(f"data.source={tiny_h5}", f"data.dataset={tmp_path_factory.mktemp('ds48') / 'ds'}"))
    expected = {"train": TRAIN_PATIENTS, "valid": VALID_PATIENTS, "test": TEST_PATIENTS}
    if res.splits != expected:
        raise AssertionError(f"tiny_h5 split changed: {res.splits} != {expected}")
    return res


@pytest.fixture(scope="session")
def dataset48(prepared48: PrepareResult) -> Path:
    return prepared48.output


@pytest.fixture(scope="session")
def trained_run(dataset48: Path, tmp_path_factory: pytest.TempPathFactory):
    """One tiny training run (1 epoch, 2 steps): a ``TrainResult``. Do not modify its folder."""
    from sts_seg.train.run import train

    run = tmp_path_factory.mktemp("run48") / "run"
    return train(cfg=cfg48(f"data.dataset={dataset48}", f"train.run_dir={run}"))


@pytest.fixture(scope="session")
def model_path(trained_run) -> Path:
    return trained_run.run_dir / "best.keras"


@pytest.fixture(scope="session")
def predictor48(model_path: Path):
    """``(predictor, slice spec)`` of the session model, batches of 4."""
    from sts_seg.infer.loading import load_predictor

    predictor, spec, _card = load_predictor(model_path, cfg48(), 4)
    return predictor, spec


#: softmax margin below which an argmax may flip with float rounding (another kernel, batch size)
MARGIN = 1e-4


def keras_labels(model_path: Path, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent of ``Predictor``: keras ``predict``, argmax, and where the argmax is certain.

    Returns ``(labels, confident)``: uint8 labels and a bool mask of the pixels whose two class
    probabilities differ by more than :data:`MARGIN`.
    """
    from sts_seg.infer.keras_net import load_model

    probs = np.asarray(load_model(model_path).predict(images.astype(np.float32), verbose=0))
    top2 = np.sort(probs, axis=-1)[..., -2:]
    return np.argmax(probs, axis=-1).astype(np.uint8), (top2[..., 1] - top2[..., 0]) > MARGIN


def assert_same_labels(actual: np.ndarray, expected: np.ndarray, confident: np.ndarray, what: str = "") -> None:
    """Equal on every confident pixel; the near-ties are a tiny minority."""
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape} != {expected.shape}")
    if confident.mean() < 0.99:
        raise AssertionError(f"{what}: only {confident.mean():.3f} of the pixels are confident")
    bad = int(((actual != expected) & confident).sum())
    if bad:
        raise AssertionError(f"{what}: {bad} confident pixel(s) differ from the model's prediction")


def run_volumes(predictor48, h5_path: Path, out: Path, **kw):
    """``infer_source`` on a Kaggle-layout file with the session model (as ``sts_seg.infer.infer`` calls it)."""
    from sts_seg.infer.volumes import VolumeSettings, infer_source
    from sts_seg.sources.kaggle import KaggleH5

    predictor, spec = predictor48
    source = KaggleH5(h5_path, (5.0, 5.0, 5.0))
    return infer_source(predictor, source, out, settings=VolumeSettings(spec), **kw)


def fit(cfg: Config, dataset: Path, run: Path, resume: bool = False, force: bool = False):
    """``train`` on ``dataset`` into ``run`` (the two paths set in the config, as ``--dataset/--run`` do)."""
    from sts_seg.train.run import train

    return train(cfg=cfg.updated({"data.dataset": dataset, "train.run_dir": run}), resume=resume, force=force)
