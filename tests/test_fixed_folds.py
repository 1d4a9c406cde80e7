"""cv.folds_file: fixed test folds from a file (the real set's folds_5.json), validation drawn from training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sts_seg.config import load_config
from sts_seg.cv.folds import check_folds, fixed_folds
from sts_seg.cv.run import _folds
from sts_seg.errors import ConfigError, DataError

PATIENTS = [f"P{i:02d}" for i in range(7)]
TESTS = [["P00", "P03"], ["P01", "P04"], ["P02", "P05", "P06"]]


def _write(tmp_path: Path, folds: list, name: str = "folds_3.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"note": "fixed", "folds": folds}))
    return path


def test_test_lists_are_kept_and_the_rest_trains_or_validates(tmp_path):
    path = _write(tmp_path, [{"test": t} for t in TESTS])
    folds = fixed_folds(path, PATIENTS, seed=3, n_valid=2)
    assert [list(f.test) for f in folds] == TESTS
    for f, test in zip(folds, TESTS, strict=True):
        assert len(f.valid) == 2
        assert sorted(f.train + f.valid) == sorted(set(PATIENTS) - set(test))  # every other patient, once
        assert not set(f.valid) & set(f.train)
    check_folds(folds, PATIENTS)  # each patient tested exactly once
    assert fixed_folds(path, PATIENTS, seed=3, n_valid=2) == folds  # seeded
    assert any(a.valid != b.valid for a, b in zip(folds, fixed_folds(path, PATIENTS, seed=4, n_valid=2), strict=True))


def test_explicit_train_and_valid_lists_are_used_as_written(tmp_path):
    path = _write(tmp_path, [{"test": ["P00"], "valid": ["P01"], "train": ["P01", "P02", "P03"]}])
    (fold,) = fixed_folds(path, PATIENTS)
    assert (fold.train, fold.valid, fold.test) == (("P02", "P03"), ("P01",), ("P00",))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"folds": [{"test": ["P00", "NOPE"]}]}, r"fold 0 tests patient\(s\) NOPE that are not in the source"),
        ({"folds": [{"train": ["P00"]}]}, "not a fixed-folds file"),
        ({"tests": []}, "not a fixed-folds file"),
        ([1, 2], "not a fixed-folds file"),
    ],
)
def test_a_bad_folds_file_is_named(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(DataError, match=message) as err:
        fixed_folds(path, PATIENTS)
    assert str(path) in str(err.value)


def test_cv_writes_the_fixed_folds_and_refuses_a_run_with_other_tests(tmp_path):
    path = _write(tmp_path, [{"test": t} for t in TESTS])
    cfg = load_config(None, values={"cv.folds_file": path, "cv.valid_patients": 1})
    run = tmp_path / "run"
    run.mkdir()
    folds = _folds(cfg, run, PATIENTS, None, "src")
    assert [list(f.test) for f in folds] == TESTS
    written = json.loads((run / "folds.json").read_text())
    assert [f["test"] for f in written["folds"]] == TESTS
    assert written["meta"]["folds_file"] == str(path)
    assert _folds(cfg, run, PATIENTS, None, "src") == folds  # a rerun reads folds.json
    other = _write(tmp_path, [{"test": PATIENTS[:2]}, {"test": PATIENTS[2:]}], "other.json")
    with pytest.raises(ConfigError, match=r"tests other patients than cv\.folds_file"):
        _folds(load_config(None, values={"cv.folds_file": other}), run, PATIENTS, None, "src")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with pytest.raises(ConfigError, match="has 3 folds but --folds is 5"):
        _folds(cfg, fresh, PATIENTS, 5, "src")
