"""Bad NIfTI trees, dataset.json files and HDF5 files that used to get through (issue 19 §5):
identity (two studies on one case id, a label taken by the wrong case, one file in two roles,
linked patient folders), headers (an enormous claimed size, a singular affine, a zero voxel size),
dataset.json key types and HDF5 entries. Each is a DataError (or ConfigError) naming the file or
case; a few go through the CLI (exit 1, one stderr line, no traceback)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pytest
from _cli import one_line_error as _one_line_error

from sts_seg.cli import app
from sts_seg.errors import ConfigError, DataError
from sts_seg.io import nifti
from sts_seg.io.h5 import write_kaggle_h5
from sts_seg.phantom import PhantomSpec, make_phantom, synth
from sts_seg.sources import open_source
from sts_seg.sources.walk import find_files

SPEC = PhantomSpec(slices=(8, 12), size=(32, 40))
SPACING = (6.0, 4.0, 4.0)
PIXDIM = 76  #: byte offset of the float32 pixdim[8] in a NIfTI-1 header


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad_nifti")
    for layout in ("autopet", "nnunet", "hecktor"):
        synth(output=root / layout, n_patients=3, seed=2, spec=SPEC, layout=layout, spacing=SPACING)
    return {k: root / k for k in ("autopet", "nnunet", "hecktor")}


def _copy(trees, layout: str, tmp_path: Path) -> Path:
    return shutil.copytree(trees[layout], tmp_path / layout, symlinks=True)


def _first(root: Path, pattern: str) -> Path:
    return sorted(root.rglob(pattern))[0]


def _patch_header(path: Path, offset: int, fmt: str, value) -> None:
    """Overwrite raw header bytes of a .nii.gz file (nibabel would repair what it reads)."""
    raw = bytearray(gzip.decompress(path.read_bytes()))
    struct.pack_into(fmt, raw, offset, value)
    path.write_bytes(gzip.compress(bytes(raw)))


def _huge_nifti2(path: Path) -> None:
    """A NIfTI-2 header alone that claims 1e5 x 1e5 x 1e3 int16 voxels (20 TB)."""
    hdr = nib.Nifti2Header()
    hdr.set_data_shape((100_000, 100_000, 1_000))
    hdr.set_data_dtype(np.int16)
    hdr.set_sform(np.diag([2.0, 2.0, 3.0, 1.0]), code=1)
    path.write_bytes(gzip.compress(hdr.binaryblock + b"\0" * 4))


def _sform(path: Path, affine: np.ndarray) -> None:
    """Store ``affine`` as the sform, as is (nibabel's image API refuses singular ones)."""
    img = nib.load(path)
    hdr = img.header.copy()
    hdr.set_qform(None, code=0)
    for k, name in enumerate(("srow_x", "srow_y", "srow_z")):
        hdr[name] = affine[k]
    hdr["sform_code"] = 1
    hdr["vox_offset"] = 352  # nibabel keeps 0 in memory: "not set"
    data = np.asarray(img.dataobj).astype(img.get_data_dtype())
    raw = hdr.binaryblock + b"\0" * 4 + data.tobytes(order="F")
    path.write_bytes(gzip.compress(raw))


# --------------------------------------------------------------------------- the catalogue


def _autopet_ids_collide(root: Path) -> list[str]:
    study = _first(root, "CTres.nii.gz").parent
    shutil.copytree(study, root / "PETCT_x" / "y_z")
    shutil.copytree(study, root / "PETCT_x_y" / "z")
    return ["PETCT_x/y_z/CTres.nii.gz", "PETCT_x_y/z/CTres.nii.gz", "'PETCT_x_y_z'", "two studies"]


def _autopet_deeper_ids_collide(root: Path) -> list[str]:
    study = _first(root, "CTres.nii.gz").parent
    shutil.copytree(study, root / "site_a" / "P1" / "S1")
    shutil.copytree(study, root / "site_b" / "P1" / "S1")
    return ["site_a/P1/S1/CTres.nii.gz", "site_b/P1/S1/CTres.nii.gz", "'P1_S1'"]


def _hecktor_ids_collide(root: Path) -> list[str]:
    shutil.copytree(root / "CHUS-001", root / "again")
    return ["CHUS-001/CHUS-001__CT.nii.gz", "again/CHUS-001__CT.nii.gz", "'CHUS-001'"]


def _nnunet_train_and_test_share_an_id(root: Path) -> list[str]:
    (root / "imagesTs").mkdir()
    ct = _first(root / "imagesTr", "*_0000.nii.gz")
    for ch in ("0000", "0001"):
        shutil.copy(ct.with_name(ct.name.replace("_0000", f"_{ch}")), root / "imagesTs")
    return [f"imagesTr/{ct.name}", f"imagesTs/{ct.name}", "two studies"]


def _pet_is_a_link_to_the_ct(root: Path) -> list[str]:
    suv = _first(root, "SUV.nii.gz")
    suv.unlink()
    suv.symlink_to("CTres.nii.gz")
    case = f"{suv.parent.parent.name}_{suv.parent.name}"
    return [str(suv), "CTres.nii.gz", f"CT of case {case} and as the PET of case {case}"]


def _two_cases_share_a_label(root: Path) -> list[str]:
    lab = root / "CHUS-002" / "CHUS-002.nii.gz"
    lab.unlink()
    lab.symlink_to(root / "CHUS-001" / "CHUS-001.nii.gz")
    return ["CHUS-002.nii.gz", "label of case CHUS-001 and as the label of case CHUS-002"]


def _huge_claim(root: Path) -> list[str]:
    ct = _first(root, "CTres.nii.gz")
    _huge_nifti2(ct)
    return [str(ct), "100000 x 100000 x 1000", "1e+13 voxels"]


def _claim_beyond_the_file(root: Path) -> list[str]:
    """400^3 int16 (128 MB) is under the voxel limit, but no 200-byte gzip file holds it."""
    ct = _first(root, "CTres.nii.gz")
    hdr = nib.load(ct).header.copy()
    hdr.set_data_shape((400, 400, 400))
    hdr["vox_offset"] = 352
    ct.write_bytes(gzip.compress(hdr.binaryblock + b"\0" * 4))
    size = ct.stat().st_size
    return [
        str(ct),
        "400 x 400 x 400",
        f"{400**3 * 2 + 352} bytes",
        f"a {size}-byte gzip file holds at most {1032 * size}",
    ]


def _singular_affine(root: Path) -> list[str]:
    ct = _first(root, "CTres.nii.gz")
    affine = nib.load(ct).affine.copy()
    affine[2, :3] = 0.0  # srow_z all zero: the k axis goes nowhere
    _sform(ct, affine)
    return [str(ct), "affine", "is singular"]


def _nan_affine(root: Path) -> list[str]:
    ct = _first(root / "imagesTr", "*_0000.nii.gz")
    affine = nib.load(ct).affine.copy()
    affine[0, 3] = np.nan
    _sform(ct, affine)
    return [str(ct), "affine", "not finite"]


def _zero_pixdim(root: Path) -> list[str]:
    ct = _first(root, "*__CT.nii.gz")
    _patch_header(ct, PIXDIM + 4 * 2, "<f", 0.0)  # pixdim[2]: the j axis
    return [str(ct), "axis j (pixdim[2]) is 0.0"]


def _nan_pixdim(root: Path) -> list[str]:
    ct = _first(root, "CTres.nii.gz")
    _patch_header(ct, PIXDIM + 4 * 3, "<f", float("nan"))
    return [str(ct), "axis k (pixdim[3]) is nan"]


def _four_d(root: Path) -> list[str]:
    ct = _first(root, "CTres.nii.gz")
    img = nib.load(ct)
    data = np.repeat(np.asarray(img.dataobj)[..., None], 2, axis=3)
    nib.save(nib.Nifti1Image(data, img.affine), ct)
    return [str(ct), "not 3D"]


def _meta(**changes) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        meta = json.loads((root / "dataset.json").read_text())
        for k, v in changes.items():
            if v is None:
                meta.pop(k)
            else:
                meta[k] = v
        (root / "dataset.json").write_text(json.dumps(meta))
        return [str(root / "dataset.json")]

    return edit


def _meta_named(key: str, expected: str, **changes) -> Callable[[Path], list[str]]:
    edit = _meta(**changes)
    return lambda root: [*edit(root), key, expected]


def _meta_not_an_object(root: Path) -> list[str]:
    (root / "dataset.json").write_text('[{"channel_names": {"0": "CT", "1": "PET"}}]')
    return [str(root / "dataset.json"), "a list, not a JSON object"]


CATALOGUE = {
    "autopet ids collide (a_b/c, a/b_c)": ("autopet", _autopet_ids_collide),
    "autopet ids collide (deeper trees)": ("autopet", _autopet_deeper_ids_collide),
    "hecktor ids collide": ("hecktor", _hecktor_ids_collide),
    "nnunet imagesTr and imagesTs share an id": ("nnunet", _nnunet_train_and_test_share_an_id),
    "PET is a link to the CT": ("autopet", _pet_is_a_link_to_the_ct),
    "two cases share one label": ("hecktor", _two_cases_share_a_label),
    "header claims 1e13 voxels": ("autopet", _huge_claim),
    "header claims more than the file holds": ("autopet", _claim_beyond_the_file),
    "singular affine": ("autopet", _singular_affine),
    "non-finite affine": ("nnunet", _nan_affine),
    "zero pixdim": ("hecktor", _zero_pixdim),
    "nan pixdim": ("autopet", _nan_pixdim),
    "4D image": ("autopet", _four_d),
    "dataset.json not an object": ("nnunet", _meta_not_an_object),
    "channel_names a list": ("nnunet", _meta_named("channel_names", "a list, not a mapping",
                                                   channel_names=["CT", "PET"])),
    "channel_names key not a number": ("nnunet", _meta_named("channel_names", "'CT'", channel_names={"CT": "0"})),
    "channel_names value not a name": ("nnunet", _meta_named("channel_names", "'1': 5",
                                                             channel_names={"0": "CT", "1": 5})),
    "channel_names missing (v1 modality)": ("nnunet", _meta_named("modality", "rename the key", channel_names=None,
                                                                  modality={"0": "CT", "1": "PET"})),
    "file_ending a number": ("nnunet", _meta_named("file_ending", "5 is not one of", file_ending=5)),
    "file_ending not NIfTI": ("nnunet", _meta_named("file_ending", "'.mha'", file_ending=".mha")),
    "labels a list": ("nnunet", _meta_named("labels", "a list, not a mapping", labels=["background", "tumour"])),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_a_bad_tree_is_refused_naming_the_file(trees, tmp_path, name):
    """Refused while planning (the source and every reference header), before any voxel is read."""
    layout, breaks = CATALOGUE[name]
    root = _copy(trees, layout, tmp_path)
    expected = breaks(root)
    with pytest.raises(DataError) as err:
        open_source(root, layout).infos()
    msg = str(err.value)
    assert "\n" not in msg
    for part in expected:
        assert part in msg, (part, msg)


@pytest.mark.parametrize("role", ["SUV.nii.gz", "SEG.nii.gz"])
@pytest.mark.parametrize(
    "breaks",
    [lambda p: _huge_nifti2(p) or "1e+13 voxels", lambda p: _patch_header(p, PIXDIM + 4, "<f", 0.0) or "pixdim[1]"],
    ids=["huge", "pixdim"],
)
def test_a_bad_pet_or_label_header_is_refused_when_the_case_is_read(trees, tmp_path, role, breaks):
    root = _copy(trees, "autopet", tmp_path)
    bad = _first(root, role)
    expected = breaks(bad)
    src = open_source(root)
    case = next(c for c, f in src.files.items() if bad in (f.pet, f.label))
    with pytest.raises(DataError, match=f"^{re.escape(str(bad))}: .*{re.escape(expected)}"):
        src.read(case)


# --------------------------------------------------------------------------- headers that are fine


def test_the_deflate_bound_is_never_hit_by_a_real_file(tmp_path):
    """An all-zero volume compresses best; its gzip file still holds the claimed size (< 1032 x)."""
    path = tmp_path / "zeros.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((64, 64, 64), np.uint8), np.eye(4)), path)
    assert (64**3 + 352) / path.stat().st_size > 100  # a real test of the bound: ratio in the hundreds
    assert nifti.load(path, voxels=True).shape == (64, 64, 64)


def test_a_nifti2_file_reads_as_nibabel_reads_it(tmp_path):
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    affine = np.diag([-2.0, 3.0, 4.0, 1.0])
    path = tmp_path / "n2.nii.gz"
    nib.save(nib.Nifti2Image(data, affine), path)
    img = nifti.load(path, voxels=True)
    np.testing.assert_array_equal(np.asarray(img.dataobj), np.asarray(nib.load(path).dataobj))
    np.testing.assert_array_equal(img.affine, affine)


def test_a_truncated_uncompressed_file_is_named(tmp_path):
    path = tmp_path / "cut.nii"
    nib.save(nib.Nifti1Image(np.ones((10, 10, 10), np.float32), np.eye(4)), path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(
        DataError, match=rf"^{re.escape(str(path))}: .*10 x 10 x 10 .*4352 bytes, but the file has 2000"
    ):
        nifti.load(path)


# --------------------------------------------------------------------------- labels belong to their case


def test_a_hecktor_label_with_other_punctuation_is_not_taken(trees, tmp_path):
    root = _copy(trees, "hecktor", tmp_path)
    (root / "CHUS-002" / "CHUS-002.nii.gz").rename(root / "CHUS-002" / "CHUS_002.nii.gz")
    src = open_source(root)
    assert src.files["CHUS-002"].label is None
    assert src.files["CHUS-001"].label == root / "CHUS-001" / "CHUS-001.nii.gz"
    assert any("ignored 1 NIfTI file(s)" in n and "CHUS_002.nii.gz" in n for n in src.notes), src.notes
    assert src.read("CHUS-002").label is None


def test_a_flat_hecktor_label_matches_exactly(trees, tmp_path):
    root = tmp_path / "flat"
    for k in (1, 2):
        case = f"CHUP-00{k}"
        (root / "imagesTr").mkdir(parents=True, exist_ok=True)
        (root / "labelsTr").mkdir(exist_ok=True)
        for suffix in ("__CT.nii.gz", "__PT.nii.gz"):
            shutil.copy(trees["hecktor"] / f"CHUS-00{k}" / f"CHUS-00{k}{suffix}", root / "imagesTr" / f"{case}{suffix}")
    shutil.copy(trees["hecktor"] / "CHUS-001" / "CHUS-001.nii.gz", root / "labelsTr" / "CHUP-001.nii.gz")
    shutil.copy(trees["hecktor"] / "CHUS-002" / "CHUS-002.nii.gz", root / "labelsTr" / "CHUP_002.nii.gz")
    src = open_source(root)
    assert src.files["CHUP-001"].label == root / "labelsTr" / "CHUP-001.nii.gz"
    assert src.files["CHUP-002"].label is None
    assert any("CHUP_002.nii.gz" in n for n in src.notes)


def test_an_nnunet_label_that_matches_no_case_is_noted(trees, tmp_path):
    root = _copy(trees, "nnunet", tmp_path)
    lab = _first(root / "labelsTr", "*.nii.gz")
    lab.rename(lab.with_name("renamed.nii.gz"))
    src = open_source(root)
    assert sum(f.label is None for f in src.files.values()) == 1
    assert any("labelsTr: ignored 1 label file(s)" in n and "renamed.nii.gz" in n for n in src.notes), src.notes


def test_an_autopet_study_without_ctres_is_noted_not_dropped_silently(trees, tmp_path):
    root = _copy(trees, "autopet", tmp_path)
    ctres = _first(root, "CTres.nii.gz")
    ctres.rename(ctres.with_name("CT.nii.gz"))  # the original CT, never resampled onto the PET grid
    src = open_source(root)
    assert len(src.files) == len(open_source(trees["autopet"]).files) - 1
    assert any(f"ignored 1 folder(s) of study files without CTres.nii.gz, e.g. {ctres.parent}" in n for n in src.notes)
    assert not any("folder(s) of study files" in n for n in open_source(trees["autopet"]).notes)


def test_nnunet_channels_that_name_one_file_twice(trees, tmp_path):
    root = _copy(trees, "nnunet", tmp_path)
    with pytest.raises(DataError, match=r"_0000\.nii\.gz: used as the CT of case \S+ and as the PET of case"):
        open_source(root, channels={"ct": 0, "pet": 0})
    with pytest.raises(ConfigError, match=r"data.channels \{'ct': 0\} must give both ct and pet"):
        open_source(root, channels={"ct": 0})
    meta = json.loads((root / "dataset.json").read_text())
    del meta["channel_names"]
    (root / "dataset.json").write_text(json.dumps(meta))
    assert len(open_source(root, channels={"ct": 0, "pet": 1}).infos()) == 3  # the names are not needed then


# --------------------------------------------------------------------------- linked folders


def test_a_linked_patient_folder_is_followed(trees, tmp_path):
    root = _copy(trees, "autopet", tmp_path)
    patient = sorted(p for p in root.iterdir() if p.is_dir())[0]
    outside = tmp_path / "elsewhere" / patient.name
    outside.parent.mkdir()
    patient.rename(outside)
    patient.symlink_to(outside, target_is_directory=True)
    before, after = open_source(trees["autopet"]), open_source(root)
    assert sorted(after.files) == sorted(before.files)
    for case in before.files:
        np.testing.assert_array_equal(after.read(case).ct, before.read(case).ct)
        np.testing.assert_array_equal(after.read(case).label, before.read(case).label)
    assert not any("again" in n for n in after.notes)


@pytest.mark.parametrize("layout", ["autopet", "hecktor"])
def test_a_tree_whose_every_patient_folder_is_a_link_is_detected(trees, tmp_path, layout):
    """Detection walks links too (Python 3.11's rglob does not): the layout is found, not refused."""
    root = _copy(trees, layout, tmp_path)
    linked = tmp_path / "linked"
    linked.mkdir()
    for patient in sorted(p for p in root.iterdir() if p.is_dir()):
        (linked / patient.name).symlink_to(patient, target_is_directory=True)
    src = open_source(linked)
    assert src.layout == layout
    assert sorted(src.files) == sorted(open_source(root).files)


def test_a_link_loop_ends_and_a_folder_linked_twice_is_read_once(trees, tmp_path):
    root = _copy(trees, "hecktor", tmp_path)
    (root / "CHUS-001" / "up").symlink_to(root, target_is_directory=True)  # a loop
    (root / "CHUS-002" / "self").symlink_to(".", target_is_directory=True)  # a loop onto itself
    (root / "ZZZ-alias").symlink_to(root / "CHUS-003", target_is_directory=True)  # the same patient twice
    src = open_source(root)
    assert sorted(src.files) == ["CHUS-001", "CHUS-002", "CHUS-003"]
    assert src.files["CHUS-003"].ct == root / "CHUS-003" / "CHUS-003__CT.nii.gz"
    skipped = sorted(n.split(" is ")[0] for n in src.notes if "again (a symbolic link)" in n)
    assert skipped == sorted(str(p) for p in (root / "CHUS-001" / "up", root / "CHUS-002" / "self", root / "ZZZ-alias"))


def test_find_files_follows_links_to_files_and_leaves_out_broken_ones(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x__CT.nii.gz").write_bytes(b"")
    (tmp_path / "a" / "y__CT.nii.gz").symlink_to(tmp_path / "a" / "b" / "x__CT.nii.gz")
    (tmp_path / "a" / "z__CT.nii.gz").symlink_to(tmp_path / "nowhere")
    (tmp_path / "a" / "X__ct.nii.gz").write_bytes(b"")  # the pattern is case-sensitive
    (tmp_path / "a" / "dir__CT.nii.gz").mkdir()  # a folder is not a file
    assert find_files(tmp_path, "*__CT.nii.gz") == [
        tmp_path / "a" / "b" / "x__CT.nii.gz",
        tmp_path / "a" / "y__CT.nii.gz",
    ]
    assert len(find_files(tmp_path)) == 3


def test_an_unreadable_folder_is_named(tmp_path, monkeypatch):
    """A folder os.scandir cannot list (permissions; simulated, as root reads any folder)."""
    locked = tmp_path / "a" / "locked"
    locked.mkdir(parents=True)
    scandir = os.scandir

    def refuse(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(DataError, match=f"^{re.escape(str(locked))}: cannot list the folder \\(Permission denied\\)"):
        find_files(tmp_path)


# --------------------------------------------------------------------------- HDF5 entries


def _h5(path: Path, edit: Callable[[h5py.File], str] | None = None) -> tuple[Path, str]:
    write_kaggle_h5(path, make_phantom(3, seed=0, spec=SPEC))
    with h5py.File(path, "a") as f:
        return path, edit(f) if edit else ""


def _group_for(group: str, pid: str) -> Callable[[h5py.File], str]:
    def edit(f: h5py.File) -> str:
        del f[group][pid]
        f[group].create_group(pid).create_dataset("inner", data=np.zeros((2, 2, 2)))
        return f"{group}/{pid} is a group, expected a dataset"

    return edit


def _strings(f: h5py.File) -> str:
    del f["pet_data"]["STS_001"]
    f["pet_data"].create_dataset("STS_001", data=np.array([b"a", b"b"]))
    return "pet_data/STS_001 holds |S1 values, not numbers"


def _flat_label(f: h5py.File) -> str:
    shape = f["label_data"]["STS_002"].shape
    del f["label_data"]["STS_002"]
    f["label_data"].create_dataset("STS_002", data=np.zeros(shape[1:], np.uint8))
    return f"label_data/STS_002 has shape {shape[1:]}; expected a 3D"


def _pet_on_another_grid(f: h5py.File) -> str:
    z, y, x = f["ct_data"]["STS_001"].shape
    del f["pet_data"]["STS_001"]
    f["pet_data"].create_dataset("STS_001", data=np.zeros((z + 1, y, x), np.float32))
    return f"patient STS_001 shapes differ (ct {(z, y, x)}, pet {(z + 1, y, x)}, label {(z, y, x)})"


H5_CATALOGUE = {
    "ct entry is a group": _group_for("ct_data", "STS_003"),
    "label entry is a group": _group_for("label_data", "STS_002"),
    "pet of strings": _strings,
    "2D label": _flat_label,
    "pet on another grid": _pet_on_another_grid,
}


@pytest.mark.parametrize("name", list(H5_CATALOGUE))
def test_a_bad_hdf5_entry_is_refused_naming_the_patient(tmp_path, name):
    """Refused while planning, from the file's metadata (no patient's voxels are read)."""
    path, expected = _h5(tmp_path / "k.h5", H5_CATALOGUE[name])
    with pytest.raises(DataError) as err:
        open_source(path).infos()
    assert str(err.value).startswith(f"{path}: "), err.value
    assert expected in str(err.value), err.value
    shapes = {i.case_id: i.shape for i in open_source(_h5(tmp_path / "good.h5")[0]).infos()}
    with h5py.File(tmp_path / "good.h5") as f:  # the good file's shapes, as h5py reports them
        assert shapes == {pid: f["ct_data"][pid].shape for pid in ("STS_001", "STS_002", "STS_003")}


# --------------------------------------------------------------------------- through the CLI


def test_cli_prepare_refuses_two_studies_on_one_case_id(trees, runner, in_tmp):
    root = _copy(trees, "autopet", in_tmp)
    _autopet_ids_collide(root)
    res = runner.invoke(app, ["prepare", "--source", str(root), "-o", "ds"])
    _one_line_error(res, "PETCT_x/y_z/CTres.nii.gz", "PETCT_x_y/z/CTres.nii.gz", "PETCT_x_y_z")
    assert not (in_tmp / "ds").exists()


@pytest.mark.parametrize("breaks", [_huge_claim, _zero_pixdim, _singular_affine], ids=["huge", "pixdim", "affine"])
def test_cli_prepare_refuses_a_bad_header_in_one_line(trees, runner, in_tmp, breaks):
    layout = "hecktor" if breaks is _zero_pixdim else "autopet"
    root = _copy(trees, layout, in_tmp)
    expected = breaks(root)
    res = runner.invoke(app, ["prepare", "--source", str(root), "-o", "ds"])
    _one_line_error(res, *expected)
    assert not (in_tmp / "ds").exists()


def test_cli_prepare_names_the_patient_whose_entry_is_a_group(runner, in_tmp):
    _h5(in_tmp / "k.h5", _group_for("ct_data", "STS_003"))
    res = runner.invoke(app, ["prepare", "--h5", "k.h5", "-o", "ds"])
    _one_line_error(res, "k.h5", "ct_data/STS_003 is a group, expected a dataset")


def test_cli_prepare_names_dataset_json_and_the_key(trees, runner, in_tmp):
    root = _copy(trees, "nnunet", in_tmp)
    _meta(channel_names=["CT", "PET"])(root)
    res = runner.invoke(app, ["prepare", "--source", str(root), "-o", "ds"])
    _one_line_error(res, "dataset.json", "channel_names is a list, not a mapping")
