"""The reported scenario: slices wider than the canvas. No tumour voxel may be lost, and every
3D score is taken against the source's label volume, so a prediction that misses tumour scores
below 1 even when the dataset's PNG masks were changed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from sts_seg.config import load_config
from sts_seg.errors import ConfigError
from sts_seg.evaluate import evaluate
from sts_seg.io.h5 import write_kaggle_h5
from sts_seg.io.png import read_mask, write_mask
from sts_seg.prepare import prepare

VOXEL_MM3 = 125.0
SHAPE = (6, 60, 76)  #: a wide field of view: 60 x 76 px, larger than a 32 or 48 px canvas
SPLIT = ["split.train=[W0]", "split.valid=[W1]", "split.test=[W2, W3]"]


@pytest.fixture(scope="module")
def wide_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 patients whose tumours touch the slice corners (outside any central 48 px crop)."""
    vols = {}
    for i in range(4):
        ct = np.full(SHAPE, 40, np.int16)
        pet = np.full(SHAPE, 1.0, np.float32)
        label = np.zeros(SHAPE, np.uint8)
        label[1:4, 0:6, 0:5] = 1  # top-left corner
        label[2:5, 52:60, 66:76] = 1  # bottom-right corner
        label[3, 28:32, 36:40] = 1  # centre
        pet[label > 0] = 6.0 + i
        vols[f"W{i}"] = (ct, pet, label)
    path = tmp_path_factory.mktemp("wide") / "wide.h5"
    write_kaggle_h5(path, vols)
    return path


def _cfg(h5: Path, out: Path, *extra: str):
    return load_config(None, [f"data.source={h5}", f"data.dataset={out}", *SPLIT, *extra])


def test_an_explicit_canvas_that_would_crop_is_refused_before_anything_is_written(wide_h5, tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(ConfigError, match=r"W\d: slices of 60x76 px do not fit model.image_size 48 .* cropped") as e:
        prepare(cfg=_cfg(wide_h5, out, "model.image_size=48", "model.num_layers=3"))
    assert "model.image_size: auto (here 48)" not in str(e.value)  # 76 rounded up to 4 is 76
    assert "auto (here 76)" in str(e.value)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_auto_canvas_keeps_every_voxel_and_says_why(wide_h5, tmp_path):
    res = prepare(cfg=_cfg(wide_h5, tmp_path / "ds"))
    assert res.canvas.side == 80  # 76 rounded up to a multiple of 16 (5 levels)
    assert "largest native slice 60x76 px" in res.canvas.reason
    assert "multiple of 16 (5 levels)" in res.canvas.reason
    with open(tmp_path / "ds" / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["canvas_h"], r["canvas_w"]) for r in rows} == {("80", "80")}
    total = sum(int(r["tumour_pixels"]) for r in rows if r["split"] == "test")
    assert total == 2 * (3 * 6 * 5 + 3 * 8 * 10 + 16)  # every tumour voxel of both test patients


def test_scores_come_from_the_source_and_say_so(wide_h5, tmp_path):
    ds = tmp_path / "ds"
    prepare(cfg=_cfg(wide_h5, ds))
    preds = tmp_path / "preds"
    preds.mkdir()
    for p in (ds / "test" / "masks").iterdir():
        write_mask(preds / p.name, read_mask(p))
    cfg = _cfg(wide_h5, ds, f"eval.predictions={preds}", f"eval.output={tmp_path / 'rep'}")
    report = evaluate(cfg=cfg)
    for row in report.per_patient.rows:
        assert row["dice"] == 1.0
        assert row["gt_volume_mm3"] == (3 * 6 * 5 + 3 * 8 * 10 + 16) * VOXEL_MM3  # the source's voxel count
    assert report.header["truth"].startswith(f"source {wide_h5}")
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["truth"] == report.header["truth"]
    # a prediction that misses the corner tumour scores below 1 even if the PNG masks agree with it
    name = "W2_2.png"
    for folder in (preds, ds / "test" / "masks"):
        m = read_mask(folder / name)
        m[62:70, 68:78] = 0  # the bottom-right tumour of this slice (canvas offset 10, 2)
        write_mask(folder / name, m)
    report = evaluate(cfg=cfg.updated({"eval.output": tmp_path / "rep2"}))
    w2 = next(r for r in report.per_patient.rows if r["patient"] == "W2")
    assert w2["dice"] < 1.0
    assert w2["fn"] == 8 * 10
