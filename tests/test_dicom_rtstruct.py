"""RTSTRUCT ROIs: chosen by name or regex, rasterised by pixel centres (even-odd) on the reference grid."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pydicom")

from dicom_fixtures import StructSpec, square, write_study

from sts_seg.dicom import index_study, read_roi, select_roi
from sts_seg.dicom.rtstruct import rasterise
from sts_seg.errors import ConfigError, DataError


def mask_of(tmp_path, reference="ct", roi=None, case="c1", **kw) -> tuple[np.ndarray, str, object]:
    w = write_study(tmp_path / "c", **kw)
    img, name = read_roi(index_study(w.folder, case), reference, roi, case)
    assert img.get_data_dtype() == np.uint8
    return np.asarray(img.dataobj), name, w


def test_square_by_pixel_centres(tmp_path):
    # corners at 3.5 and 11.5 px: the centres 4..11 are inside, 8 x 8 pixels on each of slices 2-5
    mask, name, _ = mask_of(tmp_path)
    assert name == "GTV_CT"
    assert mask.shape == (16, 16, 8)
    expected = np.zeros((16, 16, 8), np.uint8)
    expected[4:12, 4:12, 2:6] = 1
    np.testing.assert_array_equal(mask, expected)


def test_pet_contours_a_little_off_their_planes_still_land(tmp_path):
    mask, name, _ = mask_of(tmp_path, reference="pet")  # the fixture writes them 0.02 mm off, as in the shared data
    assert name == "GTV_PET"
    assert mask.sum() == 4 * 4 * 4
    assert mask[2:6, 2:6, 2:6].all()


def test_ct_roi_on_the_pet_grid(tmp_path):
    # the CT square spans 3.5-11.5 mm from the origin; PET pixel centres lie every 2 mm: 4, 6, 8, 10 inside
    mask, name, _ = mask_of(tmp_path, reference="pet", roi="GTV_CT")
    assert name == "GTV_CT"
    assert mask.sum() == 4 * 4 * 4
    assert mask[2:6, 2:6, 2:6].all()


def test_ring_keeps_its_hole(tmp_path):
    rois = {"RING": [square(3, 1.5, 13.5), square(3, 4.5, 10.5)]}  # 12 x 12 minus 6 x 6
    mask, _, _ = mask_of(tmp_path, structs=[StructSpec("ct", rois)])
    assert mask.sum() == 144 - 36
    assert not mask[5:11, 5:11, 3].any()
    assert mask[2:14, 2:5, 3].all()
    assert mask[:, :, 3].sum() == mask.sum()


def test_rasterise_rejects_contours_between_slices_and_outside():
    affine = np.diag([-1.0, -1.0, 3.0, 1.0])  # LPS identity with 3 mm slices at z = 0, 3, 6
    tri = np.array([[0.5, 0.5, 3.0], [7.0, 0.5, 3.0], [0.5, 7.0, 3.0]])  # x + y < 7.5 on the plane z = 3
    mask = rasterise([tri], affine, (8, 8, 3), "w")
    i, j = np.nonzero(mask[:, :, 1])
    assert mask.sum() == len(i) == 6 + 5 + 4 + 3 + 2 + 1  # centres i, j >= 1 with i + j <= 7
    assert (i >= 1).all()
    assert (j >= 1).all()
    assert (i + j <= 7).all()
    with pytest.raises(DataError, match=r"0\.50 slices off the nearest slice plane"):
        rasterise([tri + np.array([0, 0, 1.5])], affine, (8, 8, 3), "w")
    with pytest.raises(DataError, match="outside the series' 3 slices"):
        rasterise([tri + np.array([0, 0, 9.0])], affine, (8, 8, 3), "w")


@pytest.mark.parametrize(("roi", "name"), [("GTV_PET", "GTV_PET"), ("gtv_c.", "GTV_CT"), ("GTV_.*", "GTV_CT")])
def test_roi_by_name_or_regex(tmp_path, roi, name):
    # an exact name, a case-insensitive full match, and a pattern both ROIs match: the one on the reference series wins
    _, got, _ = mask_of(tmp_path, roi=roi)
    assert got == name


def test_roi_not_found_lists_the_names(tmp_path):
    w = write_study(tmp_path / "c")
    with pytest.raises(DataError) as e:
        read_roi(index_study(w.folder, "STS_1"), "ct", "GTV", "STS_1")  # a full match is needed: "GTV" is no ROI
    assert str(e.value) == (
        f"STS_1: CT series {w.ct_uid} ({w.folder / 'CT' / 'image'}): no ROI matches data.roi 'GTV'; "
        "the ROIs are CT/mask/RS.dcm: GTV_CT; PET/mask/RS.dcm: GTV_PET"
    )


def test_ambiguous_roi_lists_the_names(tmp_path):
    rois = {"GTV_A": [square(2, 1.5, 4.5)], "GTV_B": [square(3, 1.5, 4.5)]}
    w = write_study(tmp_path / "c", structs=[StructSpec("ct", rois)])
    idx = index_study(w.folder, "STS_1")
    for roi in (None, "GTV_.*"):
        with pytest.raises(
            DataError, match=r"2 ROIs fit \(GTV_A \(CT/mask/RS.dcm\), GTV_B \(CT/mask/RS.dcm\)\); choose one"
        ):
            read_roi(idx, "ct", roi, "STS_1")
    img, name = read_roi(idx, "ct", "GTV_B", "STS_1")
    assert name == "GTV_B"
    assert np.asarray(img.dataobj)[:, :, 3].sum() == 9


def test_no_rtstruct_for_the_reference_series(tmp_path):
    w = write_study(tmp_path / "c", structs=[StructSpec("pet", {"GTV_PET": [square(2, 1.5, 5.5)]})])
    with pytest.raises(
        DataError, match=r"no RTSTRUCT references this series \(PET/mask/RS.dcm: GTV_PET\); name the ROI"
    ):
        read_roi(index_study(w.folder, "c1"), "ct", None, "c1")


def test_bad_regex_is_a_config_error():
    with pytest.raises(ConfigError, match=r"data.roi 'GTV_\[' is not a valid regular expression"):
        select_roi((), "uid", "GTV_[", "w")
