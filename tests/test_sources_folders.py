"""``data.layout: folders``: one folder per case, files found by ``data.files``, read on the
``data.reference`` grid with the other image resampled onto it.

The synthetic cases hold linear functions of world position (CT ``f``, PET ``g``, in RAS mm), so
a linear resampling must reproduce them exactly, and the expected arrays are computed by hand from
each grid's voxel centres: no stsseg code is the oracle. The CT is stored RAS, the PET LPS.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk  # noqa: N813

from sts_seg.cli import app
from sts_seg.config import load_config
from sts_seg.core.slicing import SliceSpec
from sts_seg.errors import ConfigError, DataError
from sts_seg.infer.predictor import Predictor
from sts_seg.infer.volumes import VolumeSettings, infer_source
from sts_seg.prepare import prepare
from sts_seg.sources import detect_layout, open_source

ROOT = Path(__file__).resolve().parents[1]
FILES = {"ct": "CT_image.nii.gz", "pet": "PET_image.nii.gz", "label": "PET_mask.nii.gz"}
CT_SHAPE, PET_SHAPE = (24, 20, 10), (11, 9, 10)  # voxels (i, j, k)
CT_AFFINE = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 3.0, 0], [0, 0, 0, 1]])  # RAS, centres x 0..46
PET_AFFINE = np.array([[-4.0, 0, 0, 43], [0, -4.0, 0, 35], [0, 0, 3.0, 0], [0, 0, 0, 1]])  # LPS, x 43..3


def f_ct(x, y, z):
    return 0.5 * x - 0.25 * y + 2.0 * z - 20.0


def g_pet(x, y, z):
    return 0.1 * x + 0.2 * y - 0.05 * z + 0.013  # SUV 0.3..11, none within 0.01 of the 5.0 cut


def _world(shape: tuple[int, int, int], affine: np.ndarray, dz: float = 0.0) -> tuple[np.ndarray, ...]:
    i, j, k = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    return tuple(affine[r, 0] * i + affine[r, 1] * j + affine[r, 2] * k + affine[r, 3] + (dz if r == 2 else 0.0)
                 for r in range(3))  # fmt: skip


def _save(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def write_case(folder: Path, *, label: str | None = "pet", pet_dz: float = 0.0, seed: int = 0) -> dict[str, Path]:
    """A case folder with the IBSI file names: CT (RAS, 2x2x3 mm), PET (LPS, 4x4x3 mm, shifted ``pet_dz``
    mm along z), and a box label on the PET grid (``label="pet"``), the CT grid (``"ct"``) or none."""
    pet_affine = PET_AFFINE.copy()
    pet_affine[2, 3] += pet_dz
    out = {
        "ct": _save(folder / FILES["ct"], f_ct(*_world(CT_SHAPE, CT_AFFINE)).astype(np.float32), CT_AFFINE),
        "pet": _save(folder / FILES["pet"], g_pet(*_world(PET_SHAPE, pet_affine)).astype(np.float32), pet_affine),
    }
    rng = np.random.default_rng(seed)
    if label == "pet":
        lab = np.zeros(PET_SHAPE, np.uint8)
        a = int(rng.integers(1, 5))
        lab[a : a + 4, 2:6, 3:7] = 1
        out["label"] = _save(folder / FILES["label"], lab, pet_affine)
    elif label == "ct":
        lab = np.zeros(CT_SHAPE, np.uint8)
        lab[5:12, 4:10, 3:7] = 1
        out["label"] = _save(folder / FILES["label"], lab, CT_AFFINE)
    return out


def write_tree(root: Path, n: int = 4, **kw) -> Path:
    for c in range(n):
        write_case(root / f"STS_{c:03d}", seed=c, **kw)
    return root


def _lps(path: Path) -> np.ndarray:
    """SimpleITK's reading of a file, oriented to LPS (an independent reader)."""
    return sitk.GetArrayFromImage(sitk.DICOMOrient(sitk.ReadImage(str(path)), "LPS"))


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return write_tree(tmp_path_factory.mktemp("folders") / "cases")


# --------------------------------------------------------------------------- reading


