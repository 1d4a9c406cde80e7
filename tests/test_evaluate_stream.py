"""``evaluate`` streams cases (peak memory does not grow with the number of cases), refuses
predicted volumes that lack cases unless ``--allow-missing`` (then the report lists them), and
reads a predictions folder the way the command line named the truth, not by a stray file."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from sts_seg.cli import app
from sts_seg.config import load_config
from sts_seg.errors import DataError
from sts_seg.evaluate import evaluate
from sts_seg.io import h5, nifti
from sts_seg.io.h5 import write_kaggle_h5, write_label_h5
from sts_seg.prepare import prepare

SIZE = (24, 96, 96)  # z, y, x of every patient


def _patients(n: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``n`` patients of one shape, each with a box tumour (a little shifted per patient)."""
    vols = {}
    for i in range(n):
        rng = np.random.default_rng(i)
        ct = rng.integers(-200, 200, SIZE).astype(np.int16)
        pet = rng.random(SIZE, dtype=np.float32)
        label = np.zeros(SIZE, np.uint8)
        label[6:18, 20 + i % 5 : 40 + i % 5, 18:44] = 1
        pet[label > 0] += 6.0
        vols[f"P{i:02d}"] = (ct, pet, label)
    return vols


def _source(tmp: Path, n: int) -> Path:
    path = tmp / "src.h5"
    write_kaggle_h5(path, _patients(n))
    return path


def _cfg(src: Path, dataset: Path, n: int, *sets: str):
    test = ",".join(f"P{i:02d}" for i in range(2, n))
    split = ("split.train=[P00]", "split.valid=[P01]", f"split.test=[{test}]")
    return load_config(None, (*split, "eval.overlays=2", *sets), {"data.source": src, "data.dataset": dataset})


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["png", "volumes"])
def test_peak_memory_does_not_grow_with_the_number_of_cases(tmp_path: Path, kind: str) -> None:
    """3 and 12 test cases of one size: the peak differs by far less than the 9 extra cases'
    slices and volumes (what a split held in memory would add: ~9 x 24 x 96 x 96 x 5 bytes)."""
    peaks = {}
    for n in (5, 14):  # + one train and one valid patient
        d = tmp_path / f"n{n}"
        d.mkdir()
        src = _source(d, n)
        cfg = _cfg(src, d / "ds", n)
        prepare(cfg=cfg)
        if kind == "png":
            cfg = cfg.updated({"eval.predictions": d / "ds" / "test" / "masks", "eval.output": d / "rep"})
        else:
            labels = {f"P{i:02d}": v[2] for i, v in enumerate(_patients(n).values()) if i >= 2}
            write_label_h5(d / "pred.h5", labels)
            cfg = cfg.updated({"eval.predictions": d / "pred.h5", "eval.output": d / "rep"})
        peaks[n] = _peak(lambda cfg=cfg: evaluate(cfg=cfg, allow_missing=True))
        summary = json.loads((d / "rep" / "summary.json").read_text())
        assert summary["per_patient_3d"]["dice"]["mean"] == pytest.approx(1.0)
        assert len(summary["cases"]) == n - 2
    held = 9 * np.prod(SIZE) * 5  # image (3 bytes), truth and prediction of each slice of 9 more cases
    assert peaks[14] - peaks[5] < 0.25 * held, peaks


def test_overlays_are_the_best_and_worst_slices_of_the_whole_split(tmp_path: Path) -> None:
    """Streamed overlays pick what a whole-split ranking picks (hand-made: one damaged slice)."""
    src = _source(tmp_path, 5)
    cfg = _cfg(src, tmp_path / "ds", 5)
    prepare(cfg=cfg)
    from shutil import copytree

    from PIL import Image

    preds = copytree(tmp_path / "ds" / "test" / "masks", tmp_path / "pred")
    worst = preds / "P03_10.png"
    Image.new("P", Image.open(worst).size).save(worst)  # an empty prediction on a tumour slice: Dice 0
    rep = evaluate(cfg=cfg.updated({"eval.predictions": preds, "eval.output": tmp_path / "rep"}))
    names = sorted(p.name for p in (tmp_path / "rep" / "overlays").iterdir())
    dice = {r["image"]: r["dice"] for r in rep.per_image.rows if r["gt_volume_mm3"] > 0}
    ranked = sorted((d, n) for n, d in dice.items())
    want = sorted([f"best{i + 1}_{n}.png" for i, (_, n) in enumerate(ranked[::-1][:2])] + [f"worst1_{ranked[0][1]}.png",
                   f"worst2_{ranked[1][1]}.png"])  # fmt: skip
    assert ranked[0] == (0.0, "P03_10")
    assert names == want


