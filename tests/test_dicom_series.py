"""DICOM series: found by Modality/UID, slices sorted, the affine by hand, each refusal naming case and series."""

from __future__ import annotations

import sys

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("pydicom")

from dicom_fixtures import write_study

from sts_seg.dicom import index_study, read_series, stack_geometry
from sts_seg.dicom.headers import pydicom
from sts_seg.errors import ConfigError, DataError


def test_affine_by_hand_axial(tmp_path):
    # PixelSpacing = (row spacing 0.8, column spacing 1.2): i (columns) steps 1.2 mm along x
    w = write_study(tmp_path / "c", shape=(5, 12, 10), spacing=(2.5, 0.8, 1.2), origin=(-30.0, 40.0, -200.0))
    info = index_study(w.folder, "c1").ct
    expected = np.array([[-1.2, 0, 0, 30.0], [0, -0.8, 0, -40.0], [0, 0, 2.5, -200.0], [0, 0, 0, 1]])
    np.testing.assert_allclose(info.affine, expected, atol=1e-9)
    assert info.shape_zyx == (5, 12, 10)
    assert info.spacing_zyx == pytest.approx((2.5, 0.8, 1.2))
    img = read_series(info, "c1")
    assert img.shape == (10, 12, 5)
    assert img.get_data_dtype() == np.float32
    np.testing.assert_allclose(nib.affines.voxel_sizes(img.affine), (1.2, 0.8, 2.5), atol=1e-6)


def test_affine_by_hand_rotated_rows_sorted_along_the_normal(tmp_path):
    # rows run along +y, columns along +x: the normal (0,1,0) x (1,0,0) = (0,0,-1) points down. The slices
    # are written at 21, 18, ..., 0 mm along it (z = 79 ... 100): sorted along the normal, the volume starts
    # with the last one written, the highest (z = 100), and k steps -3 mm in z
    offsets = [21.0 - 3 * k for k in range(8)]
    w = write_study(tmp_path / "c", orientation=(0, 1, 0, 1, 0, 0), origin=(5.0, 6.0, 100.0), ct_z=offsets)
    info = index_study(w.folder, "c1").ct
    lps = np.array([[0, 1.0, 0, 5.0], [1.0, 0, 0, 6.0], [0, 0, -3.0, 100.0], [0, 0, 0, 1]])
    np.testing.assert_allclose(info.affine, np.diag([-1, -1, 1, 1]) @ lps, atol=1e-9)
    vol = np.asarray(read_series(info, "c1").dataobj).transpose(2, 1, 0)
    np.testing.assert_array_equal(vol, w.ct_hu[::-1])


def test_shuffled_files_are_sorted_by_position(tmp_path):
    w = write_study(tmp_path / "c", shuffle=True, seed=4)
    info = index_study(w.folder, "c1").ct
    assert [p.name for p in info.files] != sorted(p.name for p in info.files)  # the names are not in slice order
    assert list(info.files) == w.ct_files  # the fixture's files in the order it placed them
    vol = np.asarray(read_series(info, "c1").dataobj).transpose(2, 1, 0)
    np.testing.assert_array_equal(vol, w.ct_hu)  # HU: RescaleIntercept -1024 applied, bit for bit


def test_index_finds_series_by_modality_and_skips_other_files(tmp_path):
    w = write_study(tmp_path / "c")
    (w.folder / "README.txt").write_text("not DICOM")
    (w.folder / "CT" / "image" / "notes.dcm").write_bytes(b"\0" * 300)
    idx = index_study(w.folder, "c1")
    assert (idx.ct.uid, idx.pet.uid) == (w.ct_uid, w.pet_uid)
    assert (idx.ct.modality, idx.pet.modality) == ("CT", "PT")
    assert len(idx.ct.files) == 8
    assert len(idx.pet.files) == 8
    assert {s.path for s in idx.structs} == set(w.structs.values())
    by_path = {s.path: s for s in idx.structs}
    assert by_path[w.structs["ct"]].series_uid == w.ct_uid
    assert by_path[w.structs["ct"]].roi_names == ("GTV_CT",)
    assert by_path[w.structs["pet"]].references(w.pet_uid)


