"""NIfTI sources (autoPET, nnU-Net raw, HECKTOR): layout detection, orientation against an
independent reader (SimpleITK), grouping by patient, validation errors, round trips through
prepare and evaluate, resampling that keeps tumour volume, and masks written back on each case's
own grid (checked with nibabel and SimpleITK)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk  # noqa: N813

from sts_seg.config import load_config
from sts_seg.core.resample import resample_mask, target_shape
from sts_seg.errors import DataError
from sts_seg.evaluate import evaluate
from sts_seg.phantom import PhantomSpec, synth
from sts_seg.prepare import prepare
from sts_seg.sources import detect_layout, open_source

SPEC = PhantomSpec(slices=(8, 12), size=(32, 40))
SPACING = (6.0, 4.0, 4.0)  # z, y, x mm: small volumes for tests
LAYOUTS = ("autopet", "nnunet", "hecktor")


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("nifti")
    return {k: _synth(root / k, k) for k in LAYOUTS}


def _synth(path: Path, layout: str, n: int = 4) -> Path:
    synth(output=path, n_patients=n, seed=1, spec=SPEC, layout=layout, spacing=SPACING)
    return path


def _lps(path: Path) -> np.ndarray:
    """SimpleITK's reading of a file, oriented to LPS: the independent oracle of our arrays."""
    return sitk.GetArrayFromImage(sitk.DICOMOrient(sitk.ReadImage(str(path)), "LPS"))


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_is_detected_and_arrays_match_simpleitk(trees, layout):
    src = open_source(trees[layout])
    assert src.layout == detect_layout(trees[layout]) == layout
    for info in src.infos():
        case = src.read(info.case_id)
        files = src.files[info.case_id]
        np.testing.assert_array_equal(case.ct, _lps(files.ct).astype(np.float32))
        np.testing.assert_array_equal(case.label, _lps(files.label))
        assert case.spacing == SPACING == info.spacing
        assert case.ct.shape == info.shape
        if layout != "hecktor":  # HECKTOR's PET is resampled onto the CT grid
            np.testing.assert_allclose(case.pet, _lps(files.pet), rtol=1e-6)


def test_the_files_store_their_voxels_in_other_orientations(trees):
    """The phantom's files are not in LPS order: the affine must be honoured to read them."""
    codes = {k: nib.aff2axcodes(nib.load(open_source(p).files[open_source(p).infos()[0].case_id].ct).affine)
             for k, p in trees.items()}  # fmt: skip
    assert codes == {"autopet": ("R", "A", "S"), "nnunet": ("L", "P", "I"), "hecktor": ("R", "A", "S")}
    src = open_source(trees["hecktor"])
    pet = nib.load(src.files[src.infos()[0].case_id].pet)
    assert nib.aff2axcodes(pet.affine) == ("L", "A", "S")
    ct = nib.load(src.files[src.infos()[0].case_id].ct)
    assert all(p > c for p, c in zip(pet.header.get_zooms()[:3], ct.header.get_zooms()[:3], strict=True))  # coarser


def test_hecktor_pet_is_resampled_onto_the_ct_grid(trees):
    src = open_source(trees["hecktor"])
    case = src.read(src.infos()[0].case_id)
    assert case.pet.shape == case.ct.shape
    tumour = case.label > 0
    assert case.pet[tumour].mean() > 2 * case.pet[~tumour & (case.ct > -500)].mean()  # uptake stays on the tumour
    assert set(np.unique(case.label).tolist()) <= {0, 1, 2}


def test_studies_group_by_patient_and_case_ids_keep_spaces(trees):
    src = open_source(trees["autopet"])
    infos = src.infos()
    assert len(infos) == 4
    assert len({i.patient for i in infos}) == 3  # the last two studies are one patient's
    assert all("Ganzkoerper  primaer" in i.case_id for i in infos)
    nn = open_source(trees["nnunet"])
    assert len({i.patient for i in nn.infos()}) == 3  # fdg_<id>_... names share a patient id
    values = {"data.source": trees["autopet"], "data.dataset": trees["autopet"].parent / "ds_a",
              "split.fractions": [0.34, 0.33, 0.33]}  # fmt: skip
    res = prepare(cfg=load_config(None, values=values))
    by_patient = {}
    for g in res.cases.values():
        by_patient.setdefault(g.patient, set()).add(g.split)
    assert all(len(s) == 1 for s in by_patient.values())  # no patient in two splits


