"""``stsseg train / evaluate / infer`` error contract: exit 1, one ``error:`` line on stderr that
names the file or key, nothing on stdout, no traceback, nothing written."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from _pipeline import overrides

from sts_seg.cli import app
from sts_seg.io import h5

pytest_plugins = ["_pipeline"]


def _sets(*extra: str) -> list[str]:
    out = []
    for o in (*overrides(), *extra):
        out += ["--set", o]
    return out


def _one_line_error(result, *names: str) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    err = result.stderr
    assert err.startswith("error: "), err
    assert err.endswith("\n"), err
    assert err.count("\n") == 1, err
    for name in names:
        assert name in err, (name, err)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return err


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


# --------------------------------------------------------------------------- train


@pytest.mark.tf
def test_train_missing_dataset(runner, in_tmp):
    result = runner.invoke(app, ["train", "--dataset", "no_such_ds", "--run", "run", *_sets()])
    _one_line_error(result, "no_such_ds", "stsseg prepare")
    assert not (in_tmp / "run" / "config.yaml").exists()


def test_train_bad_config_key(runner, in_tmp):
    result = runner.invoke(app, ["train", "--dry-run", "--set", "train.epochz=3"])
    _one_line_error(result, "train.epochz")


def test_train_bad_config_value(runner, in_tmp):
    result = runner.invoke(app, ["train", "--dry-run", "--set", "model.image_size=50"])
    _one_line_error(result, "image_size 50", "multiple of 16")


@pytest.mark.tf
def test_train_resume_without_a_run(runner, in_tmp, dataset48):
    result = runner.invoke(app, ["train", "--dataset", str(dataset48), "--run", "empty", "--resume", *_sets()])
    _one_line_error(result, "empty", "nothing to resume")


@pytest.mark.tf
def test_train_refuses_an_existing_run_without_force(runner, in_tmp, dataset48, trained_run):
    run = trained_run.run_dir
    before = _digest(run)
    result = runner.invoke(app, ["train", "--dataset", str(dataset48), "--run", str(run), *_sets()])
    _one_line_error(result, str(run), "--force", "--resume")
    assert _digest(run) == before


# --------------------------------------------------------------------------- evaluate


def test_evaluate_missing_model_file(runner, in_tmp, dataset48):
    args = ["evaluate", "--dataset", str(dataset48), "--model", "nope.keras", "-o", "rep", *_sets()]
    _one_line_error(runner.invoke(app, args), "nope.keras", "not found")
    assert not (in_tmp / "rep").exists()


def test_evaluate_default_model_is_named_when_missing(runner, in_tmp, dataset48):
    result = runner.invoke(app, ["evaluate", "--dataset", str(dataset48), "-o", "rep", *_sets()])
    _one_line_error(result, str(Path("runs") / "sts" / "best.keras"))


def test_evaluate_missing_dataset(runner, in_tmp):
    (in_tmp / "preds").mkdir()
    args = ["evaluate", "--dataset", "no_such_ds", "--predictions", "preds", "-o", "rep"]
    _one_line_error(runner.invoke(app, args), str(Path("no_such_ds") / "test"))
    assert not (in_tmp / "rep").exists()


def test_evaluate_missing_predictions_folder(runner, in_tmp, dataset48):
    args = ["evaluate", "--dataset", str(dataset48), "--predictions", "preds", "-o", "rep"]
    _one_line_error(runner.invoke(app, args), "preds", "not found")


def test_evaluate_bad_config_key(runner, in_tmp):
    result = runner.invoke(app, ["evaluate", "--predictions", "p", "--set", "eval.empty=one"])
    _one_line_error(result, "eval.empty")


def test_evaluate_bad_split(runner, in_tmp):
    _one_line_error(runner.invoke(app, ["evaluate", "--predictions", "p", "--split", "tset"]), "eval.split")


def test_evaluate_h5_predictions_need_the_source(runner, in_tmp):
    from sts_seg.io.h5 import write_label_h5

    write_label_h5(in_tmp / "pred.h5", {"STS_001": np.zeros((2, 4, 4), np.uint8)})
    args = ["evaluate", "--dataset", "no_such_ds", "--predictions", "pred.h5", "-o", "rep"]
    _one_line_error(runner.invoke(app, args), "--source")
    (in_tmp / "junk.h5").write_bytes(b"")
    args = ["evaluate", "--dataset", "no_such_ds", "--predictions", "junk.h5", "-o", "rep"]
    _one_line_error(runner.invoke(app, args), "junk.h5", "not an HDF5 file")


def test_evaluate_refuses_a_non_empty_output(runner, in_tmp, dataset48):
    preds = in_tmp / "preds"
    shutil.copytree(dataset48 / "test" / "masks", preds)
    (in_tmp / "rep").mkdir()
    (in_tmp / "rep" / "mine.txt").write_text("keep")
    args = ["evaluate", "--dataset", str(dataset48), "--predictions", "preds", "-o", "rep", *_sets()]
    _one_line_error(runner.invoke(app, args), "rep", "--force")
    assert [p.name for p in (in_tmp / "rep").iterdir()] == ["mine.txt"]


# --------------------------------------------------------------------------- infer


def test_infer_needs_input_or_h5(runner, in_tmp):
    _one_line_error(runner.invoke(app, ["infer", "--output", "out"]), "--input", "--source")


def test_infer_refuses_both_input_and_h5(runner, in_tmp, tiny_h5):
    (in_tmp / "imgs").mkdir()
    result = runner.invoke(app, ["infer", "--input", "imgs", "--h5", str(tiny_h5), "--output", "out"])
    _one_line_error(result, "--input", "--source")


def test_infer_needs_output(runner, in_tmp):
    (in_tmp / "imgs").mkdir()
    _one_line_error(runner.invoke(app, ["infer", "--input", "imgs"]), "--output")


def test_infer_missing_model_file(runner, in_tmp, dataset48):
    args = ["infer", "--input", str(dataset48 / "test" / "images"), "--output", "out", "--model", "gone.keras"]
    _one_line_error(runner.invoke(app, args), "gone.keras")
    assert not (in_tmp / "out").exists()


@pytest.mark.tf
def test_infer_corrupt_model_file(runner, in_tmp, dataset48):
    (in_tmp / "junk.keras").write_bytes(b"not a zip archive")
    args = ["infer", "--input", str(dataset48 / "test" / "images"), "--output", "out", "--model", "junk.keras"]
    _one_line_error(runner.invoke(app, args), "junk.keras", "not a .keras file")


@pytest.mark.tf
def test_infer_missing_input_folder(runner, in_tmp, model_path):
    args = ["infer", "--input", "no_imgs", "--output", "out", "--model", str(model_path)]
    _one_line_error(runner.invoke(app, args), "no_imgs")


def test_infer_bad_config_key(runner, in_tmp):
    _one_line_error(
        runner.invoke(app, ["infer", "--input", "x", "--output", "y", "--set", "infer.batch=2"]), "infer.batch"
    )


@pytest.mark.tf
def test_infer_uses_the_spec_the_model_was_trained_with(runner, in_tmp, model_path, tiny_h5):
    """The default config (another canvas, other windows) changes nothing: stsseg.json beside the
    model says how its inputs were made."""
    args = ["infer", "--h5", str(tiny_h5), "--patients", "STS_001", "--model", str(model_path)]
    assert runner.invoke(app, [*args, "--output", "a"]).exit_code == 0
    assert runner.invoke(app, [*args, "--output", "b", "--set", "prepare.channels=[{modality: pet, window: [0, 1]}]",
                               "--set", "model.image_channels=1"]).exit_code == 0  # fmt: skip
    a, b = h5.read_labels(in_tmp / "a" / "predictions.h5"), h5.read_labels(in_tmp / "b" / "predictions.h5")
    np.testing.assert_array_equal(a["STS_001"], b["STS_001"])


@pytest.mark.tf
def test_infer_volume_unknown_patient(runner, in_tmp, model_path, tiny_h5):
    args = ["infer", "--h5", str(tiny_h5), "--output", "pred", "--model", str(model_path)]
    _one_line_error(runner.invoke(app, [*args, "--patients", "STS_404", *_sets()]), "STS_404")