def refusal(tmp_path, case="STS_777", **kw) -> tuple[str, object]:
    w = write_study(tmp_path / "c", **kw)
    with pytest.raises(DataError) as e:
        index_study(w.folder, case)
    message = str(e.value)
    assert "\n" not in message
    return message, w


def test_gap_is_refused(tmp_path):
    message, w = refusal(tmp_path, drop_slice=3)
    assert message.startswith(f"STS_777: CT series {w.ct_uid} (")
    assert "1 slice(s) missing between 106.00 and 112.00 mm along the normal" in message


def test_duplicate_slice_is_refused(tmp_path):
    message, w = refusal(tmp_path, duplicate_slice=2)
    assert message.startswith(f"STS_777: CT series {w.ct_uid} (")
    assert "duplicate slices" in message


def test_non_uniform_spacing_is_refused(tmp_path):
    message, w = refusal(tmp_path, ct_z=[0, 3, 6, 9, 12.5, 15.5, 18.5, 21.5])
    assert message.startswith(f"STS_777: CT series {w.ct_uid} (")
    assert "non-uniform slice spacing (3.000 to 3.500 mm)" in message


def test_gantry_tilt_is_refused(tmp_path):
    message, w = refusal(tmp_path, tilt_mm=0.5)  # 0.5 mm across per 3 mm along: 9.46 degrees
    assert message.startswith(f"STS_777: CT series {w.ct_uid} (")
    assert "gantry tilt of 9.46 degrees" in message


@pytest.mark.parametrize(("extra", "name"), [("CT", "CT"), ("PT", "PET")])
def test_two_series_of_one_modality_are_refused(tmp_path, extra, name):
    message, w = refusal(tmp_path, extra_series=(extra,))
    assert message.startswith(f"STS_777: 2 {name} series in {w.folder}: ")
    assert (w.ct_uid if extra == "CT" else w.pet_uid) in message


def test_missing_pet_is_refused(tmp_path):
    message, w = refusal(tmp_path, with_pet=False, structs=[])
    assert message == f"STS_777: no PET image series (Modality PT) in {w.folder}; add it or leave the case out"


def test_truncated_pixel_data_names_the_file(tmp_path):
    w = write_study(tmp_path / "c", truncate_slice=1)
    info = index_study(w.folder, "c1").ct  # the header reads fine
    with pytest.raises(DataError) as e:
        read_series(info, "c1")
    assert str(e.value).startswith(f"c1: CT series {w.ct_uid} (")
    assert f"{w.ct_files[1]} has pixel data that cannot be decoded" in str(e.value)


def test_stack_geometry_pure():
    positions = np.array([[0.0, 0.0, z] for z in (6.0, 0.0, 3.0)])
    order, affine, dz = stack_geometry(positions, np.array([1, 0, 0, 0, 1, 0.0]), (0.5, 0.7), "w")
    assert list(order) == [1, 2, 0]
    assert dz == pytest.approx(3.0)
    np.testing.assert_allclose(affine, np.diag([-0.7, -0.5, 3.0, 1.0]), atol=1e-12)
    with pytest.raises(DataError, match=r"^w: only 1 slice"):
        stack_geometry(positions[:1], np.array([1, 0, 0, 0, 1, 0.0]), (0.5, 0.7), "w")
    with pytest.raises(DataError, match="is not two orthogonal unit vectors"):
        stack_geometry(positions, np.array([1, 0, 0, 1, 0, 0.0]), (0.5, 0.7), "w")


def test_missing_pydicom_gives_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydicom", None)  # import pydicom now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'stsseg\[dicom\]'"):
        pydicom()
