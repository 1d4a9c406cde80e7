"""``data.layout: dicom`` through the Source: one case per top-level folder, infos from headers, the
case on ``data.reference``'s grid, the label from ``data.roi``, results written as ``<case>.nii.gz`` on
the reference grid. Expected values are the fixture's own (HU, Bq/mL by slice), SUV by hand, pixel
squares of the contours, and SimpleITK's reading of the DICOM series (an independent reader)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import SimpleITK as sitk  # noqa: N813

pytest.importorskip("pydicom")

from dicom_fixtures import StructSpec, square, write_study

from sts_seg.cli import app
from sts_seg.config import load_config
from sts_seg.core.slicing import SliceSpec
from sts_seg.errors import ConfigError, DataError
from sts_seg.infer.predictor import Predictor
from sts_seg.infer.volumes import VolumeSettings, infer_source
from sts_seg.io.nifti import Grid
from sts_seg.prepare import prepare
from sts_seg.sources import detect_layout, open_source

# the fixture's PET header: 370 MBq at 11:00, series at 12:00 (DecayCorrection START), 70 kg, F-18
SUV_PER_BQML = 70_000.0 / (370e6 * 2.0 ** (-3600.0 / 6586.2))


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    root = tmp_path_factory.mktemp("dicom") / "studies"
    written = {f"C{c}": write_study(root / f"C{c}", seed=c) for c in range(3)}
    return root, written


def test_cases_are_the_top_folders_and_infos_come_from_headers(studies):
    root, _ = studies
    assert detect_layout(root) == "dicom"
    src = open_source(root)
    assert src.layout == "dicom"
    assert [(i.case_id, i.shape, i.spacing) for i in src.infos()] == [(f"C{c}", (8, 16, 16), (3.0, 1.0, 1.0))
                                                                      for c in range(3)]  # fmt: skip
    pet = open_source(root, "dicom", reference="pet").infos()[0]
    assert (pet.shape, pet.spacing) == ((8, 8, 8), (3.0, 2.0, 2.0))


def test_the_pet_reference_gives_suv_and_the_ct_resampled_onto_it(studies):
    root, written = studies
    case = open_source(root, "dicom", reference="pet").read("C1")
    w = written["C1"]
    np.testing.assert_allclose(case.pet, w.pet_values * SUV_PER_BQML, rtol=1e-5)
    # both series start at one position (a pixel centre): PET voxel (j, i) is CT voxel (2j, 2i), exactly
    np.testing.assert_allclose(case.ct, w.ct_hu[:, ::2, ::2], atol=1e-3)
    label = np.zeros((8, 8, 8), np.uint8)
    label[2:6, 2:6, 2:6] = 1  # GTV_PET: the square 1.5..5.5 px on slices 2-5 holds pixel centres 2..5
    np.testing.assert_array_equal(case.label, label)
    assert isinstance(case.geometry, Grid)


def test_the_ct_reference_gives_hu_and_the_roi_of_the_ct_rtstruct(studies):
    root, written = studies
    case = open_source(root, "dicom", reference="ct").read("C0")
    np.testing.assert_array_equal(case.ct, written["C0"].ct_hu.astype(np.float32))
    suv = written["C0"].pet_values * SUV_PER_BQML
    np.testing.assert_allclose(case.pet[:, ::2, ::2], suv, rtol=1e-5)  # PET voxel centres are CT voxel centres
    label = np.zeros((8, 16, 16), np.uint8)
    label[2:6, 4:12, 4:12] = 1  # GTV_CT: 3.5..11.5 px
    np.testing.assert_array_equal(case.label, label)


def test_data_roi_picks_an_roi_by_name_or_regex(studies):
    root, _ = studies
    # GTV_CT (on the CT series) rasterised on the PET grid: 3.5..11.5 mm from the origin = PET pixels 2..5
    by_name = open_source(root, "dicom", reference="pet", roi="GTV_CT").read("C2")
    assert by_name.label.sum() == 4 * 4 * 4
    assert open_source(root, "dicom", reference="pet", roi=r".*_pet").read("C2").label.sum() == 4 * 4 * 4


def test_an_roi_that_is_not_found_is_refused_naming_the_case(studies):
    root, _ = studies
    with pytest.raises(DataError, match=r"C0: .* no ROI matches data.roi 'GTV_LUNG'"):
        open_source(root, "dicom", roi="GTV_LUNG").read("C0")


def test_two_rois_on_the_reference_series_are_refused_listing_them(tmp_path):
    rois = {"GTV_A": [square(2, 3.5, 11.5)], "GTV_B": [square(3, 3.5, 11.5)]}
    write_study(tmp_path / "T", structs=[StructSpec("ct", rois)])
    src = open_source(tmp_path, "dicom", reference="ct")
    with pytest.raises(DataError, match=r"T: .*2 ROIs fit \(GTV_A .*, GTV_B .*\); choose one with data\.roi"):
        src.read("T")
    assert src.read("T", with_label=False).label is None
    assert open_source(tmp_path, "dicom", roi="gtv_b").read("T").label.sum() == 8 * 8


def test_a_study_without_rtstruct_has_no_label_and_other_folders_are_noted(tmp_path):
    write_study(tmp_path / "A", structs=[])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    src = open_source(tmp_path, "dicom")
    assert [i.case_id for i in src.infos()] == ["A"]
    assert src.read("A").label is None
    assert any("without *.dcm" in n and "empty" in n for n in src.notes)


def test_a_ct_shifted_along_z_is_noted(tmp_path):
    write_study(tmp_path / "S", ct_z=[6.0 + 3 * k for k in range(8)], structs=[])
    src = open_source(tmp_path, "dicom", reference="pet")
    src.infos()
    assert any(n.startswith("case S: the CT lies 6.0 mm higher along z than the PET") for n in src.notes)


def test_missing_pydicom_is_a_one_line_hint(studies, monkeypatch):
    root, _ = studies
    monkeypatch.setitem(sys.modules, "pydicom", None)  # import pydicom now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'stsseg\[dicom\]'"):
        open_source(root, "dicom")


class PetThreshold:
    """A 'network': class 1 where the PET channel (the last) is >= 128 (SUV >= 5 in the 0..10 window)."""

    channels, divisor = 2, 4

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        fg = (batch[..., -1] >= 128).astype(np.float32)
        return np.stack([1.0 - fg, fg], axis=-1)


def _sitk_series(folder) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


def test_infer_writes_each_case_on_the_reference_series_grid(studies, tmp_path):
    root, written = studies
    src = open_source(root, "dicom", reference="pet")
    out = tmp_path / "pred"
    spec = SliceSpec("channels", (("ct", -1000.0, 1000.0), ("pet", 0.0, 10.0)), "pad", 16, 4)
    infer_source(Predictor([PetThreshold()], batch_size=8), src, out, settings=VolumeSettings(spec, "native"))
    assert sorted(p.name for p in out.iterdir()) == ["C0.nii.gz", "C1.nii.gz", "C2.nii.gz"]
    for c, w in written.items():
        mask, series = sitk.ReadImage(str(out / f"{c}.nii.gz")), _sitk_series(w.pet_files[0].parent)
        assert mask.GetSize() == series.GetSize()
        np.testing.assert_allclose(mask.GetOrigin(), series.GetOrigin(), atol=1e-4)
        np.testing.assert_allclose(mask.GetSpacing(), series.GetSpacing(), atol=1e-6)
        np.testing.assert_allclose(mask.GetDirection(), series.GetDirection(), atol=1e-6)
        suv = w.pet_values * SUV_PER_BQML
        got = sitk.GetArrayFromImage(sitk.DICOMOrient(mask, "LPS"))
        clear = np.abs(suv - 5.0) > 0.01
        np.testing.assert_array_equal(got[clear], (suv >= 5.0)[clear])
        assert 0 < got.sum() < got.size


def test_prepare_reads_a_dicom_tree_on_the_pet_grid(studies, tmp_path):
    root, _ = studies
    cfg = load_config(None, ["data.layout=dicom", "data.reference=pet", "prepare.spacing_mm=native",
                             "model.num_layers=3", "split.fractions=[0.34, 0.33, 0.33]"])  # fmt: skip
    res = prepare(cfg=cfg.updated({"data.source": root, "data.dataset": tmp_path / "ds"}))
    assert {c: g.source_shape for c, g in res.cases.items()} == {f"C{c}": (8, 8, 8) for c in range(3)}
    assert sum(res.tumour_slices.values()) == 3 * 4  # GTV_PET spans slices 2-5 of every case


def test_the_cli_names_the_case_when_the_roi_is_missing(studies, runner, tmp_path):
    root, _ = studies
    res = runner.invoke(app, ["prepare", "--source", str(root), "--output", str(tmp_path / "ds"),
                              "--set", "data.layout=dicom", "--set", "data.roi=GTV_LUNG"])  # fmt: skip
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "C0: " in lines[0]  # the first case, named
    assert "GTV_LUNG" in lines[0]
