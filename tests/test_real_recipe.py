"""The guard of the real-data recipe (``configs/sts_ibsi.yaml``): on a tiny two-grid phantom in the
IBSI folder layout, its own reading, training and inference settings are wired end to end: slices on
the PET (reference) grid, best.keras = the final epoch's weights, masks written back on the PET grid,
and a model that found the tumour (3D Dice against the PET-grid label, computed here with numpy)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from sts_seg.config import load_config

pytestmark = [pytest.mark.tf, pytest.mark.slow]

FILES = {"ct": "CT_image.nii.gz", "pet": "PET_image.nii.gz", "label": "PET_mask.nii.gz"}
PET_SHAPE, CT_SHAPE = (40, 40, 10), (80, 80, 10)  # voxels (i, j, k): PET 4 mm, CT 2 mm in-plane, 3 mm slices
PET_AFFINE = np.diag([-4.0, -4.0, 3.0, 1.0])  # LPS-stored, as the IBSI files
CT_AFFINE = np.array([[-2.0, 0, 0, 1.0], [0, -2.0, 0, 1.0], [0, 0, 3.0, 0], [0, 0, 0, 1]])  # same extent


def _case(folder: Path, rng: np.random.Generator, with_label: bool = True) -> np.ndarray:
    """A hot sphere (SUV 8 on 1, CT +60 HU on 40 HU) at a random place; returns its PET-grid mask."""
    folder.mkdir(parents=True)
    centre = rng.uniform([14, 14, 3], [26, 26, 7])
    radius = rng.uniform(4.0, 6.0)
    i, j, k = np.meshgrid(*(np.arange(n) for n in PET_SHAPE), indexing="ij")
    lab = (((i - centre[0]) ** 2 + (j - centre[1]) ** 2 + ((k - centre[2]) * 0.75) ** 2) <= radius**2).astype(np.uint8)
    pet = (1.0 + 7.0 * lab + rng.normal(0, 0.2, PET_SHAPE)).astype(np.float32)
    ci, cj, ck = np.meshgrid(*(np.arange(n) for n in CT_SHAPE), indexing="ij")  # CT voxel -> PET voxel
    inside = lab[
        np.clip((ci - 0.5) / 2, 0, 15).round().astype(int), np.clip((cj - 0.5) / 2, 0, 15).round().astype(int), ck
    ]
    ct = (40.0 + 60.0 * inside + rng.normal(0, 10, CT_SHAPE)).astype(np.float32)
    nib.save(nib.Nifti1Image(ct, CT_AFFINE), str(folder / FILES["ct"]))
    nib.save(nib.Nifti1Image(pet, PET_AFFINE), str(folder / FILES["pet"]))
    if with_label:
        nib.save(nib.Nifti1Image(lab, PET_AFFINE), str(folder / FILES["label"]))
    return lab


def test_the_real_data_recipe_trains_and_infers_on_the_pet_grid(tmp_path):
    from sts_seg.infer import infer
    from sts_seg.prepare import prepare
    from sts_seg.train.run import train

    rng = np.random.default_rng(7)
    src = tmp_path / "cases"
    for c in range(5):
        _case(src / f"STS_{c:03d}", rng)
    unlabelled = tmp_path / "new"
    truth = _case(unlabelled / "NEW_001", rng, with_label=False)
    shipped = load_config("sts_ibsi")
    cfg = load_config(
        "sts_ibsi",
        ["split.train=[STS_000,STS_001,STS_002]", "split.valid=[STS_003]", "split.test=[STS_004]",
         "train.epochs=8", "train.steps_per_epoch=6", "train.batch_size=8", "train.learning_rate=0.01",
         "train.preview_images=0", "infer.tta=none"],
        {"data.source": src, "data.dataset": tmp_path / "ds", "train.run_dir": tmp_path / "run"},
    )  # fmt: skip
    res = prepare(cfg=cfg)
    for case, grid in res.cases.items():  # sliced on the PET grid, untouched (its 4 mm is what auto asks for)
        assert tuple(grid.grid_shape) == (PET_SHAPE[2], PET_SHAPE[1], PET_SHAPE[0]), case
    t = train(cfg=cfg)
    assert t.epochs_run == 8
    import keras

    best, last = (keras.models.load_model(tmp_path / "run" / n) for n in ("best.keras", "last.keras"))
    for a, b in zip(best.get_weights(), last.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # checkpoint: last (the shipped recipe) keeps the final epoch
    assert shipped.train.checkpoint == cfg.train.checkpoint == "last"
    out = tmp_path / "out"
    infer(cfg=cfg.updated({"data.source": unlabelled, "infer.output": out}))
    written = nib.load(str(out / "NEW_001.nii.gz"))
    assert written.shape == PET_SHAPE
    np.testing.assert_allclose(written.affine, PET_AFFINE)
    pred = np.asarray(written.dataobj) > 0
    dice = 2 * (pred & (truth > 0)).sum() / (pred.sum() + truth.sum())
    assert dice > 0.7
