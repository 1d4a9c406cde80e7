"""``prepare`` and its parts: patient split, slice selection, intensity windows, geometry,
the PNG dataset it writes, and every input error (nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from sts_seg.config import SPLITS, SplitConfig, load_config
from sts_seg.core.geometry import to_native
from sts_seg.core.intensity import quantize, render_slice, seed_normalize, window
from sts_seg.core.split import select_slices, split_patients
from sts_seg.errors import ConfigError, DataError, OverwriteError
from sts_seg.io.h5 import list_patients, read_volume
from sts_seg.io.manifest import read_manifest
from sts_seg.io.png import read_image, read_mask
from sts_seg.prepare import prepare


def _split(ids, cfg: SplitConfig, source: str = "") -> dict[str, list[str]]:
    return split_patients(ids, seed=cfg.seed, fractions=cfg.fractions, explicit=cfg.explicit, source=source)


SMALL = ["model.image_size=32", "model.num_layers=3"]
HAND_SHAPES = {"P0": (6, 20, 24), "P1": (5, 24, 20), "P2": (7, 22, 22)}  # conftest.hand_h5
HAND_TUMOUR_Z = [2, 3]  # label[2:4, 8:12, 9:13] = 2 in every hand patient


# =========================================================================== split


def _ids(n: int) -> list[str]:
    return [f"STS_{i:03d}" for i in range(1, n + 1)]


def test_seven_patients_split_5_1_1_with_defaults():
    ids = _ids(7)
    out = _split(ids, SplitConfig())
    assert [len(out[s]) for s in SPLITS] == [5, 1, 1]
    assert sorted(out["train"] + out["valid"] + out["test"]) == ids


@pytest.mark.parametrize("n", range(3, 13))
@pytest.mark.parametrize("seed", [0, 1, 137])
def test_split_never_puts_a_patient_in_two_splits(n, seed):
    ids = _ids(n)
    out = _split(ids, SplitConfig(seed=seed))
    members = [p for s in SPLITS for p in out[s]]
    assert len(members) == len(set(members)) == n
    assert set(members) == set(ids)
    assert all(out[s] for s in SPLITS)  # 3+ patients: every split gets one


def test_split_is_seeded():
    ids = _ids(7)
    a = _split(ids, SplitConfig(seed=11))
    assert _split(list(reversed(ids)), SplitConfig(seed=11)) == a  # input order is irrelevant
    others = [_split(ids, SplitConfig(seed=s)) for s in range(20)]
    assert any(o != a for o in others)  # a different seed usually gives a different split


def test_split_fractions_are_honoured():
    out = _split(_ids(10), SplitConfig(fractions=(0.6, 0.2, 0.2)))
    assert [len(out[s]) for s in SPLITS] == [6, 2, 2]


def test_explicit_split_lists_are_honoured():
    cfg = SplitConfig(train=("STS_003", "STS_001"), valid=("STS_002",), test=("STS_004",))
    out = _split(_ids(4), cfg)
    assert out == {"train": ["STS_003", "STS_001"], "valid": ["STS_002"], "test": ["STS_004"]}


def test_explicit_split_lists_with_unknown_patient_are_a_config_error():
    cfg = SplitConfig(train=("STS_001", "STS_099"), valid=("STS_002",), test=("STS_003",))
    with pytest.raises(ConfigError, match="STS_099") as ei:
        _split(_ids(3), cfg, "file.h5")
    assert "file.h5" in str(ei.value)


def test_too_few_patients_for_the_fractions_is_a_config_error():
    with pytest.raises(ConfigError, match="too few"):
        _split(_ids(4), SplitConfig(fractions=(0.0, 0.5, 0.5)))


# =========================================================================== slice selection


@pytest.fixture
def label_volume() -> np.ndarray:
    """10 slices, tumour (any nonzero label) on z = 2, 3 and 7."""
    label = np.zeros((10, 6, 6), np.uint8)
    label[2, 1, 1] = 1
    label[3, 2:4, 2:4] = 2
    label[7, 5, 5] = 1
    return label


def test_select_all(label_volume):
    assert select_slices(label_volume, "all", 1.0, np.random.default_rng(0)) == list(range(10))


def test_select_labeled(label_volume):
    assert select_slices(label_volume, "labeled", 1.0, np.random.default_rng(0)) == [2, 3, 7]


@pytest.mark.parametrize(("ratio", "count"), [(0.0, 3), (1.0, 6), (2.0, 9), (10.0, 10)])
def test_select_labeled_plus_negatives(label_volume, ratio, count):
    zs = select_slices(label_volume, "labeled_plus_negatives", ratio, np.random.default_rng(4))
    assert len(zs) == count == len(set(zs))
    assert zs == sorted(zs)
    assert {2, 3, 7} <= set(zs)
    assert set(zs) <= set(range(10))
    again = select_slices(label_volume, "labeled_plus_negatives", ratio, np.random.default_rng(4))
    assert again == zs


def test_select_on_a_tumour_free_volume():
    label = np.zeros((5, 4, 4), np.uint8)
    rng = np.random.default_rng(0)
    assert select_slices(label, "labeled", 1.0, rng) == []
    assert select_slices(label, "all", 1.0, rng) == [0, 1, 2, 3, 4]


# =========================================================================== intensities


def test_ct_soft_tissue_window():
    out = window(np.array([-1000, -160, 40, 60, 240, 1000]), -160, 240)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0, 0, 127.5, 140.25, 255, 255], atol=1e-3)


def test_pet_window():
    out = window(np.array([-1.0, 0.0, 0.5, 8.0, 10.0, 12.0]), 0, 10)
    np.testing.assert_allclose(out, [0, 0, 12.75, 204, 255, 255], atol=1e-3)


def test_seed_normalize_matches_the_original_formula():
    s = np.array([[-10.0, 0.0], [10.0, 30.0]])
    # (255 s - m) / (M - m) with m = -10, M = 30, by hand
    expected = np.array([[-63.5, 0.25], [64.0, 191.5]])
    np.testing.assert_allclose(seed_normalize(s), expected, rtol=1e-6)
    np.testing.assert_array_equal(seed_normalize(np.full((3, 3), 7.0)), np.zeros((3, 3)))


def test_render_slice_channels_and_seed_sum():
    cfg = load_config()
    ct = np.array([[-1000.0, 40.0], [60.0, 240.0]], np.float32)
    pet = np.array([[0.5, 1.0], [8.0, 20.0]], np.float32)
    img = render_slice(ct, pet, "channels", cfg.prepare.windows)
    assert img.shape == (2, 2, 3)
    np.testing.assert_allclose(img[1, 0], [140.25, 204.0, 135.15], atol=1e-3)
    np.testing.assert_allclose(img[0, 0], [0.0, 12.75, 0.0], atol=1e-3)
    grey = render_slice(ct, pet, "seed_sum", cfg.prepare.windows)
    assert grey.shape == (2, 2, 1)
    np.testing.assert_allclose(grey[..., 0], seed_normalize(ct) + seed_normalize(pet), rtol=1e-6)


def test_quantize_rounds_and_saturates():
    out = quantize(np.array([-3.0, 0.4, 0.6, 140.25, 254.6, 300.0]))
    assert out.dtype == np.uint8
    assert out.tolist() == [0, 0, 1, 140, 255, 255]


# =========================================================================== prepare (hand file)


def _prepare(h5_path: Path, out: Path, overrides: list[str], force: bool = False):
    cfg = load_config(None, [*SMALL, *overrides])
    return cfg, prepare(cfg=cfg.updated({"data.source": h5_path, "data.dataset": out}), force=force)


@pytest.fixture(scope="module")
def pad_ds(hand_h5, tmp_path_factory):
    out = tmp_path_factory.mktemp("pad") / "ds"
    cfg, res = _prepare(hand_h5, out, [])
    return cfg, out, res


@pytest.fixture(scope="module")
def resize_ds(hand_h5, tmp_path_factory):
    out = tmp_path_factory.mktemp("resize") / "ds"
    cfg, res = _prepare(hand_h5, out, ["prepare.geometry=resize"])
    return cfg, out, res


def _restack(root: Path, pid: str) -> tuple[np.ndarray, list[int]]:
    rows = [r for r in read_manifest(root) if r.patient == pid]
    first = rows[0]
    vol = np.zeros((first.native_z, first.native_h, first.native_w), np.uint8)
    for r in rows:
        vol[r.z] = to_native(read_mask(root / r.mask), r.placement)
    return vol, sorted(r.z for r in rows)


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_prepare_layout(pad_ds):
    _, root, res = pad_ds
    assert {"train", "valid", "test", "manifest.csv", "split.json", "fingerprint.json"} <= _files(root)
    rows = read_manifest(root)
    for s in SPLITS:
        images, masks = _files(root / s / "images"), _files(root / s / "masks")
        expected = {f"{r.patient}_{r.z}.png" for r in rows if r.split == s}
        assert images == masks == expected
        assert len(expected) == res.slices[s]
        for pid in res.splits[s]:
            assert any(name.startswith(f"{pid}_") for name in images)


def test_prepare_split_json(pad_ds):
    _cfg, root, res = pad_ds
    split = json.loads((root / "split.json").read_text())
    lists = {s: split[s] for s in SPLITS}
    members = [p for s in SPLITS for p in lists[s]]
    assert sorted(members) == sorted(set(members)) == ["P0", "P1", "P2"]
    assert lists == res.splits
    assert [len(lists[s]) for s in SPLITS] == [1, 1, 1]  # 3 patients, fractions 0.7/0.15/0.15
    rows = read_manifest(root)
    assert all(r.patient in lists[r.split] for r in rows)  # no slice of a patient elsewhere


def test_prepare_default_slice_policies(pad_ds):
    _, root, res = pad_ds
    rows = read_manifest(root)
    for s in SPLITS:
        for pid in res.splits[s]:
            zs = sorted(r.z for r in rows if r.patient == pid)
            nz = HAND_SHAPES[pid][0]
            if s == "train":  # labeled_plus_negatives, ratio 1: 2 tumour + 2 other slices
                assert len(zs) == 4
                assert set(HAND_TUMOUR_Z) <= set(zs)
            else:  # valid/test default to 'all'
                assert zs == list(range(nz))
    for s in SPLITS:
        n_tumour = sum(r.split == s and r.tumour_pixels > 0 for r in rows)
        assert res.tumour_slices[s] == n_tumour == 2 * len(res.splits[s])


def test_prepare_manifest_rows(pad_ds):
    _, root, _ = pad_ds
    rows = read_manifest(root)
    assert len(rows) == len({(r.patient, r.z) for r in rows})
    for r in rows:
        nz, h, w = HAND_SHAPES[r.patient]
        assert (r.native_z, r.native_h, r.native_w) == (nz, h, w)
        assert r.image == f"{r.split}/images/{r.patient}_{r.z}.png"
        assert r.mask == f"{r.split}/masks/{r.patient}_{r.z}.png"
        assert r.name == f"{r.patient}_{r.z}"
        assert (r.geometry, r.canvas_h, r.canvas_w) == ("pad", 32, 32)
        assert (r.offset_y, r.offset_x) == ((32 - h) // 2, (32 - w) // 2)  # centred
        mask = read_mask(root / r.mask)
        assert r.tumour_pixels == int(mask.sum()) == (16 if r.z in HAND_TUMOUR_Z else 0)


def test_prepare_fingerprint(pad_ds):
    _, root, res = pad_ds
    fp = json.loads((root / "fingerprint.json").read_text())
    assert (fp["canvas"], fp["divisor"]) == (32, 4)
    assert fp["canvas_reason"] == "model.image_size 32 (set in the config)"
    assert fp["geometry"] == "pad"
    assert set(fp["cases"]) == {"P0", "P1", "P2"}
    for i, (pid, info) in enumerate(sorted(fp["cases"].items())):
        assert info["shape"] == list(HAND_SHAPES[pid])
        assert info["spacing_mm"] == [5.0, 5.0, 5.0]
        assert info["tumour_voxels"] == 2 * 4 * 4
        assert info["tumour_volume_mm3"] == pytest.approx(32 * 125.0)
        assert (info["ct_hu_min"], info["ct_hu_max"]) == (-1000.0, 60.0)
        assert info["pet_suvmax"] == pytest.approx(8.0)
        assert info["tumour_suvmean"] == pytest.approx(8.0)
        assert info["labels"] == [0, 2]  # the source label values (the hand tumour is labelled 2)
        assert info["pet_suvmax"] > 0.5 + i
        assert info["split"] in SPLITS
        assert pid in res.splits[info["split"]]


@pytest.mark.parametrize("ds", ["pad_ds", "resize_ds"])
def test_masks_are_yellow_palette_pngs_decoding_to_0_1(ds, request):
    _, root, _ = request.getfixturevalue(ds)
    rows = read_manifest(root)
    assert rows
    for r in rows:
        img = Image.open(root / r.mask)
        assert img.mode == "P"
        assert img.getpalette()[:6] == [0, 0, 0, 255, 255, 0]
        mask = read_mask(root / r.mask)
        assert mask.shape == (32, 32)
        assert set(np.unique(mask)) <= {0, 1}
        rgb = np.asarray(img.convert("RGB"))
        np.testing.assert_array_equal(rgb[mask == 1], np.tile([255, 255, 0], ((mask == 1).sum(), 1)))
        np.testing.assert_array_equal(rgb[mask == 0], np.zeros(((mask == 0).sum(), 3)))


def _expected_channels(cfg, ct: np.ndarray, pet: np.ndarray) -> np.ndarray:
    """The window formulas in float64, independent of sts_seg.data.intensity."""
    out = []
    for c in cfg.prepare.channels:
        lo, hi = c.window
        v = np.clip(np.asarray(ct if c.modality == "ct" else pet, np.float64), lo, hi)
        out.append(255.0 * (v - lo) / (hi - lo))
    return np.stack(out, axis=-1)


def test_window_formulas_by_hand():
    cfg = load_config()
    tumour = _expected_channels(cfg, np.array(60.0), np.array(8.0))
    assert [round(v) for v in tumour] == [140, 204, 135]  # round(255*220/400), 255*8/10, ...
    air = _expected_channels(cfg, np.array(-1000.0), np.array(0.5))
    assert [round(v) for v in air] == [0, 13, 0]


def test_image_channels_match_the_window_formulas(pad_ds, hand_h5):
    cfg, root, _ = pad_ds
    for r in read_manifest(root):
        vol = read_volume(hand_h5, r.patient)
        img = read_image(root / r.image)
        assert img.shape == (32, 32, 3)
        assert img.dtype == np.uint8
        h, w, oy, ox = r.native_h, r.native_w, r.offset_y, r.offset_x
        inside = img[oy : oy + h, ox : ox + w].astype(int)
        border = np.ones((32, 32), bool)
        border[oy : oy + h, ox : ox + w] = False
        assert (img[border] == 0).all()
        exact = _expected_channels(cfg, vol.ct[r.z], vol.pet[r.z])
        # exact where the value is not a rounding tie (40 HU -> 127.5 in the soft window)
        tie = np.isclose(exact % 1.0, 0.5)
        assert np.abs(inside - exact)[tie].max(initial=0) <= 0.5
        np.testing.assert_array_equal(inside[~tie], np.rint(exact[~tie]).astype(int))
        # spot checks at known voxels (hand values)
        pet_bg = round(255 * (0.5 + int(r.patient[1])) / 10)
        assert inside[0, 0].tolist() == [0, pet_bg, 0]  # air
        assert inside[5, 5, 2] == 133  # muscle 40 HU in [-1000, 1000]
        if r.z in HAND_TUMOUR_Z:
            assert inside[8, 9].tolist() == [140, 204, 135]  # tumour: 60 HU, SUV 8


@pytest.mark.parametrize("ds", ["pad_ds", "resize_ds"])
@pytest.mark.parametrize("split", ["valid", "test"])
def test_restacking_reproduces_the_label_volume(ds, split, request, hand_h5):
    _, root, res = request.getfixturevalue(ds)
    assert res.splits[split]
    for pid in res.splits[split]:
        vol, zs = _restack(root, pid)
        label = read_volume(hand_h5, pid).label
        assert zs == list(range(label.shape[0]))
        np.testing.assert_array_equal(vol, (label > 0).astype(np.uint8))


def test_resize_manifest_records_the_mapping(resize_ds):
    _, root, _ = resize_ds
    for r in read_manifest(root):
        assert (r.geometry, r.canvas_h, r.canvas_w, r.offset_y, r.offset_x) == ("resize", 32, 32, 0, 0)
        assert (r.native_h, r.native_w) == HAND_SHAPES[r.patient][1:]
        assert read_image(root / r.image).shape == (32, 32, 3)


def test_seed_sum_mode_writes_the_original_grey_channel(hand_h5, tmp_path):
    _cfg, _ = _prepare(hand_h5, tmp_path / "ds", ["prepare.image_mode=seed_sum"])
    root = tmp_path / "ds"
    for r in read_manifest(root)[:8]:
        vol = read_volume(hand_h5, r.patient)
        img = read_image(root / r.image)
        assert img.shape == (32, 32, 1)

        def norm(s):  # (255 s - m) / (M - m); a flat slice gives zeros
            s = s.astype(np.float64)
            m, M = s.min(), s.max()
            return np.zeros_like(s) if m == M else (255 * s - m) / (M - m)

        exact = np.clip(norm(vol.ct[r.z]) + norm(vol.pet[r.z]), 0, 255)
        inside = img[r.offset_y : r.offset_y + r.native_h, r.offset_x : r.offset_x + r.native_w, 0]
        assert np.abs(inside.astype(float) - exact).max() <= 0.5 + 1e-3


def test_explicit_split_lists_and_policies_in_prepare(hand_h5, tmp_path):
    overrides = [
        "split.train=[P1]",
        "split.valid=[P2]",
        "split.test=[P0]",
        "prepare.select={train: labeled, valid: labeled_plus_negatives, test: labeled}",
        "prepare.negative_ratio=0.5",
    ]
    _, res = _prepare(hand_h5, tmp_path / "ds", overrides)
    assert res.splits == {"train": ["P1"], "valid": ["P2"], "test": ["P0"]}
    rows = read_manifest(tmp_path / "ds")
    assert sorted(r.z for r in rows if r.split == "train") == HAND_TUMOUR_Z
    assert sorted(r.z for r in rows if r.split == "test") == HAND_TUMOUR_Z
    valid = sorted(r.z for r in rows if r.split == "valid")
    assert len(valid) == 3
    assert set(HAND_TUMOUR_Z) <= set(valid)
    assert res.slices == {"train": 2, "valid": 3, "test": 2}


def test_partial_select_override_keeps_the_other_defaults(hand_h5, tmp_path):
    """``--set prepare.select.train=labeled`` must not drop the valid/test policies."""
    cfg = load_config(None, [*SMALL, "prepare.select.train=labeled"])
    assert cfg.prepare.select.valid == "all"
    assert cfg.prepare.select.test == "all"
    res = prepare(cfg=cfg.updated({"data.source": hand_h5, "data.dataset": tmp_path / "ds"}))
    assert res.slices["train"] == 2 * len(res.splits["train"])


# =========================================================================== overwrite


def test_non_empty_output_is_refused_without_force(hand_h5, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(OverwriteError, match="--force") as ei:
        _prepare(hand_h5, out, [])
    assert str(out) in str(ei.value)
    assert _files(out) == {"keep.txt"}
    assert (out / "keep.txt").read_text() == "precious"
    assert _files(tmp_path) == {"ds"}


def test_force_replaces_the_output_and_leaves_no_temp_dirs(hand_h5, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    _prepare(hand_h5, out, [], force=True)
    assert "keep.txt" not in _files(out)
    assert {"manifest.csv", "split.json", "fingerprint.json"} <= _files(out)
    assert _files(tmp_path) == {"ds"}


def test_an_empty_output_dir_is_used_without_force(hand_h5, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    _prepare(hand_h5, out, [])
    assert (out / "manifest.csv").is_file()
    assert _files(tmp_path) == {"ds"}


def test_a_file_as_output_is_refused(hand_h5, tmp_path):
    out = tmp_path / "ds"
    out.write_text("x")
    with pytest.raises(OverwriteError):
        _prepare(hand_h5, out, [], force=True)
    assert out.read_text() == "x"


# =========================================================================== input errors


def _good_arrays() -> dict[str, np.ndarray]:
    ct = np.full((4, 10, 12), 40, np.int16)
    pet = np.full((4, 10, 12), 1.0, np.float32)
    label = np.zeros((4, 10, 12), np.uint8)
    label[1:3, 3:6, 4:7] = 1
    return {"ct_data": ct, "pet_data": pet, "label_data": label}


def _write_raw(path: Path, data: dict[str, dict[str, np.ndarray]]) -> Path:
    """``{group: {patient: array}}`` written as-is with h5py (any dtype, any shape)."""
    with h5py.File(path, "w") as f:
        for group, members in data.items():
            grp = f.create_group(group)
            for pid, arr in members.items():
                grp.create_dataset(pid, data=arr)
    return path


def _with_value(arr: np.ndarray, dtype: type, value: float) -> np.ndarray:
    out = arr.astype(dtype)
    out.flat[0] = value
    return out


#: how each broken file differs from three good patients P0..P2
BREAKS = {
    "missing_group": lambda d: d.pop("pet_data"),
    "ids_differ": lambda d: d["label_data"].pop("P1"),
    "shape_mismatch": lambda d: d["pet_data"].update(P1=np.ones((4, 10, 11), np.float32)),
    "nan_ct": lambda d: d["ct_data"].update(P2=_with_value(d["ct_data"]["P2"], np.float32, np.nan)),
    "inf_pet": lambda d: d["pet_data"].update(P0=_with_value(d["pet_data"]["P0"], np.float32, np.inf)),
    "negative_label": lambda d: d["label_data"].update(P1=_with_value(d["label_data"]["P1"], np.int16, -1)),
    "fractional_label": lambda d: d["label_data"].update(P2=_with_value(d["label_data"]["P2"], np.float32, 0.5)),
    "not_3d": lambda d: d["ct_data"].update(P0=d["ct_data"]["P0"][0]),
    "no_patients": lambda d: [members.clear() for members in d.values()],
}


def _broken(kind: str) -> dict[str, dict[str, np.ndarray]]:
    data = {g: {} for g in ("ct_data", "pet_data", "label_data")}
    for i in range(3):
        for g, arr in _good_arrays().items():
            data[g][f"P{i}"] = arr
    if kind != "none":
        BREAKS[kind](data)
    return data


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("missing_group", ["pet_data"]),
        ("ids_differ", ["P1", "label_data"]),
        ("shape_mismatch", ["P1"]),
        ("nan_ct", ["ct_data/P2"]),
        ("inf_pet", ["pet_data/P0"]),
        ("negative_label", ["label_data/P1"]),
        ("fractional_label", ["label_data/P2"]),
        ("not_3d", ["ct_data/P0"]),
        ("no_patients", ["no patients"]),
    ],
)
def test_invalid_file_is_a_data_error_and_writes_nothing(kind, names, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    bad = _write_raw(src / "bad.h5", _broken(kind))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DataError) as ei:
        _prepare(bad, work / "ds", [])
    msg = str(ei.value)
    assert str(bad) in msg
    for name in names:
        assert name in msg
    assert "\n" not in msg
    assert _files(work) == set()  # no dataset, no temp dir
    assert _files(src) == {"bad.h5"}


def test_missing_and_unreadable_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match=r"missing\.h5"):
        _prepare(tmp_path / "missing.h5", tmp_path / "ds", [])
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(DataError, match=r"junk\.h5"):
        _prepare(junk, tmp_path / "ds", [])
    assert _files(tmp_path) == {"junk.h5"}


def test_valid_raw_file_with_float_and_int_dtypes_prepares(tmp_path):
    data = _broken("none")
    data["label_data"]["P0"] = data["label_data"]["P0"].astype(np.float64)  # integral floats are fine
    data["ct_data"]["P1"] = data["ct_data"]["P1"].astype(np.float32)
    src = _write_raw(tmp_path / "ok.h5", data)
    _, res = _prepare(src, tmp_path / "ds", [])
    assert sum(res.slices.values()) > 0


def test_label_values_above_255_are_not_silently_dropped(tmp_path):
    """A tumour voxel labelled 256 must stay tumour (or be refused), never wrap to 0 in uint8."""
    data = _broken("none")
    for i in range(3):
        data["label_data"][f"P{i}"] = data["label_data"][f"P{i}"].astype(np.uint16) * 256
    src = _write_raw(tmp_path / "big.h5", data)
    try:
        _prepare(src, tmp_path / "ds", [])
        refused = ""
    except DataError as exc:
        refused = str(exc)
    if refused:  # refusing is acceptable, if it names the dataset
        assert "label_data" in refused
        return
    rows = read_manifest(tmp_path / "ds")
    assert sum(r.tumour_pixels for r in rows) == 3 * 2 * 3 * 3


# =========================================================================== prepare (phantom)


@pytest.fixture(scope="module")
def phantom_ds(tiny_h5, tmp_path_factory):
    out = tmp_path_factory.mktemp("phantom") / "ds"
    overrides = [
        "model.image_size=48",
        "model.num_layers=3",
        "prepare.select={train: labeled, valid: all, test: labeled_plus_negatives}",
        "prepare.negative_ratio=0.5",
    ]
    cfg = load_config(None, overrides)
    return cfg, out, prepare(cfg=cfg.updated({"data.source": tiny_h5, "data.dataset": out}))


def test_phantom_prepare_splits_by_patient(phantom_ds, tiny_h5):
    _, root, res = phantom_ds
    patients = list_patients(tiny_h5)
    members = [p for s in SPLITS for p in res.splits[s]]
    assert sorted(members) == sorted(set(members)) == patients
    assert all(res.splits[s] for s in SPLITS)
    for r in read_manifest(root):
        assert r.patient in res.splits[r.split]


def test_phantom_slice_counts_per_policy(phantom_ds, tiny_h5):
    _, root, res = phantom_ds
    rows = read_manifest(root)
    for s in SPLITS:
        for pid in res.splits[s]:
            label = read_volume(tiny_h5, pid).label
            positive = [z for z in range(label.shape[0]) if label[z].any()]
            assert positive, f"phantom patient {pid} has no tumour"
            zs = sorted(r.z for r in rows if r.patient == pid)
            if s == "train":
                assert zs == positive
            elif s == "valid":
                assert zs == list(range(label.shape[0]))
            else:
                n_neg = label.shape[0] - len(positive)
                assert len(zs) == len(positive) + min(n_neg, round(0.5 * len(positive)))
                assert set(positive) <= set(zs)


def test_phantom_masks_decode_to_0_1(phantom_ds):
    _, root, _ = phantom_ds
    for r in read_manifest(root):
        assert set(np.unique(read_mask(root / r.mask))) <= {0, 1}


@pytest.mark.parametrize("geometry", ["pad", "resize"])
def test_phantom_restacks_exactly(geometry, tiny_h5, tmp_path):
    cfg = load_config(None, ["model.image_size=48", "model.num_layers=3", f"prepare.geometry={geometry}"])
    res = prepare(cfg=cfg.updated({"data.source": tiny_h5, "data.dataset": tmp_path / "ds"}))
    for pid in res.splits["valid"] + res.splits["test"]:
        vol, zs = _restack(tmp_path / "ds", pid)
        label = read_volume(tiny_h5, pid).label
        assert zs == list(range(label.shape[0]))
        np.testing.assert_array_equal(vol, (label > 0).astype(np.uint8))