def test_pet_reference_resamples_the_ct_onto_the_pet_grid_exactly(tree):
    src = open_source(tree, "folders", files=FILES, reference="pet")
    assert [i.case_id for i in src.infos()] == ["STS_000", "STS_001", "STS_002", "STS_003"]
    assert src.infos()[0].shape == (10, 9, 11)
    assert src.infos()[0].spacing == (3.0, 4.0, 4.0)
    case = src.read("STS_001")
    # the PET is stored LPS: its [z, y, x] array is the data transposed; world x = 43 - 4 xi, y = 35 - 4 yi
    zi, yi, xi = np.meshgrid(np.arange(10), np.arange(9), np.arange(11), indexing="ij")
    x, y, z = 43.0 - 4 * xi, 35.0 - 4 * yi, 3.0 * zi
    np.testing.assert_allclose(case.ct, f_ct(x, y, z), atol=1e-3)  # linear resampling of a linear CT is exact
    np.testing.assert_array_equal(case.pet, _lps(src.files["STS_001"].pet))
    np.testing.assert_array_equal(case.label, _lps(src.files["STS_001"].label))
    assert case.label.sum() == 4 * 4 * 4
    assert case.geometry.path.name == FILES["pet"]
    np.testing.assert_allclose(case.geometry.affine, PET_AFFINE)


def test_ct_reference_resamples_the_pet_onto_the_ct_grid(tmp_path):
    root = write_tree(tmp_path / "t", n=1, label="ct")
    src = open_source(root, "folders", files=FILES, reference="ct")
    case = src.read("STS_000")
    assert case.ct.shape == (10, 20, 24)
    assert case.spacing == (3.0, 2.0, 2.0)
    # the CT is stored RAS: its LPS array runs x = 46 - 2 xi, y = 38 - 2 yi
    zi, yi, xi = np.meshgrid(np.arange(10), np.arange(20), np.arange(24), indexing="ij")
    x, y, z = 46.0 - 2 * xi, 38.0 - 2 * yi, 3.0 * zi
    np.testing.assert_allclose(case.ct, f_ct(x, y, z), atol=1e-4)
    inside = (x >= 3) & (x <= 43) & (y >= 3) & (y <= 35)  # CT voxels within the PET's voxel centres
    assert inside.sum() > 1000
    np.testing.assert_allclose(case.pet[inside], g_pet(x, y, z)[inside], atol=1e-4)
    np.testing.assert_array_equal(case.label, _lps(root / "STS_000" / FILES["label"]))


def test_unlabelled_cases_read_without_a_label(tmp_path):
    root = write_tree(tmp_path / "t", n=2, label=None)
    src = open_source(root, "folders", files=FILES, reference="pet")
    assert src.read("STS_000").label is None
    assert src.files["STS_001"].label is None


def test_globs_find_the_files_and_data_files_selects_the_layout(tmp_path):
    root = write_tree(tmp_path / "t", n=2)
    globs = {"ct": "CT_*.nii.gz", "pet": "PET_image*", "label": "*_mask.nii.gz"}
    src = open_source(root, files=globs, reference="pet")  # auto + data.files: folders
    assert src.layout == "folders"
    assert src.files["STS_000"].ct.name == FILES["ct"]
    assert src.files["STS_000"].label.name == FILES["label"]


def test_the_patient_is_the_case_unless_a_pattern_says_otherwise(tmp_path):
    for name in ("P1_a", "P1_b", "P2_a"):
        write_case(tmp_path / name)
    assert {i.patient for i in open_source(tmp_path, "folders", files=FILES).infos()} == {"P1_a", "P1_b", "P2_a"}
    src = open_source(tmp_path, "folders", files=FILES, patient_pattern=r"^(P\d+)_")
    assert {i.case_id: i.patient for i in src.infos()} == {"P1_a": "P1", "P1_b": "P1", "P2_a": "P2"}