# ---------------------------------------------------------------- missing cases


def _volume_case(tmp_path: Path, present: list[str]) -> tuple[Path, Path]:
    src = _source(tmp_path, 4)
    labels = {pid: v[2] for pid, v in _patients(4).items() if pid in present}
    write_label_h5(tmp_path / "pred.h5", labels)
    return src, tmp_path / "pred.h5"


def test_missing_cases_are_refused_and_named(tmp_path: Path, runner) -> None:
    src, pred = _volume_case(tmp_path, ["P00", "P02"])
    cfg = load_config(None, (), {"data.source": src, "eval.predictions": pred, "eval.output": tmp_path / "rep"})
    with pytest.raises(
        DataError, match=r"no prediction for 2 of the 4 expected case\(s\) .*P01, P03; .*--allow-missing"
    ):
        evaluate(cfg=cfg)
    r = runner.invoke(app, ["evaluate", "--predictions", str(pred), "--source", str(src), "-o", str(tmp_path / "r")])
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1
    assert "P01, P03" in r.stderr
    assert not (tmp_path / "r").exists()


def test_allow_missing_scores_the_present_and_lists_the_rest(tmp_path: Path, runner) -> None:
    src, pred = _volume_case(tmp_path, ["P00", "P02"])
    out = tmp_path / "rep"
    r = runner.invoke(app, ["evaluate", "--predictions", str(pred), "--source", str(src), "-o", str(out),
                            "--allow-missing"])  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cases"] == ["P00", "P02"]
    assert summary["missing_cases"] == ["P01", "P03"]
    assert any("P01, P03" in n for n in summary["notes"])
    assert "not scored, no prediction: 2 case(s)" in r.stdout
    assert "P01, P03" in r.stderr  # the note


# ---------------------------------------------------------------- how a predictions folder is read


def _nifti_predictions(tmp_path: Path) -> tuple[Path, Path]:
    """Every case's label as ``<case>.nii.gz``, and a stray PNG beside them."""
    src = _source(tmp_path, 3)
    folder = tmp_path / "pred"
    folder.mkdir()
    for pid, (_ct, _pet, label) in _patients(3).items():
        nifti.write_zyx(folder / f"{pid}.nii.gz", label, (5.0, 5.0, 5.0), np.uint8)
    from PIL import Image

    Image.new("L", (8, 8)).save(folder / "screenshot.png")
    return src, folder


def test_a_stray_png_does_not_switch_nifti_predictions_to_png_masks(tmp_path: Path, runner) -> None:
    src, folder = _nifti_predictions(tmp_path)
    r = runner.invoke(app, ["evaluate", "--predictions", str(folder), "--source", str(src), "-o", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["cases"] == ["P00", "P01", "P02"]
    # the source from the config, nothing named on the command line: the <case>.nii.gz masks decide
    cfg = load_config(None, (), {"data.source": src, "eval.predictions": folder, "eval.output": tmp_path / "b"})
    assert evaluate(cfg=cfg).per_patient.dice.mean == pytest.approx(1.0)


def test_the_command_line_decides_how_a_folder_is_read(tmp_path: Path, runner) -> None:
    src, folder = _nifti_predictions(tmp_path)
    ds = tmp_path / "ds"
    r = runner.invoke(app, ["evaluate", "--predictions", str(folder), "--dataset", str(ds), "-o", str(tmp_path / "a")])
    assert r.exit_code == 1  # --dataset: PNG masks of that dataset's split, which does not exist
    assert str(ds) in r.stderr
    assert "data/sts" not in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = runner.invoke(app, ["evaluate", "--predictions", str(empty), "--source", str(src), "-o", str(tmp_path / "b")])
    assert r.exit_code == 1  # --source: volumes, and there are none
    assert f"{h5.PREDICTIONS} and no <case>.nii.gz masks" in r.stderr
    assert "--dataset" in r.stderr
