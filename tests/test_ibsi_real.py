"""The real IBSI STS set (``../shared/data/sts_ibsi``, or ``$STSSEG_IBSI``) through stsseg's Sources:
``configs/sts_ibsi.yaml`` prepares the NIfTI tree, the DICOM studies read onto the same grids as the
IBSI's own NIfTI conversion (MIRP), and infer writes a mask per unlabelled case. Skipped where the
data is absent. The oracles are the IBSI's files and its ``cases.csv``, never stsseg itself."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from sts_seg.cli import app
from sts_seg.config import load_config
from sts_seg.prepare import prepare
from sts_seg.sources import open_source

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("STSSEG_IBSI", Path(__file__).resolve().parents[2] / "shared/data/sts_ibsi"))
NIFTI, DICOM = DATA / "nifti", DATA / "dicom"
DICOM_PATIENTS = ("STS_004", "STS_005", "STS_010", "STS_023", "STS_025", "STS_040")
MASKS = {"pet": "PET_mask.nii.gz", "ct": "CT_mask.nii.gz"}

pytestmark = pytest.mark.skipif(not NIFTI.is_dir(), reason=f"the IBSI STS data is not at {DATA} (set STSSEG_IBSI)")


def files(reference: str, label: bool = True) -> dict[str, str]:
    return {"ct": "CT_image.nii.gz", "pet": "PET_image.nii.gz", **({"label": MASKS[reference]} if label else {})}


def table() -> dict[str, dict[str, str]]:
    with open(DATA / "cases.csv") as fh:
        return {r["patient"]: r for r in csv.DictReader(fh)}


def subset(dest: Path, patients: tuple[str, ...], names: tuple[str, ...]) -> Path:
    """A tree of symlinks to ``names`` of ``patients``: a quick copy of the set's layout."""
    for p in patients:
        (dest / p).mkdir(parents=True)
        for n in names:
            (dest / p / n).symlink_to(NIFTI / p / n)
    return dest


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


def test_prepare_with_the_shipped_config_on_three_patients(tmp_path):
    """PET-grid shapes as the IBSI lists them, tumour volumes as cases.csv gives them, and STS_019's
    misregistered PET and CT named in a note."""
    patients = ("STS_002", "STS_019", "STS_025")
    tree = subset(tmp_path / "t", patients, ("CT_image.nii.gz", "PET_image.nii.gz", "PET_mask.nii.gz"))
    cfg = load_config(ROOT / "configs" / "sts_ibsi.yaml", ["split.train=null", "split.valid=null", "split.test=null"])
    res = prepare(cfg=cfg.updated({"data.source": tree, "data.dataset": tmp_path / "ds"}))
    rows = table()
    for p in patients:
        x, y, z = (int(v) for v in rows[p]["pet_shape_xyz"].split("x"))
        assert res.cases[p].source_shape == (z, y, x)
    assert [n for n in res.notes if n.startswith("case STS_019:") and "misaligned" in n]
    assert not [n for n in res.notes if n.startswith(("case STS_002:", "case STS_025:"))]
    src = open_source(tree, "folders", files=files("pet"), reference="pet")
    for p in patients:
        case = src.read(p)
        ml = float(case.label.sum()) * float(np.prod(case.spacing)) / 1000.0
        assert ml == pytest.approx(float(rows[p]["tumour_ml_pet_mask"]), abs=0.06), p


@pytest.fixture(scope="module")
def sources():
    pytest.importorskip("pydicom")
    if not DICOM.is_dir():
        pytest.skip(f"no DICOM studies at {DICOM}")
    return {ref: (open_source(DICOM, "dicom", reference=ref),
                  open_source(NIFTI, "folders", files=files(ref), reference=ref)) for ref in ("pet", "ct")}  # fmt: skip


def _agree(sources, reference: str, patient: str) -> None:
    dicom, nifti = sources[reference]
    a, b = dicom.read(patient), nifti.read(patient)
    assert a.ct.shape == b.ct.shape
    assert a.spacing == pytest.approx(b.spacing, abs=1e-4)
    np.testing.assert_allclose(a.geometry.affine, b.geometry.affine, atol=0.01)  # mm
    np.testing.assert_allclose(a.ct, b.ct, rtol=1e-3, atol=1e-3)  # HU
    np.testing.assert_allclose(a.pet, b.pet, rtol=1e-3, atol=1e-4)  # SUV
    assert _dice(a.label, b.label) >= 0.97
    assert abs(int(a.label.sum()) - int(b.label.sum())) <= 0.02 * int(b.label.sum())


@pytest.mark.parametrize("patient", DICOM_PATIENTS)
def test_dicom_reads_onto_the_pet_grid_of_the_ibsi_nifti(sources, patient):
    _agree(sources, "pet", patient)


@pytest.mark.slow
@pytest.mark.parametrize("patient", DICOM_PATIENTS)
def test_dicom_reads_onto_the_ct_grid_of_the_ibsi_nifti(sources, patient):
    _agree(sources, "ct", patient)


def test_dicom_infos_match_the_nifti_headers(sources):
    dicom, nifti = sources["pet"]
    by_case = {i.case_id: i for i in nifti.infos()}
    for info in dicom.infos():
        assert info.shape == by_case[info.case_id].shape
        assert info.spacing == pytest.approx(by_case[info.case_id].spacing, abs=1e-4)


pytest_plugins = ["_pipeline"]


@pytest.mark.tf
def test_infer_then_evaluate_on_unlabelled_real_cases(model_path, runner, tmp_path):
    """``stsseg infer configs/sts_ibsi.yaml`` on a tree without masks: one mask per case on its PET grid,
    then ``evaluate`` scores them against the IBSI's PET_mask (the session model is untrained: only the
    geometry and the bookkeeping are checked)."""
    patients = ("STS_002", "STS_019")
    tree = subset(tmp_path / "t", patients, ("CT_image.nii.gz", "PET_image.nii.gz"))
    out = tmp_path / "pred"
    res = runner.invoke(app, ["infer", str(ROOT / "configs" / "sts_ibsi.yaml"), "--model", str(model_path),
                              "--source", str(tree), "--output", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "case STS_019" in res.stderr  # the misregistration note
    assert sorted(p.name for p in out.iterdir()) == [f"{p}.nii.gz" for p in patients]
    for p in patients:
        mask, pet = nib.load(out / f"{p}.nii.gz"), nib.load(NIFTI / p / "PET_image.nii.gz")
        assert mask.shape == pet.shape
        np.testing.assert_allclose(mask.affine, pet.affine, atol=1e-5)
    labelled = subset(tmp_path / "l", patients, ("CT_image.nii.gz", "PET_image.nii.gz", "PET_mask.nii.gz"))
    res = runner.invoke(app, ["evaluate", str(ROOT / "configs" / "sts_ibsi.yaml"), "--predictions", str(out),
                              "--source", str(labelled), "--output", str(tmp_path / "rep")])  # fmt: skip
    assert res.exit_code == 0, res.output
    with open(tmp_path / "rep" / "per_patient.csv") as fh:
        assert sorted(r["case"] for r in csv.DictReader(fh)) == list(patients)
