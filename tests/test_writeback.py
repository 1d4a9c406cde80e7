"""Masks written back on each NIfTI case's own grid: ``infer`` on autoPET, nnU-Net raw and HECKTOR
trees writes ``<case>.nii.gz`` with the reference image's shape, affine and orientation (checked
with nibabel and SimpleITK), the voxels where the network said tumour (an independent threshold
of SimpleITK's PET), and ``evaluate --predictions OUT --source DIR`` scores such a folder.

The network here is a numpy stub (tumour where the PET channel is at least 128, i.e. SUV >= 5),
so the geometry is tested without TensorFlow; the CLI tests at the end use the session model.
"""

from __future__ import annotations

import csv
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk  # noqa: N813

from sts_seg.cli import app
from sts_seg.core.slicing import SliceSpec
from sts_seg.errors import OverwriteError
from sts_seg.infer.predictor import Predictor
from sts_seg.infer.volumes import VolumeSettings, infer_source
from sts_seg.phantom import PhantomSpec, synth
from sts_seg.sources import open_source

SPEC = PhantomSpec(slices=(8, 12), size=(32, 40))
SPACING = (6.0, 4.0, 4.0)
LAYOUTS = ("autopet", "nnunet", "hecktor")
SLICES = SliceSpec("channels", (("ct", -1000.0, 1000.0), ("pet", 0.0, 10.0)), "pad", 48, 4)
SUV_CUT = 5.0  # uint8 128 of the 0..10 SUV window: rint(5.0 * 25.5) = 128


class PetThreshold:
    """A 'network': class 1 where the PET channel (the last) is >= 128."""

    channels, divisor = 2, 4

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        fg = (batch[..., -1] >= 128).astype(np.float32)
        return np.stack([1.0 - fg, fg], axis=-1)


PREDICTOR = Predictor([PetThreshold()], batch_size=8)
pytest_plugins = ["_pipeline"]


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("writeback")
    out = {}
    for layout in LAYOUTS:
        out[layout] = root / layout
        synth(output=out[layout], n_patients=3, seed=4, spec=SPEC, layout=layout, spacing=SPACING)
    return out


def _reference(src, case: str) -> Path:
    return src.files[case].ct  # CTres (autoPET), _0000 (nnU-Net raw), __CT (HECKTOR)


def _sitk_lps(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.DICOMOrient(sitk.ReadImage(str(path)), "LPS"))


@pytest.fixture(scope="module")
def written(trees, tmp_path_factory) -> dict[str, tuple]:
    out = {}
    for layout, tree in trees.items():
        src = open_source(tree)
        folder = tmp_path_factory.mktemp(f"out_{layout}") / "masks"
        shapes = infer_source(PREDICTOR, src, folder, settings=VolumeSettings(SLICES, "native"))
        out[layout] = (src, folder, shapes)
    return out


@pytest.mark.parametrize("layout", LAYOUTS)
def test_one_mask_per_case_with_the_reference_shape_and_affine(written, layout):
    src, folder, _ = written[layout]
    cases = [i.case_id for i in src.infos()]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{c}.nii.gz" for c in cases)
    for case in cases:
        ref, mask = nib.load(_reference(src, case)), nib.load(folder / f"{case}.nii.gz")
        assert mask.shape == ref.shape
        np.testing.assert_allclose(mask.affine, ref.affine, atol=1e-5)
        assert nib.aff2axcodes(mask.affine) == nib.aff2axcodes(ref.affine)
        assert mask.get_data_dtype() == np.uint8
        # SimpleITK, an independent reader, sees the same physical grid
        r, m = sitk.ReadImage(str(_reference(src, case))), sitk.ReadImage(str(folder / f"{case}.nii.gz"))
        assert m.GetSize() == r.GetSize()
        np.testing.assert_allclose(m.GetOrigin(), r.GetOrigin(), atol=1e-4)
        np.testing.assert_allclose(m.GetDirection(), r.GetDirection(), atol=1e-6)
        np.testing.assert_allclose(m.GetSpacing(), r.GetSpacing(), atol=1e-6)


def test_the_orientations_written_are_the_files_own(written):
    """The phantom stores autoPET as RAS and nnU-Net raw as LPI: the masks keep those codes."""
    codes = {}
    for layout in ("autopet", "nnunet"):
        src, folder, _ = written[layout]
        case = src.infos()[0].case_id
        codes[layout] = nib.aff2axcodes(nib.load(folder / f"{case}.nii.gz").affine)
    assert codes == {"autopet": ("R", "A", "S"), "nnunet": ("L", "P", "I")}


@pytest.mark.parametrize("layout", ["autopet", "nnunet"])
def test_the_voxels_are_where_the_network_put_them(written, layout):
    """Oracle: SimpleITK's PET (LPS) thresholded at the stub's cut, against SimpleITK's mask."""
    src, folder, _ = written[layout]
    total = 0
    for info in src.infos():
        pet = _sitk_lps(src.files[info.case_id].pet)
        mask = _sitk_lps(folder / f"{info.case_id}.nii.gz")
        np.testing.assert_array_equal(mask, (pet >= SUV_CUT).astype(np.uint8), err_msg=info.case_id)
        total += int(mask.sum())
    assert total > 50  # the phantom has hot voxels: the test is not comparing empty masks