def test_an_unrelated_file_is_ignored_with_a_note(trees):
    assert any("fdg_metadata.csv" in n for n in open_source(trees["autopet"]).notes)


# --------------------------------------------------------------------------- validation


def _copy(trees, layout: str, tmp_path: Path) -> Path:
    return shutil.copytree(trees[layout], tmp_path / layout)


def _first(root: Path, pattern: str) -> Path:
    return sorted(root.rglob(pattern))[0]


def test_a_missing_modality_file_is_named(trees, tmp_path):
    a = _copy(trees, "autopet", tmp_path)
    _first(a, "SUV.nii.gz").unlink()
    with pytest.raises(DataError, match=r"CTres\.nii\.gz without SUV\.nii\.gz"):
        open_source(a)
    n = _copy(trees, "nnunet", tmp_path)
    gone = _first(n / "imagesTr", "*_0001.nii.gz")
    gone.unlink()
    with pytest.raises(DataError, match=rf"has no channel 0001 .*{re.escape(gone.name)}"):
        open_source(n)
    h = _copy(trees, "hecktor", tmp_path)
    _first(h, "*__PT.nii.gz").unlink()
    with pytest.raises(DataError, match=r"no CHUS-001__PT\.nii\.gz beside it"):
        open_source(h)


def _rewrite(path: Path, data=None, affine=None) -> None:
    img = nib.load(path)
    arr = np.asarray(img.dataobj) if data is None else data
    nib.save(nib.Nifti1Image(arr, img.affine if affine is None else affine, img.header), path)


def test_grids_that_differ_are_refused_naming_the_case(trees, tmp_path):
    a = _copy(trees, "autopet", tmp_path)
    suv = _first(a, "SUV.nii.gz")
    _rewrite(suv, data=np.asarray(nib.load(suv).dataobj)[:-1])
    src = open_source(a)
    case = next(i.case_id for i in src.infos() if src.files[i.case_id].pet == suv)
    with pytest.raises(DataError, match=f"case {case}: PET SUV.nii.gz .* different grids"):
        src.read(case)
    seg = sorted(a.rglob("SEG.nii.gz"))[1]  # another case than the broken PET
    shifted = nib.load(seg).affine.copy()
    shifted[0, 3] += 10.0
    _rewrite(seg, affine=shifted)
    case = next(i.case_id for i in src.infos() if src.files[i.case_id].label == seg)
    with pytest.raises(DataError, match=r"label SEG\.nii\.gz .* not on the CT grid"):
        open_source(a).read(case)


def test_nan_values_are_refused(trees, tmp_path):
    a = _copy(trees, "autopet", tmp_path)
    suv = _first(a, "SUV.nii.gz")
    data = np.asarray(nib.load(suv).dataobj).astype(np.float32)
    data[0, 0, 0] = np.nan
    _rewrite(suv, data=data)
    src = open_source(a)
    case = next(i.case_id for i in src.infos() if src.files[i.case_id].pet == suv)
    with pytest.raises(DataError, match=f"case {case}: PET holds NaN"):
        src.read(case)


def test_labels_outside_the_foreground_labels_name_the_case_and_values(trees, tmp_path):
    cfg = load_config(None, values={"data.source": trees["hecktor"], "data.dataset": tmp_path / "ds",
                                    "data.foreground_labels": [1], "model.num_layers": 3})  # fmt: skip
    with pytest.raises(DataError, match=r"case CHUS-\d+: label values \[2\] .* \(found 0, 1, 2\)"):
        prepare(cfg=cfg)
    assert not (tmp_path / "ds").exists()
    res = prepare(cfg=cfg.updated({"data.background_labels": [2]}))  # nodes as background: accepted
    assert sum(res.tumour_slices.values()) > 0
    facts = json.loads((tmp_path / "ds" / "fingerprint.json").read_text())["cases"]
    src = open_source(trees["hecktor"])
    for case, f in facts.items():  # the source's label values, and only label 1 counted as tumour
        label = src.read(case).label
        assert f["labels"] == sorted(int(v) for v in np.unique(label))
        assert f["tumour_voxels"] == int((label == 1).sum())
    assert any(2 in f["labels"] for f in facts.values())


