"""``stsseg evaluate``: scoring folders of predicted masks (no TensorFlow) against hand-computed
values and independent computations, the report files, the PET baseline, the empty policies,
the leakage guards, and one evaluation with the tiny trained model."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from _pipeline import TEST_PATIENTS, cfg48, copy_tree, dice_np, keras_labels

from sts_seg.config import Config, load_config
from sts_seg.core.geometry import to_native
from sts_seg.core.restack import restack
from sts_seg.errors import DataError, OverwriteError
from sts_seg.evaluate import evaluate as _evaluate
from sts_seg.evaluate.baseline import pet_threshold
from sts_seg.evaluate.guards import check_no_leakage
from sts_seg.io import h5, png
from sts_seg.io.manifest import read_manifest
from sts_seg.metrics import confusion_counts, dice
from sts_seg.prepare import prepare as _prepare

pytest_plugins = ["_pipeline"]


def prepare(cfg: Config, h5_path: Path, out: Path):
    return _prepare(cfg=cfg.updated({"data.source": h5_path, "data.dataset": out}))


def evaluate(cfg: Config, dataset: Path, out: Path, *, predictions=None, model_path=None, force=False):
    values = {"data.dataset": dataset, "eval.output": out, "eval.predictions": predictions, "eval.model": model_path}
    return _evaluate(cfg=cfg.updated({k: v for k, v in values.items() if v is not None}), force=force)


REQUIRED = [
    "case",
    "patient",
    "dice",
    "iou",
    "precision",
    "recall",
    "hd95_mm",
    "assd_mm",
    "gt_volume_mm3",
    "pred_volume_mm3",
    "fp_volume_mm3",
    "fn_volume_mm3",
]
VOXEL_MM3 = 5.0 * 5.0 * 5.0
#: a split of tiny_h5 with two test patients (no model needed to score masks)
EVAL_SPLIT = ("split.train=[STS_002]", "split.valid=[STS_003]", "split.test=[STS_001, STS_004]")
EVAL_TEST = ["STS_001", "STS_004"]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _header(path: Path) -> list[str]:
    with open(path, newline="") as fh:
        return next(csv.reader(fh))


def _f(cell: str) -> float:
    return math.nan if cell == "" else float(cell)


def _truth_volume(h5_path: Path, pid: str) -> np.ndarray:
    return (h5.read_volume(h5_path, pid).label > 0).astype(np.uint8)


# --------------------------------------------------------------------------- datasets


def ecfg(*extra: str) -> Config:
    return cfg48(*EVAL_SPLIT, *extra)


@pytest.fixture(scope="module")
def eval_ds(tiny_h5, tmp_path_factory) -> Path:
    res = prepare(ecfg(), tiny_h5, tmp_path_factory.mktemp("evalds") / "ds")
    assert res.splits["test"] == EVAL_TEST
    return res.output


@pytest.fixture(scope="module")
def perfect_preds(eval_ds, tmp_path_factory) -> Path:
    """The truth masks themselves, as a predictions folder."""
    out = tmp_path_factory.mktemp("perfect") / "pred"
    shutil.copytree(eval_ds / "test" / "masks", out)
    return out


@pytest.fixture(scope="module")
def perfect(eval_ds, perfect_preds, tmp_path_factory):
    out = tmp_path_factory.mktemp("ev_perfect") / "report"
    return evaluate(ecfg(), eval_ds, out, predictions=perfect_preds)


HAND_TUMOUR_VOXELS = 2 * 4 * 4  # conftest.hand_h5: label[2:4, 8:12, 9:13] in every patient


@pytest.fixture(scope="module")
def hand_ds(hand_h5, tmp_path_factory) -> Path:
    cfg = load_config(None, ["model.image_size=32", "model.num_layers=3"])
    return prepare(cfg, hand_h5, tmp_path_factory.mktemp("handds") / "ds").output


def _hand_preds(hand_ds: Path, folder: Path, z_keep: set[int]) -> Path:
    """Predicted masks: the truth on slices ``z_keep``, empty elsewhere."""
    folder.mkdir()
    for r in read_manifest(hand_ds):
        if r.split == "test":
            truth = png.read_mask(hand_ds / r.mask)
            png.write_mask(folder / f"{r.name}.png", truth if r.z in z_keep else np.zeros_like(truth))
    return folder


# --------------------------------------------------------------------------- perfect predictions


def test_perfect_predictions_score_dice_1_and_hd95_0_per_patient(perfect, tiny_h5):
    rows = _rows(perfect.output / "per_patient.csv")
    assert [r["patient"] for r in rows] == EVAL_TEST
    for r in rows:
        gt_mm3 = float(_truth_volume(tiny_h5, r["patient"]).sum()) * VOXEL_MM3
        assert gt_mm3 > 0
        for key in ("dice", "iou", "precision", "recall"):
            assert float(r[key]) == 1.0, key
        assert float(r["hd95_mm"]) == 0.0
        assert float(r["assd_mm"]) == 0.0
        assert float(r["gt_volume_mm3"]) == pytest.approx(gt_mm3, rel=1e-6)
        assert float(r["pred_volume_mm3"]) == pytest.approx(gt_mm3, rel=1e-6)
        assert float(r["fp_volume_mm3"]) == 0.0
        assert float(r["fn_volume_mm3"]) == 0.0


def test_per_patient_csv_has_the_required_columns_first(perfect):
    assert _header(perfect.output / "per_patient.csv")[: len(REQUIRED)] == REQUIRED
    per_image = _header(perfect.output / "per_image.csv")
    assert per_image[0] == "image"
    assert per_image[1 : 1 + len(REQUIRED)] == REQUIRED


def test_summary_json_holds_stats_per_metric_and_empty_counts(perfect, eval_ds, perfect_preds):
    s = json.loads((perfect.output / "summary.json").read_text())
    rows = [r for r in read_manifest(eval_ds) if r.split == "test"]
    n_empty = sum(r.tumour_pixels == 0 for r in rows)
    assert 0 < n_empty < len(rows)
    assert s["cases"] == EVAL_TEST
    assert s["n_images"] == len(rows)
    assert s["predictions"] == str(perfect_preds)
    assert s["model"] is None
    assert s["empty_policy"] == "nan"
    p3 = s["per_patient_3d"]
    for key in ("dice", "iou", "precision", "recall", "hd95_mm", "assd_mm", "fp_volume_mm3", "fn_volume_mm3"):
        assert {"mean", "std", "median", "count"} <= set(p3[key]), key
    assert p3["dice"] == {**p3["dice"], "mean": 1.0, "std": 0.0, "median": 1.0, "count": 2, "missing": 0}
    assert p3["hd95_mm"]["mean"] == 0.0
    assert s["per_patient_3d_empty"] == {"both empty": 0, "empty truth": 0, "empty prediction": 0}
    # per image: the tumour-free slices are predicted empty, so their Dice is a 0/0 (NaN, excluded)
    assert s["per_image_2d_empty"]["both empty"] == n_empty
    assert s["per_image_2d"]["dice"]["count"] == len(rows) - n_empty
    assert s["per_image_2d"]["dice"]["missing"] == n_empty
    assert s["config"]["eval"]["split"] == "test"


def test_evaluation_csv_is_two_column_metric_value(perfect):
    lines = (perfect.output / "evaluation.csv").read_text().splitlines()
    pairs = dict(line.split(",") for line in lines)  # exactly two fields per line, no header
    assert all(len(line.split(",")) == 2 for line in lines)
    assert float(pairs["tumour_dice_3d_mean"]) == 1.0
    assert float(pairs["hd95_mm_3d_median"]) == 0.0
    assert float(pairs["tumour_dice_2d_mean"]) == 1.0
    assert "baseline_tumour_dice_3d_mean" in pairs
    assert all(np.isfinite(float(value)) for value in pairs.values())


def test_restacked_truth_equals_the_h5_label_volume(eval_ds, perfect_preds, tiny_h5):
    rows = [r for r in read_manifest(eval_ds) if r.split == "test"]
    masks = {r.name: png.read_mask(perfect_preds / f"{r.name}.png") for r in rows}
    vols = restack(rows, masks)
    assert sorted(vols) == EVAL_TEST
    for pid, vol in vols.items():
        truth = h5.read_volume(tiny_h5, pid).label
        assert vol.shape == truth.shape
        np.testing.assert_array_equal(vol, (truth > 0).astype(np.uint8))


def test_baseline_matches_an_independent_pet_threshold(perfect, tiny_h5):
    base = perfect.output / "baseline_per_patient.csv"
    assert base.is_file()  # split.json records the source HDF5, so the baseline runs
    rows = _rows(base)
    assert _header(base)[: len(REQUIRED)] == REQUIRED
    assert [r["patient"] for r in rows] == EVAL_TEST
    b = ecfg().eval.baseline
    for r in rows:
        vol = h5.read_volume(tiny_h5, r["patient"])
        mask = pet_threshold(vol.pet, b.mode, b.fraction, b.suv, b.keep_components)
        expected = dice(confusion_counts(mask, vol.label > 0))
        assert expected == pytest.approx(dice_np(mask, vol.label))
        assert float(r["dice"]) == pytest.approx(expected, rel=1e-5)
        assert float(r["pred_volume_mm3"]) == pytest.approx(float(mask.sum()) * VOXEL_MM3, rel=1e-5)
    s = json.loads((perfect.output / "summary.json").read_text())
    assert s["baseline"]["per_patient_3d"]["dice"]["mean"] == pytest.approx(
        np.mean([float(r["dice"]) for r in rows]), rel=1e-5
    )


def _suv_rule_by_scipy(pet: np.ndarray, suv: float) -> np.ndarray:
    """SUV >= ``suv``, then the largest 26-connected component: an oracle written with scipy alone."""
    from scipy import ndimage

    lab, n = ndimage.label(pet >= suv, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return np.zeros(pet.shape, np.uint8)
    sizes = ndimage.sum_labels(np.ones(pet.shape), lab, index=np.arange(1, n + 1))
    return (lab == 1 + int(np.argmax(sizes))).astype(np.uint8)


def test_the_other_baseline_rule_is_scored_too(perfect, tiny_h5):
    """The headline rule is 40 % of SUVmax; the fixed SUV >= 2.5 rule is scored beside it."""
    other = perfect.output / "baseline_suv_per_patient.csv"
    assert other.is_file()
    rows = _rows(other)
    assert [r["patient"] for r in rows] == EVAL_TEST
    for r in rows:
        vol = h5.read_volume(tiny_h5, r["patient"])
        mask = _suv_rule_by_scipy(vol.pet, 2.5)
        assert float(r["dice"]) == pytest.approx(dice_np(mask, vol.label), rel=1e-5)
        assert float(r["pred_volume_mm3"]) == pytest.approx(float(mask.sum()) * VOXEL_MM3, rel=1e-5)
    s = json.loads((perfect.output / "summary.json").read_text())
    assert s["other_baseline"]["rule"] == "suv"
    assert s["other_baseline"]["per_patient_3d"]["dice"]["mean"] == pytest.approx(
        np.mean([float(r["dice"]) for r in rows]), rel=1e-5
    )


def test_suv_as_the_headline_rule_swaps_the_two_files(eval_ds, perfect_preds, tiny_h5, tmp_path):
    cfg = ecfg("eval.baseline.mode=suv")
    rep = evaluate(cfg, eval_ds, tmp_path / "rep", predictions=perfect_preds)
    head, other = (
        _rows(rep.output / "baseline_per_patient.csv"),
        _rows(rep.output / "baseline_fraction_per_patient.csv"),
    )
    for h, o in zip(head, other, strict=True):
        vol = h5.read_volume(tiny_h5, h["patient"])
        assert float(h["dice"]) == pytest.approx(dice_np(_suv_rule_by_scipy(vol.pet, 2.5), vol.label), rel=1e-5)
        frac = _suv_rule_by_scipy(vol.pet, 0.4 * float(vol.pet.max()))
        assert float(o["dice"]) == pytest.approx(dice_np(frac, vol.label), rel=1e-5)


def test_overlays_are_written_for_predictions_folders(perfect):
    names = sorted(p.name for p in (perfect.output / "overlays").iterdir())
    assert names
    assert all(n.endswith(".png") for n in names)
    assert any(n.startswith("best1_") for n in names)


# --------------------------------------------------------------------------- hand-made cases


def test_empty_predictions_dice_0_and_hd95_missing_with_a_reason(hand_ds, tmp_path):
    preds = _hand_preds(hand_ds, tmp_path / "pred", z_keep=set())
    rep = evaluate(load_config(None, ["model.image_size=32"]), hand_ds, tmp_path / "rep", predictions=preds)
    rows = _rows(tmp_path / "rep" / "per_patient.csv")
    assert len(rows) == 1
    r = rows[0]
    assert float(r["dice"]) == 0.0
    assert float(r["iou"]) == 0.0
    assert float(r["recall"]) == 0.0
    assert r["precision"] == ""  # 0/0 (empty prediction) under the nan policy
    assert r["hd95_mm"] == ""
    assert r["assd_mm"] == ""
    assert r["surface_note"] == "empty prediction"
    assert float(r["gt_volume_mm3"]) == HAND_TUMOUR_VOXELS * VOXEL_MM3 == 4000.0
    assert float(r["pred_volume_mm3"]) == 0.0
    assert float(r["fn_volume_mm3"]) == 4000.0  # the one tumour is missed entirely
    assert float(r["fp_volume_mm3"]) == 0.0
    assert math.isnan(rep.per_patient.rows[0]["hd95_mm"])
    s = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert s["per_patient_3d_empty"]["empty prediction"] == 1
    assert s["per_patient_3d"]["hd95_mm"]["count"] == 0
    assert s["per_patient_3d"]["hd95_mm"]["missing"] == 1
    assert s["per_patient_3d"]["dice"]["mean"] == 0.0


def test_half_of_the_tumour_predicted_by_hand(hand_ds, tmp_path):
    # the truth cube is 2 slices x 4 x 4; predict only slice z=2: TP 16, FN 16, FP 0
    preds = _hand_preds(hand_ds, tmp_path / "pred", z_keep={2})
    evaluate(load_config(None, ["model.image_size=32"]), hand_ds, tmp_path / "rep", predictions=preds)
    r = _rows(tmp_path / "rep" / "per_patient.csv")[0]
    assert float(r["dice"]) == pytest.approx(2 * 16 / (32 + 16), rel=1e-5)
    assert float(r["iou"]) == pytest.approx(0.5)
    assert float(r["precision"]) == 1.0
    assert float(r["recall"]) == 0.5
    assert float(r["pred_volume_mm3"]) == 2000.0
    assert float(r["fn_volume_mm3"]) == 0.0  # the tumour is touched: no missed lesion
    # every voxel is a surface voxel; the 16 truth voxels of z=3 are 5 mm from the prediction
    assert float(r["hd95_mm"]) == 5.0
    assert float(r["assd_mm"]) == pytest.approx(5.0 * 16 / 48, rel=1e-5)


@pytest.mark.parametrize(("policy", "empty_dice"), [("nan", ""), ("one", "1"), ("zero", "0")])
def test_empty_policy_sets_the_both_empty_dice(eval_ds, perfect_preds, tmp_path, policy, empty_dice):
    evaluate(ecfg(f"eval.empty_policy={policy}"), eval_ds, tmp_path / "rep", predictions=perfect_preds)
    rows = _rows(tmp_path / "rep" / "per_image.csv")
    empty = [r for r in rows if float(r["gt_volume_mm3"]) == 0]
    full = [r for r in rows if float(r["gt_volume_mm3"]) > 0]
    assert empty
    assert full
    assert {r["dice"] for r in empty} == {empty_dice}
    assert {r["iou"] for r in empty} == {empty_dice}
    assert {float(r["dice"]) for r in full} == {1.0}
    s = json.loads((tmp_path / "rep" / "summary.json").read_text())["per_image_2d"]["dice"]
    n, k = len(rows), len(full)
    assert s["count"] == (k if policy == "nan" else n)
    assert s["mean"] == pytest.approx({"nan": 1.0, "one": 1.0, "zero": k / n}[policy])
    # patients hold tumour: the 3D numbers do not depend on the policy
    assert {float(r["dice"]) for r in _rows(tmp_path / "rep" / "per_patient.csv")} == {1.0}


# --------------------------------------------------------------------------- guards


def test_a_test_patient_listed_in_train_is_refused(eval_ds, perfect_preds, tmp_path):
    ds = copy_tree(eval_ds, tmp_path / "ds")
    split = json.loads((ds / "split.json").read_text())
    split["train"].append("STS_004")
    (ds / "split.json").write_text(json.dumps(split))
    with pytest.raises(DataError, match=r"STS_004 appear in both train and test"):
        evaluate(ecfg(), ds, tmp_path / "rep", predictions=perfect_preds)
    assert not (tmp_path / "rep").exists()


def test_a_train_slice_copied_into_test_is_refused(eval_ds, perfect_preds, tmp_path):
    ds = copy_tree(eval_ds, tmp_path / "ds")
    name = sorted((ds / "train" / "images").iterdir())[0].name  # an STS_002 slice
    assert name.startswith("STS_002_")
    for sub in ("images", "masks"):
        shutil.copy(ds / "train" / sub / name, ds / "test" / sub / name)
    preds = copy_tree(perfect_preds, tmp_path / "pred")
    shutil.copy(ds / "train" / "masks" / name, preds / name)
    with pytest.raises(DataError, match=name[:-4]):  # with a manifest: the file is not a test slice
        evaluate(ecfg(), ds, tmp_path / "rep", predictions=preds)
    (ds / "manifest.csv").unlink()  # without one, the patient guard itself must catch it
    with pytest.raises(DataError, match=r"STS_002 appear in both train and test"):
        evaluate(ecfg(), ds, tmp_path / "rep", predictions=preds)
    assert not (tmp_path / "rep").exists()


def test_augmented_copies_in_the_test_split_are_refused(eval_ds, perfect_preds, tmp_path):
    ds = copy_tree(eval_ds, tmp_path / "ds")
    preds = copy_tree(perfect_preds, tmp_path / "pred")
    src = "STS_001_3.png"
    for folder in (ds / "test" / "images", ds / "test" / "masks", preds):
        shutil.copy(folder / src, folder / f"hflipped_{src}")
    with pytest.raises(DataError, match=f"hflipped_{src[:-4]}"):
        evaluate(ecfg(), ds, tmp_path / "rep", predictions=preds)
    (ds / "manifest.csv").unlink()
    with pytest.raises(DataError, match=r"1 augmented file\(s\) \(hflipped_STS_001_3\)"):
        evaluate(ecfg(), ds, tmp_path / "rep", predictions=preds)
    assert not (tmp_path / "rep").exists()


def test_guard_function_directly(eval_ds):
    check_no_leakage(eval_ds, "test", ["STS_001_0", "STS_004_1"], {"STS_001", "STS_004"})  # clean: no error
    with pytest.raises(DataError, match="STS_002"):
        check_no_leakage(eval_ds, "test", ["STS_002_0"], {"STS_002"})
    with pytest.raises(DataError, match="rotated_90_STS_001_0"):
        check_no_leakage(eval_ds, "test", ["rotated_90_STS_001_0"], {"STS_001"})


def test_a_missing_prediction_is_named(eval_ds, perfect_preds, tmp_path):
    preds = copy_tree(perfect_preds, tmp_path / "pred")
    (preds / "STS_004_2.png").unlink()
    with pytest.raises(DataError, match=r"no predicted mask for 1 image\(s\) \(e\.g\. STS_004_2\)"):
        evaluate(ecfg(), eval_ds, tmp_path / "rep", predictions=preds)
    with pytest.raises(DataError, match="predictions folder not found"):
        evaluate(ecfg(), eval_ds, tmp_path / "rep", predictions=tmp_path / "nowhere")
    assert not (tmp_path / "rep").exists()


def test_an_existing_report_is_refused_without_force(eval_ds, perfect_preds, tmp_path):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OverwriteError, match="--force"):
        evaluate(ecfg(), eval_ds, out, predictions=perfect_preds)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    evaluate(ecfg(), eval_ds, out, predictions=perfect_preds, force=True)
    assert (out / "per_patient.csv").is_file()
    assert not (out / "keep.txt").exists()


# --------------------------------------------------------------------------- with the trained model


@pytest.mark.tf
def test_evaluate_with_the_trained_model(dataset48, model_path, tiny_h5, tmp_path):
    rep = evaluate(cfg48(), dataset48, tmp_path / "rep", model_path=model_path)
    out = tmp_path / "rep"
    overlays = sorted(p.name for p in (out / "overlays").iterdir())
    assert overlays
    assert overlays[0].startswith("best1_STS_001_")
    s = json.loads((out / "summary.json").read_text())
    assert s["model"] == str(model_path)
    assert s["predictions"] is None
    assert (out / "baseline_per_patient.csv").is_file()

    # independent: keras predict on the PNGs, argmax, back onto the native grid, numpy Dice
    rows = [r for r in read_manifest(dataset48) if r.split == "test"]
    labels, confident = keras_labels(model_path, np.stack([png.read_image(dataset48 / r.image) for r in rows]))
    (pid,) = TEST_PATIENTS
    truth = h5.read_volume(tiny_h5, pid).label
    vol = np.zeros(truth.shape, np.uint8)
    unsure = 0
    for r, lab, ok in zip(rows, labels, confident, strict=True):
        vol[r.z] = to_native(lab, r.placement)
        unsure += int((to_native((~ok).astype(np.uint8), r.placement) > 0).sum())
    (row,) = _rows(out / "per_patient.csv")
    assert row["patient"] == pid
    expected = dice_np(vol, truth)
    # a near-tie voxel that flips moves the Dice by at most 2 / (|truth| + |pred| - 1) each
    tol = 2 * unsure / max(1, int((truth > 0).sum()) + int(vol.sum()) - unsure) + 1e-6
    assert abs(_f(row["dice"]) - expected) <= tol
    assert abs(float(row["pred_volume_mm3"]) - float(vol.sum()) * VOXEL_MM3) <= unsure * VOXEL_MM3
    assert rep.per_patient.rows[0]["dice"] == pytest.approx(_f(row["dice"]), rel=1e-5)


def test_a_folder_without_manifest_gets_2d_scores_overlays_and_a_note(eval_ds, tmp_path):
    """Any {train,valid,test}/{images,masks} tree (e.g. the original's PNG dataset) is scored per image."""
    ds = tmp_path / "plain"
    for split in ("train", "valid", "test"):
        shutil.copytree(eval_ds / split, ds / split)
    preds = tmp_path / "preds"
    preds.mkdir()
    names = sorted(p.name for p in (ds / "test" / "masks").iterdir())
    for k, name in enumerate(names):  # half the slices predicted exactly, the others empty
        mask = png.read_mask(ds / "test" / "masks" / name)
        png.write_mask(preds / name, mask if k % 2 == 0 else np.zeros_like(mask))
    rep = evaluate(ecfg(), ds, tmp_path / "rep", predictions=preds)
    assert rep.per_patient is None
    assert any("no manifest.csv" in n for n in rep.notes)
    files = sorted(p.name for p in (tmp_path / "rep").iterdir())
    assert files == ["evaluation.csv", "overlays", "per_image.csv", "summary.json"]
    rows = {r["image"]: r for r in _rows(tmp_path / "rep" / "per_image.csv")}
    for k, name in enumerate(names):
        truth = png.read_mask(ds / "test" / "masks" / name) > 0
        row = rows[name[:-4]]
        if not truth.any():
            continue
        assert _f(row["dice"]) == (1.0 if k % 2 == 0 else 0.0)
        assert _f(row["gt_volume_mm3"]) == truth.sum()  # pixel units without a manifest
    assert json.loads((tmp_path / "rep" / "summary.json").read_text())["per_patient_3d"] is None
    assert list((tmp_path / "rep" / "overlays").iterdir())