def test_hecktor_masks_follow_the_pet_resampled_onto_the_ct(written):
    """HECKTOR's PET is on a coarser grid: the mask is on the CT grid and covers the hot PET."""
    src, folder, _ = written["hecktor"]
    inter = total = 0
    for info in src.infos():
        mask = _sitk_lps(folder / f"{info.case_id}.nii.gz") > 0
        pet = sitk.ReadImage(str(src.files[info.case_id].pet))
        on_ct = sitk.Resample(pet, sitk.ReadImage(str(src.files[info.case_id].ct)), sitk.Transform(), sitk.sitkLinear)
        oracle = _sitk_lps_image(on_ct) >= SUV_CUT
        inter, total = inter + int((oracle & mask).sum()), total + int(oracle.sum() + mask.sum())
    assert total > 100
    assert 2 * inter / total > 0.95  # two linear resamplers (nibabel, SimpleITK) agree but for edge voxels


def _sitk_lps_image(img: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.DICOMOrient(img, "LPS"))


def test_a_resampling_model_still_writes_on_the_native_grid(written, tmp_path):
    """A model trained at 5 mm in-plane: predicted on its grid, written back on the case's grid."""
    src, native_folder, _ = written["autopet"]
    out = tmp_path / "masks5"
    infer_source(PREDICTOR, src, out, settings=VolumeSettings(SLICES, [None, 5.0, 5.0]))
    inter = total = 0
    for info in src.infos():
        ref = nib.load(_reference(src, info.case_id))
        mask = nib.load(out / f"{info.case_id}.nii.gz")
        assert mask.shape == ref.shape
        np.testing.assert_allclose(mask.affine, ref.affine, atol=1e-5)
        a = np.asarray(mask.dataobj) > 0
        b = np.asarray(nib.load(native_folder / f"{info.case_id}.nii.gz").dataobj) > 0
        inter, total = inter + int((a & b).sum()), total + int(a.sum() + b.sum())
    assert total > 100
    assert 2 * inter / total > 0.8  # 4 mm -> 5 mm -> 4 mm: the same hot voxels but for edges


def test_the_source_folder_is_never_the_output(written):
    src, _, _ = written["autopet"]
    with pytest.raises(OverwriteError, match="holds the source"):
        infer_source(PREDICTOR, src, src.path.parent, settings=VolumeSettings(SLICES, "native"), force=True)


# --------------------------------------------------------------------------- the CLI


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return 2.0 * (a & b).sum() / (a.sum() + b.sum()) if a.sum() + b.sum() else float("nan")


@pytest.mark.parametrize("layout", ["nnunet", "hecktor"])
def test_evaluate_scores_a_folder_of_masks_against_the_source(written, trees, layout, runner, tmp_path):
    """``evaluate --predictions OUT --source DIR``: per-case Dice equal to numpy's on SimpleITK's arrays."""
    src, folder, _ = written[layout]
    out = tmp_path / "rep"
    res = runner.invoke(app, ["evaluate", "--predictions", str(folder), "--source", str(trees[layout]),
                                 "--output", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    with open(out / "per_patient.csv") as f:
        rows = {r["case"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == sorted(i.case_id for i in src.infos())
    for case, row in rows.items():
        label = _sitk_lps(src.files[case].label)
        mask = _sitk_lps(folder / f"{case}.nii.gz")
        expected = _dice(mask, label)
        assert float(row["dice"]) == pytest.approx(expected, abs=1e-6), case
    assert (out / "baseline_per_patient.csv").is_file()


def test_evaluate_refuses_a_mask_on_another_grid(written, trees, runner, tmp_path):
    src, folder, _ = written["autopet"]
    bad = tmp_path / "bad"
    bad.mkdir()
    case = src.infos()[0].case_id
    img = nib.load(folder / f"{case}.nii.gz")
    shifted = img.affine.copy()
    shifted[:3, 3] += 10.0
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj), shifted), bad / f"{case}.nii.gz")
    res = runner.invoke(app, ["evaluate", "--predictions", str(bad), "--source", str(trees["autopet"]),
                                 "--output", str(tmp_path / "rep"), "--allow-missing"])  # fmt: skip
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert case in res.stderr
    assert "not on the grid" in res.stderr


def test_prepare_takes_source_and_the_h5_alias(trees, tiny_h5, runner, tmp_path):
    res = runner.invoke(app, ["prepare", "--source", str(trees["hecktor"]), "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    split = (tmp_path / "a" / "split.json").read_text()
    assert '"hecktor"' in split
    res = runner.invoke(app, ["prepare", "--h5", str(tiny_h5), "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert '"kaggle_h5"' in (tmp_path / "b" / "split.json").read_text()


@pytest.mark.tf
def test_infer_cli_on_an_autopet_tree_then_evaluate(trees, model_path, runner, tmp_path):
    """The session model (trained on the HDF5 phantom) on an autoPET tree, end to end by the CLI."""
    from _pipeline import overrides

    sets = [a for o in overrides() for a in ("--set", o)]
    out = tmp_path / "pred"
    res = runner.invoke(app, ["infer", "--source", str(trees["autopet"]), "--output", str(out),
                                 "--model", str(model_path), *sets])  # fmt: skip
    assert res.exit_code == 0, res.output
    src = open_source(trees["autopet"])
    for info in src.infos():
        ref, mask = nib.load(_reference(src, info.case_id)), nib.load(out / f"{info.case_id}.nii.gz")
        assert mask.shape == ref.shape
        np.testing.assert_allclose(mask.affine, ref.affine, atol=1e-5)
    rep = tmp_path / "rep"
    res = runner.invoke(app, ["evaluate", "--predictions", str(out), "--source", str(trees["autopet"]),
                                 "--output", str(rep)])  # fmt: skip
    assert res.exit_code == 0, res.output
    with open(rep / "per_patient.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(src.infos())
    assert {r["patient"] for r in rows} == {i.patient for i in src.infos()}