def test_dataset_json_channel_names_must_say_ct_and_pet(trees, tmp_path):
    n = _copy(trees, "nnunet", tmp_path)
    meta = json.loads((n / "dataset.json").read_text())
    meta["channel_names"] = {"0": "CT", "1": "CT"}  # the DKFZ autoPET conversion's names
    (n / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"do not name one CT and one PET channel; .* data.channels"):
        open_source(n)
    assert len(open_source(n, channels={"ct": 0, "pet": 1}).infos()) == 4


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("layout", LAYOUTS)
def test_true_labels_as_predictions_score_dice_1_and_the_exact_volume(trees, layout, tmp_path):
    src = open_source(trees[layout])
    cfg = load_config(None, values={"data.source": trees[layout], "data.dataset": tmp_path / "ds",
                                    "model.num_layers": 3})  # fmt: skip
    res = prepare(cfg=cfg)
    assert res.layout == layout
    assert not any(g.resampled for g in res.cases.values())  # auto: 4 mm in-plane, the phantom's own spacing
    preds = tmp_path / "preds"
    preds.mkdir()
    test_cases = [c for c, g in res.cases.items() if g.split == "test"]
    for case in test_cases:
        shutil.copy(src.files[case].label, preds / f"{case}.nii.gz")
    rep = evaluate(cfg=cfg.updated({"eval.predictions": preds, "eval.output": tmp_path / "rep"}))
    voxel = float(np.prod(SPACING))
    assert sorted(r["case"] for r in rep.per_patient.rows) == sorted(test_cases)
    for r in rep.per_patient.rows:
        assert r["dice"] == 1.0
        assert r["gt_volume_mm3"] == int((src.read(r["case"]).label > 0).sum()) * voxel
    assert rep.baseline is not None


def test_resampling_keeps_the_tumour_volume(trees, tmp_path):
    """Slices on a 5 mm grid restacked and mapped back: Dice and volume against the 4 mm source."""
    cfg = load_config(None, values={"data.source": trees["nnunet"], "data.dataset": tmp_path / "ds",
                                    "model.num_layers": 3, "prepare.spacing_mm": [6.0, 5.0, 5.0]})  # fmt: skip
    prepare(cfg=cfg)
    preds = tmp_path / "png_preds"
    shutil.copytree(tmp_path / "ds" / "test" / "masks", preds)
    rep = evaluate(cfg=cfg.updated({"eval.predictions": preds, "eval.output": tmp_path / "rep"}))
    for r in rep.per_patient.rows:
        assert r["dice"] > 0.9
        assert abs(r["volume_error_rel"]) < 0.1  # 4 mm -> 5 mm -> 4 mm: within 10 %


def test_label_safe_resampling_keeps_volume_better_than_nearest():
    yy, xx = np.mgrid[:40, :40]
    blob = np.broadcast_to(((yy - 20) ** 2 + (xx - 19) ** 2 < 90)[None], (6, 40, 40)).astype(np.uint8)
    shape = target_shape(blob.shape, (3.0, 2.0, 2.0), (3.0, 3.1, 3.1))
    down = resample_mask(blob, shape)
    vol_mm3 = blob.sum() * 12.0
    # the resampled volume (in mm3 of the new grid) stays within 4 % of the original
    new_voxel = 3.0 * (40 * 2.0 / shape[1]) * (40 * 2.0 / shape[2])
    assert abs(down.sum() * new_voxel - vol_mm3) / vol_mm3 < 0.04
    back = resample_mask(down, blob.shape)
    assert 2 * (back & blob).sum() / (back.sum() + blob.sum()) > 0.9


@pytest.mark.parametrize(
    "values", [[0], [1], [0, 1], [3, 4], [0, 2], [0, 1, 2], [5, 0, 9]], ids=lambda v: "-".join(map(str, v))
)
def test_label_values_are_the_distinct_values(values):
    from sts_seg.sources.checks import label_values

    label = np.array(values * 7, np.uint8).reshape(1, 7, len(values))
    assert label_values(label).tolist() == sorted(set(values))
