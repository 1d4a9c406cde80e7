"""Offline augmentation of a dataset tree: train only, deterministic, atomic, original formats."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sts_seg.augment.offline import MANIFEST_NAME, augment_dataset
from sts_seg.augment.ops import is_augmented_name
from sts_seg.config import AugmentConfig
from sts_seg.errors import ConfigError, DataError, OverwriteError
from sts_seg.io import png


def ops(entries: list[dict]) -> tuple:
    """Config entries -> validated ops (as ``augment.offline`` holds them)."""
    return AugmentConfig.model_validate({"offline": entries}).offline


SEED_OPS = ops(
    [
        {"name": "hflip"},
        {"name": "vflip"},
        {"name": "rotate", "angles": [90, 180, 270]},
        {"name": "distort", "sizes": [0.01, 0.02, 0.03]},
    ]
)
SEED_PREFIXES = ["hflipped_", "vflipped_", "rotated_90_", "rotated_180_", "rotated_270_"] + [
    f"distorted_{s}_rsigma0.5_sigma40_" for s in ("0.01", "0.02", "0.03")
]


def _mask(size: int, k: int) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (((yy - 12 - k) ** 2 + (xx - 16 + k) ** 2) < 40 + 10 * k).astype(np.uint8)


def make_dataset(
    root: Path, size: int = 32, n: dict | None = None, rgb_masks: bool = False, grey: bool = False
) -> Path:
    """``root/{train,valid,test}/{images,masks}`` with pairs whose image is the mask's colours."""
    n = n or {"train": 3, "valid": 2, "test": 2}
    for split, count in n.items():
        for d in ("images", "masks"):
            (root / split / d).mkdir(parents=True)
        for k in range(count):
            name = f"STS_00{k + 2}_0{k + 10}.png"
            mask = _mask(size, k)
            image = mask * 255
            png.write_image(root / split / "images" / name, image[..., None] if grey else np.stack([image] * 3, 2))
            if rgb_masks:  # the original's black/yellow RGB masks
                rgb = np.zeros((size, size, 3), np.uint8)
                rgb[mask == 1] = (255, 255, 0)
                Image.fromarray(rgb).save(root / split / "masks" / name)
            else:
                png.write_mask(root / split / "masks" / name, mask)
    return root


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "ds")


def test_one_batch_beside_the_splits_named_like_the_original(dataset: Path) -> None:
    before = {s: hashes(dataset / s) for s in ("train", "valid", "test")}
    res = augment_dataset(dataset, SEED_OPS, seed=137)
    assert {s: hashes(dataset / s) for s in ("train", "valid", "test")} == before  # no split is written
    assert (res.sources, res.outputs, res.replaced, res.kept_in_train) == (3, 24, False, ())
    assert res.per_op == {"hflip": 3, "vflip": 3, "rotate": 9, "distort": 9}
    sources = ["STS_002_010.png", "STS_003_011.png", "STS_004_012.png"]
    expected = sorted(p + s for p in SEED_PREFIXES for s in sources)
    for sub in ("images", "masks"):
        assert sorted(p.name for p in (dataset / "augmented" / sub).iterdir()) == expected
    assert sorted(p.name for p in dataset.iterdir()) == ["augmented", "test", "train", "valid"]
    m = png.read_mask(dataset / "augmented" / "masks" / "hflipped_STS_003_011.png")
    assert np.array_equal(m, _mask(32, 1)[:, ::-1])


def test_outputs_keep_image_and_mask_aligned(dataset: Path) -> None:
    augment_dataset(dataset, ops([{"name": "distort", "sizes": [0.06], "sigma": 8, "ref_size": None}]), seed=1)
    for p in (dataset / "augmented" / "images").glob("distorted_*"):
        image = png.read_image(p)
        mask = png.read_mask(dataset / "augmented" / "masks" / p.name)
        assert ((image[..., 0] >= 128) == (mask == 1)).mean() >= 0.99
        assert image.shape == (32, 32, 3)
        assert set(np.unique(mask).tolist()) <= {0, 1}


def test_rerun_replaces_the_batch_with_identical_pixels(dataset: Path) -> None:
    def pixels() -> dict[str, bytes]:
        return {p.name: png.read_image(p).tobytes() for p in (dataset / "augmented" / "images").iterdir()}

    augment_dataset(dataset, SEED_OPS, seed=137)
    first, files = pixels(), hashes(dataset / "augmented")
    with pytest.raises(OverwriteError, match="earlier augmentation batch; pass --force"):
        augment_dataset(dataset, SEED_OPS, seed=138)  # no --force: the batch is kept byte for byte
    assert hashes(dataset / "augmented") == files
    res = augment_dataset(dataset, SEED_OPS, seed=137, force=True)
    assert pixels() == first
    assert res.replaced
    augment_dataset(dataset, SEED_OPS, seed=138, force=True)  # another seed: other fields, same names
    again = pixels()
    assert again.keys() == first.keys()
    assert again != first
    # fewer ops: the outputs no longer configured are gone with the old batch
    augment_dataset(dataset, ops([{"name": "hflip"}]), seed=137, force=True)
    assert len(list((dataset / "augmented" / "images").iterdir())) == 3


