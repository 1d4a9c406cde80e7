"""Shared fixtures: tiny Kaggle-layout HDF5 files and prepared datasets (32-48 px)."""

from __future__ import annotations

import importlib.abc
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sts_seg.io.h5 import write_kaggle_h5

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

#: what the ``tf`` marker promises a test does not import in the fast tier (keras imports TensorFlow)
TF_MODULES = frozenset({"tensorflow", "keras", "tf2onnx"})
_running: list[str] = []  # the test (set up, run, torn down) or test module (collected) in progress


class _Refuse(importlib.abc.Loader):
    """A loader that fails the test in progress instead of importing ``name``."""

    def __init__(self, name: str, where: str) -> None:
        self.name, self.where = name, where

    def create_module(self, spec: object) -> None:
        pytest.fail(
            f"{self.where} imports {self.name}, but this run leaves out TensorFlow (-m '{_markexpr[0]}'): "
            "mark the test @pytest.mark.tf (or slow) and import TensorFlow inside it, not at module level",
            pytrace=False,
        )

    def exec_module(self, module: object) -> None:  # pragma: no cover - create_module always fails
        self.create_module(None)


class _FastTierGuard(importlib.abc.MetaPathFinder):
    """In a run that deselects ``tf`` tests (``make test``), importing TensorFlow while a test (or
    one of its fixtures) runs or a test module is collected fails with the marker it needs, instead
    of slowing the fast tier down. Looking it up (``importlib.util.find_spec``) stays allowed."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> object:
        if not _running or name.partition(".")[0] not in TF_MODULES:
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else getattr(finder, "find_spec", lambda *_: None)(name, path, target)
            if spec is not None:
                spec.loader = _Refuse(name, _running[-1] or "collection")
                return spec
        return None


_markexpr = [""]


def _deselects_tf(markexpr: str) -> bool:
    """Whether ``-m markexpr`` leaves out a test marked only ``tf``."""
    if not markexpr:
        return False
    from _pytest.mark.expression import Expression

    return not Expression.compile(markexpr).evaluate(lambda name, **_: name == "tf")


def pytest_configure(config: pytest.Config) -> None:
    _markexpr[0] = config.getoption("markexpr", "") or ""
    if _deselects_tf(_markexpr[0]) and not TF_MODULES & set(sys.modules):
        sys.meta_path.insert(0, _FastTierGuard())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    _running.append(item.nodeid)
    try:
        return (yield)
    finally:
        _running.pop()


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    _running.append(collector.nodeid)
    try:
        return (yield)
    finally:
        _running.pop()


def tiny_overrides(size: int = 48, num_layers: int = 3) -> list[str]:
    """``--set`` overrides that shrink any config to a fast test setting: whole slices (the recipe's
    64 px patches exceed these canvases), uniform sampling, no on-the-fly ops and one forward pass
    (no flips). The recipe itself (the defaults = configs/sts.yaml) is tested in test_overfit.py."""
    return [
        f"model.image_size={size}",
        f"model.num_layers={num_layers}",
        "model.base_filters=4",
        "train.epochs=1",
        "train.batch_size=4",
        "train.preview_images=2",
        "train.patch_size=null",
        "train.tumour_fraction=null",
        "train.hard_negative_fraction=null",
        "augment.online=[]",
        "infer.tta=none",
    ]


@pytest.fixture(scope="session")
def tiny_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-patient phantom, 8-16 slices of 32-44 px (the synth code path)."""
    from sts_seg.phantom import PhantomSpec, synth

    path = tmp_path_factory.mktemp("h5") / "tiny.h5"
    synth(output=path, n_patients=4, seed=3, spec=PhantomSpec(slices=(8, 16), size=(32, 44)))
    return path


@pytest.fixture(scope="session")
def hand_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 hand-made patients with known voxel values: a cube tumour in each, different shapes."""
    vols = {}
    for i, (z, y, x) in enumerate([(6, 20, 24), (5, 24, 20), (7, 22, 22)]):
        ct = np.full((z, y, x), -1000, np.int16)
        ct[:, 4:-4, 4:-4] = 40
        pet = np.full((z, y, x), 0.5 + i, np.float32)
        label = np.zeros((z, y, x), np.uint8)
        label[2:4, 8:12, 9:13] = 2  # value 2: any nonzero label is tumour
        ct[label > 0] = 60
        pet[label > 0] = 8.0
        vols[f"P{i}"] = (ct, pet, label)
    path = tmp_path_factory.mktemp("hand") / "hand.h5"
    write_kaggle_h5(path, vols)
    return path


@pytest.fixture
def runner():
    """A Typer CLI runner (stderr is kept separate from stdout)."""
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty working directory, so default paths (data/sts, runs/sts) land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STSSEG_DEBUG", raising=False)
    return tmp_path


def unet_parameters(base: int, levels: int, channels: int = 3, classes: int = 2, batch_norm: bool = True) -> int:
    """Hand count of a FlexUNet's parameters with 3x3 kernels (``levels`` includes the bridge):
    per block two convs (9 in out + out) each followed by batch norm (4 per channel), per
    decoder step a 2x2 transposed conv (4 in out + out), and the 1x1 head."""
    bn = 4 if batch_norm else 0
    filters = [base * 2**i for i in range(levels)]

    def block(cin: int, f: int) -> int:
        return 9 * cin * f + f + bn * f + 9 * f * f + f + bn * f

    total, cin = 0, channels
    for f in filters:
        total, cin = total + block(cin, f), f
    for i in range(levels - 2, -1, -1):
        up = 4 * filters[i + 1] * filters[i] + filters[i]
        total += up + block(2 * filters[i], filters[i])
    return total + filters[0] * classes + classes
