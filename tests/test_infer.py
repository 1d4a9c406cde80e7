"""``stsseg infer``: folder mode (corrupt file, odd-sized image, palette masks, overlays, overwrite
rules) and volume mode (native shapes, NIfTI round trip, scoring with ``evaluate``)."""

from __future__ import annotations

import contextlib
import csv
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from _pipeline import SIZE, TEST_PATIENTS, assert_same_labels, dice_np, keras_labels, overrides, run_volumes
from PIL import Image
from typer.testing import CliRunner

from sts_seg.cli import app
from sts_seg.errors import DataError, OverwriteError
from sts_seg.io import h5, png
from sts_seg.io.manifest import read_manifest

pytest_plugins = ["_pipeline"]
pytestmark = pytest.mark.tf

ODD = (37, 53)  # rows, columns of the odd-sized RGB image


def _sets() -> list[str]:
    out = []
    for o in overrides():
        out += ["--set", o]
    return out


@pytest.fixture(scope="module")
def in_dir(dataset48, tmp_path_factory) -> Path:
    """Three 48 px test images, an odd-sized RGB image and a file of garbage bytes."""
    folder = tmp_path_factory.mktemp("infer_in") / "images"
    folder.mkdir()
    for p in sorted((dataset48 / "test" / "images").iterdir())[:3]:
        shutil.copy(p, folder / p.name)
    odd = np.random.default_rng(5).integers(0, 256, (*ODD, 3), dtype=np.uint8)
    Image.fromarray(odd, "RGB").save(folder / "odd.png")
    (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png at all" + bytes(range(64)))
    return folder


@pytest.fixture(scope="module")
def folder_run(in_dir, model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("infer_out") / "masks"
    args = ["infer", "--input", str(in_dir), "--output", str(out), "--model", str(model_path), "--overlay"]
    result = CliRunner().invoke(app, args + _sets())
    return result, out


# --------------------------------------------------------------------------- folder mode


def test_corrupt_file_is_reported_and_the_others_are_written(folder_run, in_dir):
    result, out = folder_run
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "bad.png" in result.stderr
    assert result.stderr.count("error:") == 1
    good = sorted(p.stem for p in in_dir.iterdir() if p.name != "bad.png")
    assert len(good) == 4
    assert sorted(p.stem for p in out.glob("*.png")) == good
    assert "wrote 4 mask(s)" in result.stdout
    assert len(list(in_dir.iterdir())) == 5  # inputs untouched, nothing written next to them
    assert (in_dir / "bad.png").is_file()


def test_masks_are_palette_pngs_black_and_yellow(folder_run):
    _, out = folder_run
    for path in out.glob("*.png"):
        img = Image.open(path)
        assert img.mode == "P", path.name
        pal = img.getpalette()
        assert tuple(pal[0:3]) == (0, 0, 0)
        assert tuple(pal[3:6]) == (255, 255, 0)
        assert set(np.unique(np.asarray(img)).tolist()) <= {0, 1}


def test_odd_sized_image_gets_a_mask_of_its_own_size(folder_run):
    _, out = folder_run
    mask = png.read_mask(out / "odd.png")
    assert mask.shape == ODD
    assert Image.open(out / "odd.png").size == (ODD[1], ODD[0])  # PIL: (width, height)
    assert Image.open(out / "overlays" / "odd.png").size == (ODD[1], ODD[0])


def test_masks_equal_the_model_prediction(folder_run, in_dir, model_path):
    _, out = folder_run
    names = sorted(p.name for p in in_dir.iterdir() if p.name.startswith("STS_"))
    images = np.stack([png.read_image(in_dir / n) for n in names])
    assert images.shape == (3, SIZE, SIZE, 3)
    expected, confident = keras_labels(model_path, images)
    for n, exp, ok in zip(names, expected, confident, strict=True):
        assert_same_labels(png.read_mask(out / n), exp, ok, n)


def test_overlays_blend_only_the_mask(folder_run, in_dir):
    _, out = folder_run
    assert sorted(p.name for p in (out / "overlays").iterdir()) == sorted(p.name for p in out.glob("*.png"))
    for p in out.glob("*.png"):
        img = png.read_image(in_dir / p.name)
        over = png.read_image(out / "overlays" / p.name)
        mask = png.read_mask(p)
        assert over.shape == img.shape
        np.testing.assert_array_equal(over[mask == 0], img[mask == 0])


def test_an_output_folder_with_masks_is_refused_without_force(folder_run, in_dir, model_path, tmp_path):
    _, out = folder_run
    target = tmp_path / "masks"
    shutil.copytree(out, target)
    before = {p.name: p.read_bytes() for p in target.glob("*.png")}
    args = ["infer", "--input", str(in_dir), "--output", str(target), "--model", str(model_path)]
    result = CliRunner().invoke(app, args + _sets())
    assert result.exit_code == 1
    assert "--force" in result.stderr
    assert result.stderr.count("\n") == 1
    assert {p.name: p.read_bytes() for p in target.glob("*.png")} == before
    result = CliRunner().invoke(app, [*args, "--force", *_sets()])
    assert result.exit_code == 1  # bad.png still fails, the others are written
    assert not (target / "overlays").exists()  # the folder was replaced, without --overlay this time
    assert sorted(p.name for p in target.glob("*.png")) == sorted(before)


def test_output_equal_to_input_is_refused(predictor48, in_dir):
    from sts_seg.infer.folder import infer_folder

    before = sorted(p.name for p in in_dir.iterdir())
    with pytest.raises(OverwriteError, match="input folder"):
        infer_folder(*predictor48, in_dir, in_dir)
    with pytest.raises(OverwriteError, match="input folder"):
        infer_folder(*predictor48, in_dir, in_dir / ".." / in_dir.name, force=True)
    assert sorted(p.name for p in in_dir.iterdir()) == before


def test_a_folder_of_only_good_images_reports_no_failure(predictor48, in_dir, tmp_path):
    from sts_seg.infer.folder import infer_folder

    src = tmp_path / "in"
    src.mkdir()
    for p in in_dir.glob("STS_*.png"):
        shutil.copy(p, src / p.name)
    res = infer_folder(*predictor48, src, tmp_path / "out")
    assert res.failed == []
    assert sorted(res.written) == sorted(p.stem for p in src.iterdir())


# --------------------------------------------------------------------------- volume mode


@pytest.fixture(scope="module")
def volumes(predictor48, tiny_h5, tmp_path_factory):
    out = tmp_path_factory.mktemp("vol") / "pred"
    shapes = run_volumes(predictor48, tiny_h5, out, nifti_copies=True)
    return out, shapes


def test_volume_mode_writes_label_data_of_the_native_shape(volumes, tiny_h5):
    out, shapes = volumes
    patients = h5.list_patients(tiny_h5)
    assert len(patients) == 4
    names = ["predictions.h5", *(f"{p}{kind}.nii.gz" for p in patients for kind in ("", "_ct", "_pet"))]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    with h5py.File(out / "predictions.h5", "r") as f:
        assert sorted(f["label_data"]) == patients
        for pid in patients:
            native = h5.read_volume(tiny_h5, pid).label.shape
            assert f["label_data"][pid].shape == native == shapes[pid]
            assert set(np.unique(f["label_data"][pid][()]).tolist()) <= {0, 1}


def test_volume_mode_nifti_reads_back_equal_with_nibabel(volumes, tiny_h5):
    """Masks, CT and PET NIfTI copies share one 5 mm grid and hold the same voxels as the HDF5."""
    import nibabel as nib

    out, _ = volumes
    labels = h5.read_labels(out / "predictions.h5")
    for pid, vol in labels.items():
        vol_src = h5.read_volume(tiny_h5, pid)
        for kind, expected in (("", vol), ("_ct", np.rint(vol_src.ct)), ("_pet", vol_src.pet)):
            img = nib.load(out / f"{pid}{kind}.nii.gz")
            assert img.header.get_zooms()[:3] == (5.0, 5.0, 5.0)
            # stored as (x, y, z) with the x and y axes pointing left and posterior (LPS)
            assert nib.aff2axcodes(img.affine) == ("L", "P", "S")
            np.testing.assert_allclose(np.asarray(img.dataobj).transpose(2, 1, 0), expected, atol=1e-6)


def test_volume_mode_slices_exactly_as_prepare(volumes, dataset48, model_path, tiny_h5):
    """The test patient's volume equals predictions on the PNGs prepare wrote, restacked."""
    from sts_seg.core.geometry import to_native

    out, _ = volumes
    (pid,) = TEST_PATIENTS
    rows = sorted((r for r in read_manifest(dataset48) if r.split == "test"), key=lambda r: r.z)
    assert [r.z for r in rows] == list(range(rows[0].native_z))  # test select: all slices
    labels, confident = keras_labels(model_path, np.stack([png.read_image(dataset48 / r.image) for r in rows]))
    expected = np.stack([to_native(lab, r.placement) for r, lab in zip(rows, labels, strict=True)])
    sure = np.stack([to_native(ok.astype(np.uint8), r.placement) for r, ok in zip(rows, confident, strict=True)])
    assert_same_labels(h5.read_labels(out / "predictions.h5")[pid], expected, sure > 0, pid)


def test_volume_mode_subset_unknown_patient_and_overwrite(predictor48, tiny_h5, volumes, tmp_path):
    out = tmp_path / "one"
    shapes = run_volumes(predictor48, tiny_h5, out, cases=["STS_002"])
    assert list(shapes) == ["STS_002"]
    assert list(h5.read_labels(out / "predictions.h5")) == ["STS_002"]
    one, full = h5.read_labels(out / "predictions.h5"), h5.read_labels(volumes[0] / "predictions.h5")
    np.testing.assert_array_equal(one["STS_002"], full["STS_002"])
    assert sorted(p.name for p in out.iterdir()) == ["predictions.h5"]
    with pytest.raises(OverwriteError, match="--force"):
        run_volumes(predictor48, tiny_h5, out, cases=["STS_002"])
    with pytest.raises(DataError, match="STS_999"):
        run_volumes(predictor48, tiny_h5, tmp_path / "two", cases=["STS_999"])
    assert not (tmp_path / "two").exists()


def test_evaluate_scores_the_volume_predictions(volumes, tiny_h5, tmp_path):
    out, _ = volumes
    rep = tmp_path / "rep"
    args = ["evaluate", "--predictions", str(out), "--h5", str(tiny_h5), "--output", str(rep), *_sets()]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with open(rep / "per_patient.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pred = h5.read_labels(out / "predictions.h5")
    assert [r["patient"] for r in rows] == sorted(pred)
    for r in rows:
        truth = h5.read_volume(tiny_h5, r["patient"]).label
        expected = dice_np(pred[r["patient"]], truth)
        assert float(r["dice"]) == pytest.approx(expected, rel=1e-5, abs=1e-9)
        assert float(r["gt_volume_mm3"]) == pytest.approx(float((truth > 0).sum()) * 125.0)
    assert (rep / "summary.json").is_file()
    assert (rep / "evaluation.csv").is_file()
    assert (rep / "baseline_per_patient.csv").is_file()
    assert "per-case 3D tumour metrics" in result.stdout


# --------------------------------------------------------------------------- overwrite safety


def _infer_or_refuse(predictor, src: Path, out: Path) -> None:
    """Run folder inference without --force; a refusal (OverwriteError) is a fine outcome too."""
    from sts_seg.infer.folder import infer_folder

    with contextlib.suppress(OverwriteError):
        infer_folder(*predictor, src, out)


def test_an_output_folder_with_other_files_is_not_wiped_without_force(predictor48, in_dir, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for p in in_dir.glob("STS_*.png"):
        shutil.copy(p, src / p.name)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    _infer_or_refuse(predictor48, src, out)
    assert (out / "notes.txt").read_text() == "mine"


def test_inputs_inside_the_output_folder_are_never_deleted(predictor48, in_dir, tmp_path):
    out = tmp_path / "work"
    src = out / "images"
    src.mkdir(parents=True)
    for p in in_dir.glob("STS_*.png"):
        shutil.copy(p, src / p.name)
    names = sorted(p.name for p in src.iterdir())
    _infer_or_refuse(predictor48, src, out)
    assert src.is_dir()
    assert sorted(p.name for p in src.iterdir()) == names