def test_other_files_and_folders_are_ignored_with_a_note(tmp_path):
    root = write_tree(tmp_path / "t", n=2)
    (root / "README.txt").write_text("x")
    (root / "STS_000" / "CT_mask.nii.gz").write_bytes(b"")
    (root / "notes").mkdir()
    src = open_source(root, "folders", files=FILES)
    assert any("1 folder(s)" in n and "notes" in n for n in src.notes)
    assert any("2 other file(s)" in n for n in src.notes)


def test_folders_is_not_guessed_without_data_files(tree):
    with pytest.raises(DataError, match=r"set data\.layout folders and data\.files"):
        detect_layout(tree)


# --------------------------------------------------------------------------- refusals


def test_a_label_on_the_other_grid_is_refused_naming_the_case(tmp_path):
    root = write_tree(tmp_path / "t", n=1, label="ct")
    src = open_source(root, "folders", files=FILES, reference="pet")
    with pytest.raises(DataError, match=r"case STS_000: label PET_mask.nii.gz \(24, 20, 10\) is not on the PET grid"):
        src.read("STS_000")


def test_a_glob_that_matches_two_files_is_refused_naming_the_case(tmp_path):
    root = write_tree(tmp_path / "t", n=2)
    with pytest.raises(DataError, match=r"case STS_000: data.files.ct '\*_image.nii.gz' matches 2 files"):
        open_source(root, "folders", files={"ct": "*_image.nii.gz", "pet": "PET_image.nii.gz"})


def test_one_file_in_two_roles_is_refused(tmp_path):
    root = write_tree(tmp_path / "t", n=1)
    with pytest.raises(DataError, match=r"used as the CT of case STS_000 and as the PET of case STS_000"):
        open_source(root, "folders", files={"ct": "PET_image.nii.gz", "pet": "PET_im*"})


def test_a_case_without_its_pet_is_refused(tmp_path):
    root = write_tree(tmp_path / "t", n=2)
    (root / "STS_001" / FILES["pet"]).unlink()
    with pytest.raises(DataError, match=r"case STS_001: no file matches data.files.pet 'PET_image.nii.gz'"):
        open_source(root, "folders", files=FILES)


def test_folders_without_data_files_is_a_config_error(tree):
    with pytest.raises(ConfigError, match=r"data\.layout folders needs data\.files"):
        open_source(tree, "folders")


def test_data_files_needs_ct_and_pet():
    with pytest.raises(ConfigError, match="at least the ct and pet"):
        load_config(None, ["data.files={ct: CT.nii.gz}"])


def test_the_cli_refuses_a_label_on_the_other_grid_in_one_line(tmp_path, runner):
    root = write_tree(tmp_path / "t", n=3, label="ct")
    files = "data.files={ct: CT_image.nii.gz, pet: PET_image.nii.gz, label: PET_mask.nii.gz}"
    sets = ["--set", "data.layout=folders", "--set", "data.reference=pet", "--set", files]
    res = runner.invoke(app, ["prepare", "--source", str(root), "--output", str(tmp_path / "ds"), *sets])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "case STS_000" in lines[0]
    assert "not on the PET grid" in lines[0]
    assert not (tmp_path / "ds").exists()


# --------------------------------------------------------------------------- PET/CT misregistration


def test_a_pet_shifted_along_z_is_noted_naming_the_case(tmp_path):
    write_case(tmp_path / "good")
    write_case(tmp_path / "shifted", pet_dz=-6.0)  # two 3 mm slices lower (as STS_019's 6.5 mm)
    write_case(tmp_path / "nudged", pet_dz=1.0)  # a third of a slice: not worth a note
    src = open_source(tmp_path, "folders", files=FILES, reference="pet")
    src.infos()
    src.infos()  # notes are not repeated
    shifted = [n for n in src.notes if "misaligned" in n]
    assert len(shifted) == 1
    assert shifted[0].startswith("case shifted: the CT lies 6.0 mm higher along z than the PET")