def test_manifest_rows_match_outputs(dataset: Path) -> None:
    res = augment_dataset(dataset, SEED_OPS, seed=137)
    with res.manifest.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert res.manifest == dataset / "augmented" / MANIFEST_NAME
    on_disk = {p.name for p in (dataset / "augmented" / "images").iterdir()}
    assert all(is_augmented_name(n) for n in on_disk)
    assert {r["output"] for r in rows} == on_disk
    assert len(rows) == len(on_disk)
    for r in rows:
        assert r["output"] == r["variant"] + r["source"]
        assert (dataset / "train" / "images" / r["source"]).is_file()
        params = json.loads(r["params"])
        assert len(r["params"]) < 300
        if r["op"] == "distort":
            assert {"field_seed", "max_px", "sigma_px", "size"} <= params.keys()
        if r["op"] == "rotate":
            assert r["variant"] == f"rotated_{params['angle']:g}_"


def test_original_rgb_masks_and_grey_images(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "orig", rgb_masks=True, grey=True)
    res = augment_dataset(ds, ops([{"name": "hflip"}, {"name": "rotate", "angles": [90]}]), seed=0)
    assert res.outputs == 6
    image = png.read_image(ds / "augmented" / "images" / "rotated_90_STS_002_010.png")
    mask = png.read_mask(ds / "augmented" / "masks" / "rotated_90_STS_002_010.png")
    assert image.shape == (32, 32, 1)
    assert np.array_equal(mask, np.rot90(_mask(32, 0)))


def test_augmented_copies_already_in_train_are_kept_and_not_augmented_again(dataset: Path) -> None:
    # the original's released dataset ships its own augmented copies inside train/
    for sub in ("images", "masks"):
        src = dataset / "train" / sub / "STS_002_010.png"
        (dataset / "train" / sub / "rotated_45_STS_002_010.png").write_bytes(src.read_bytes())
    before = hashes(dataset / "train")
    res = augment_dataset(dataset, ops([{"name": "hflip"}]), seed=0)
    assert (res.sources, res.outputs) == (3, 3)
    assert res.kept_in_train == ("rotated_45_STS_002_010",)
    assert hashes(dataset / "train") == before
    assert not (dataset / "augmented" / "images" / "hflipped_rotated_45_STS_002_010.png").exists()


def test_a_foreign_augmented_folder_needs_force(dataset: Path) -> None:
    (dataset / "augmented").mkdir()
    (dataset / "augmented" / "notes.txt").write_text("mine")
    with pytest.raises(OverwriteError, match="--force"):
        augment_dataset(dataset, ops([{"name": "hflip"}]), seed=0)
    assert (dataset / "augmented" / "notes.txt").read_text() == "mine"
    assert augment_dataset(dataset, ops([{"name": "hflip"}]), seed=0, force=True).outputs == 3
    assert not (dataset / "augmented" / "notes.txt").exists()


def test_probability_selects_a_seeded_subset(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "p", n={"train": 8})
    res = augment_dataset(ds, ops([{"name": "hflip", "p": 0.5}, {"name": "vflip", "p": 0.0}]), seed=3)
    assert 0 < res.outputs < 8
    assert "vflip" not in res.per_op
    assert augment_dataset(ds, ops([{"name": "hflip", "p": 0.5}]), seed=3, force=True).outputs == res.outputs


def test_error_paths_write_nothing(tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match="nope: dataset folder not found"):
        augment_dataset(missing, SEED_OPS, seed=0)
    assert not missing.exists()
    bare = tmp_path / "bare"
    (bare / "valid").mkdir(parents=True)
    with pytest.raises(DataError, match=r"bare/train/images: folder not found"):
        augment_dataset(bare, SEED_OPS, seed=0)
    before = hashes(dataset)
    with pytest.raises(DataError, match=r"set augment\.offline in the config"):
        augment_dataset(dataset, [], seed=0)
    with pytest.raises(ConfigError, match="also made by entry 0"):
        augment_dataset(dataset, ops([{"name": "hflip"}, {"name": "hflip"}]), seed=0)
    calls = {"n": 0}
    real = png.write_mask

    def failing(path: Path, mask: np.ndarray) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        real(path, mask)

    monkeypatch.setattr(png, "write_mask", failing)
    with pytest.raises(OSError, match="disk full"):
        augment_dataset(dataset, SEED_OPS, seed=0)
    assert hashes(dataset) == before
    assert sorted(p.name for p in dataset.iterdir()) == ["test", "train", "valid"]  # no temporary folder left