def test_a_pet_that_does_not_cover_the_ct_is_noted(tmp_path):
    folder = tmp_path / "short"
    write_case(folder)
    pet = nib.load(folder / FILES["pet"])
    affine = pet.affine.copy()
    affine[2, 3] += 3.0  # the first slice dropped: the others stay where they were
    _save(folder / FILES["pet"], np.asarray(pet.dataobj)[..., 1:-1], affine)  # the CT's end slices have no PET
    src = open_source(tmp_path, "folders", files=FILES, reference="ct")
    src.infos()
    assert any(n.startswith("case short: the PET") and "does not cover the CT grid" in n for n in src.notes)
    assert not [n for n in src.notes if "misaligned" in n]
    ref_pet = open_source(tmp_path, "folders", files=FILES, reference="pet")
    ref_pet.infos()
    assert not [n for n in ref_pet.notes if "case short" in n]  # the CT covers the PET's z range


# --------------------------------------------------------------------------- prepare and infer


class PetThreshold:
    """A 'network': class 1 where the PET channel (the last) is >= 128 (SUV >= 5 in the 0..10 window)."""

    channels, divisor = 2, 4

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        fg = (batch[..., -1] >= 128).astype(np.float32)
        return np.stack([1.0 - fg, fg], axis=-1)


SLICES = SliceSpec("channels", (("ct", -1000.0, 1000.0), ("pet", 0.0, 10.0)), "pad", 48, 4)


def test_infer_writes_every_unlabelled_case_on_the_pet_grid(tmp_path):
    root = write_tree(tmp_path / "t", n=3, label=None)
    src = open_source(root, "folders", files=FILES, reference="pet")
    out = tmp_path / "pred"
    infer_source(Predictor([PetThreshold()], batch_size=8), src, out, settings=VolumeSettings(SLICES, "native"))
    assert sorted(p.name for p in out.iterdir()) == [f"STS_00{c}.nii.gz" for c in range(3)]
    for c in range(3):
        pet_file = root / f"STS_00{c}" / FILES["pet"]
        mask = nib.load(out / f"STS_00{c}.nii.gz")
        assert mask.shape == PET_SHAPE
        np.testing.assert_allclose(mask.affine, nib.load(pet_file).affine, atol=1e-6)
        pet = _lps(pet_file)
        np.testing.assert_array_equal(_lps(out / f"STS_00{c}.nii.gz"), (pet >= 5.0).astype(np.uint8))
        assert 10 < (pet >= 5.0).sum() < pet.size


def test_prepare_with_the_shipped_ibsi_config_on_a_folders_tree(tmp_path):
    tree = write_tree(tmp_path / "t", n=4)
    cfg = load_config(ROOT / "configs" / "sts_ibsi.yaml", ["split.train=null", "split.valid=null", "split.test=null",
                                                           "split.fractions=[0.5, 0.25, 0.25]"])  # fmt: skip
    res = prepare(cfg=cfg.updated({"data.source": tree, "data.dataset": tmp_path / "ds"}))
    assert res.layout == "folders"
    assert {c: g.source_shape for c, g in res.cases.items()} == {f"STS_00{c}": (10, 9, 11) for c in range(4)}
    assert all(not g.resampled for g in res.cases.values())  # prepare.spacing_mm: native
    # each case's 4x4x4 box spans 4 slices, and every tumour slice is exported (train: labeled + negatives)
    assert sum(res.tumour_slices.values()) == 4 * 4


pytest_plugins = ["_pipeline"]


@pytest.mark.tf
def test_infer_cli_with_the_ibsi_config_on_a_tree_without_masks(model_path, runner, tmp_path):
    """``stsseg infer configs/sts_ibsi.yaml --model M --source DIR --output OUT``: OUT/<case>.nii.gz for
    every case folder, on its PET grid (the session model; its card gives the slicing)."""
    root = write_tree(tmp_path / "t", n=3, label=None)
    out = tmp_path / "pred"
    res = runner.invoke(app, ["infer", str(ROOT / "configs" / "sts_ibsi.yaml"), "--model", str(model_path),
                              "--source", str(root), "--output", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [f"STS_00{c}.nii.gz" for c in range(3)]
    for c in range(3):
        mask = nib.load(out / f"STS_00{c}.nii.gz")
        assert mask.shape == PET_SHAPE
        np.testing.assert_allclose(mask.affine, PET_AFFINE, atol=1e-6)
