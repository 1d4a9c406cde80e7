"""The ``stsseg`` command line for the data stages: help, version, the one-line error contract,
``--set`` overrides, ``STSSEG_DEBUG``, ``synth`` and ``prepare`` overwrite rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from sts_seg import __version__
from sts_seg.cli import app
from sts_seg.config import SplitConfig
from sts_seg.core.split import split_patients
from sts_seg.errors import DataError, StsSegError
from sts_seg.io.h5 import list_patients

SMALL = ["--set", "model.image_size=32", "--set", "model.num_layers=3"]
ROOT = Path(__file__).resolve().parents[1]


def _one_line_error(result, *names: str) -> str:
    """Exit 1, exactly one line on stderr naming ``names``, no traceback anywhere."""
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert err.endswith("\n"), err
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
    for name in names:
        assert name in err
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return err


# --------------------------------------------------------------------------- help / version


def test_help_lists_the_data_commands(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("synth", "prepare", "augment"):
        assert cmd in result.stdout


@pytest.mark.parametrize("cmd", ["synth", "prepare", "augment"])
def test_subcommand_help(runner, cmd):
    result = runner.invoke(app, [cmd, "--help"])
    assert result.exit_code == 0
    assert "--force" in result.stdout


def test_prepare_help_shows_config_set_and_h5(runner):
    out = runner.invoke(app, ["prepare", "--help"]).stdout
    assert "config" in out.lower()
    for opt in ("--set", "--h5", "--output"):
        assert opt in out


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"stsseg {__version__}"


def test_importing_the_cli_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from sts_seg.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- error contract


def test_prepare_missing_h5_is_one_line_exit_1(runner, in_tmp):
    result = runner.invoke(app, ["prepare", "--h5", "missing.h5"])
    _one_line_error(result, "missing.h5")
    assert list(in_tmp.iterdir()) == []  # nothing written, not even data/sts


def test_prepare_without_h5_names_the_fix(runner, in_tmp):
    result = runner.invoke(app, ["prepare"])
    _one_line_error(result, "--source", "data.source")


def test_bad_config_key_in_file(runner, in_tmp, hand_h5):
    cfg = in_tmp / "bad.yaml"
    cfg.write_text("model:\n  imagesize: 64\n")
    result = runner.invoke(app, ["prepare", str(cfg), "--h5", str(hand_h5), "-o", "ds"])
    _one_line_error(result, "model.imagesize", "bad.yaml", "(got 64)")
    assert not (in_tmp / "ds").exists()


def test_bad_config_key_in_set(runner, in_tmp, hand_h5):
    result = runner.invoke(app, ["prepare", "--h5", str(hand_h5), "-o", "ds", "--set", "split.sed=5"])
    _one_line_error(result, "split.sed", "--set")
    assert not (in_tmp / "ds").exists()


def test_bad_set_syntax(runner, in_tmp, hand_h5):
    result = runner.invoke(app, ["prepare", "--h5", str(hand_h5), "-o", "ds", "--set", "split.seed"])
    _one_line_error(result, "--set", "split.seed")


def test_missing_config_file(runner, in_tmp, hand_h5):
    result = runner.invoke(app, ["prepare", "nope.yaml", "--h5", str(hand_h5), "-o", "ds"])
    _one_line_error(result, "nope.yaml")


def test_corrupt_h5_names_the_file(runner, in_tmp):
    (in_tmp / "junk.h5").write_text("not an hdf5 file")
    result = runner.invoke(app, ["prepare", "--h5", "junk.h5", "-o", "ds"])
    _one_line_error(result, "junk.h5")
    assert sorted(p.name for p in in_tmp.iterdir()) == ["junk.h5"]


def test_invalid_h5_names_the_patient(runner, in_tmp):
    with h5py.File(in_tmp / "bad.h5", "w") as f:
        for g in ("ct_data", "pet_data", "label_data"):
            for pid in ("STS_002", "STS_003", "STS_004"):
                f.create_group(g) if g not in f else None
                f[g].create_dataset(pid, data=np.zeros((3, 8, 8), np.float32))
        f["ct_data"]["STS_004"][0, 0, 0] = np.nan
    result = runner.invoke(app, ["prepare", "--h5", "bad.h5", "-o", "ds"])
    _one_line_error(result, "ct_data/STS_004")
    assert not (in_tmp / "ds").exists()


def test_debug_env_lets_the_exception_propagate(runner, in_tmp):
    result = runner.invoke(app, ["prepare", "--h5", "missing.h5"], env={"STSSEG_DEBUG": "1"})
    assert result.exit_code != 0
    assert isinstance(result.exception, DataError)
    assert isinstance(result.exception, StsSegError)
    assert "missing.h5" in str(result.exception)


def test_debug_env_prints_a_traceback_in_a_real_process(tmp_path):
    cmd = [sys.executable, "-m", "sts_seg", "prepare", "--h5", "missing.h5", "-o", "ds"]
    env = {k: v for k, v in os.environ.items() if k != "STSSEG_DEBUG"}
    plain = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert plain.returncode == 1
    assert plain.stderr.count("\n") == 1
    assert "missing.h5" in plain.stderr
    assert "Traceback" not in plain.stderr + plain.stdout
    debug = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**env, "STSSEG_DEBUG": "1"},
    )  # fmt: skip
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr
    assert "DataError" in debug.stderr


# --------------------------------------------------------------------------- prepare


def _split(patients: list[str], cfg: SplitConfig) -> dict:
    """What the library splits for ``cfg`` (the CLI must pass the config through unchanged)."""
    return split_patients(patients, seed=cfg.seed, fractions=cfg.fractions, explicit=cfg.explicit)


def _different_seed(patients: list[str]) -> tuple[int, dict]:
    default = _split(patients, SplitConfig())
    for seed in range(100):
        other = _split(patients, SplitConfig(seed=seed))
        if other != default:
            return seed, other
    raise AssertionError("no seed changes the split")


def test_prepare_writes_the_dataset(runner, in_tmp, hand_h5):
    result = runner.invoke(app, ["prepare", "--h5", str(hand_h5), "-o", "ds", *SMALL])
    assert result.exit_code == 0, result.output
    for name in ("manifest.csv", "split.json", "fingerprint.json"):
        assert (in_tmp / "ds" / name).is_file()
    split = json.loads((in_tmp / "ds" / "split.json").read_text())
    assert {s: split[s] for s in ("train", "valid", "test")} == _split(list_patients(hand_h5), SplitConfig())
    assert "Traceback" not in result.output


def test_set_override_changes_the_split(runner, in_tmp, hand_h5):
    seed, expected = _different_seed(list_patients(hand_h5))
    result = runner.invoke(app, ["prepare", "--h5", str(hand_h5), "-o", "ds", *SMALL, "--set", f"split.seed={seed}"])
    assert result.exit_code == 0, result.output
    split = json.loads((in_tmp / "ds" / "split.json").read_text())
    assert {s: split[s] for s in ("train", "valid", "test")} == expected
    for s, pids in expected.items():
        names = {p.name for p in (in_tmp / "ds" / s / "images").iterdir()}
        assert {n.rsplit("_", 1)[0] for n in names} == set(pids)


def test_config_file_and_set_combine(runner, in_tmp, hand_h5):
    cfg = in_tmp / "c.yaml"
    cfg.write_text("model:\n  image_size: 64\n  num_layers: 3\nprepare:\n  geometry: resize\n")
    result = runner.invoke(app, ["prepare", str(cfg), "--h5", str(hand_h5), "-o", "ds", "--set", "model.image_size=32"])
    assert result.exit_code == 0, result.output
    fp = json.loads((in_tmp / "ds" / "fingerprint.json").read_text())
    assert (fp["canvas"], fp["geometry"]) == (32, "resize")


def test_prepare_refuses_a_non_empty_output_without_force(runner, in_tmp, hand_h5):
    out = in_tmp / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result = runner.invoke(app, ["prepare", "--h5", str(hand_h5), "-o", "ds", *SMALL])
    _one_line_error(result, "ds", "--force")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "precious"

    result = runner.invoke(app, ["prepare", "--h5", str(hand_h5), "-o", "ds", "--force", *SMALL])
    assert result.exit_code == 0, result.output
    assert not (out / "keep.txt").exists()
    assert (out / "manifest.csv").is_file()
    assert sorted(p.name for p in in_tmp.iterdir()) == ["ds"]  # no temp dirs left


def test_prepare_uses_data_h5_and_dataset_from_the_config(runner, in_tmp, hand_h5):
    result = runner.invoke(app, ["prepare", "--set", f"data.source={hand_h5}", *SMALL])
    assert result.exit_code == 0, result.output
    assert (in_tmp / "data" / "sts" / "manifest.csv").is_file()


# --------------------------------------------------------------------------- synth


def test_synth_writes_the_file_and_refuses_to_overwrite(runner, in_tmp):
    out = in_tmp / "phantom.h5"
    result = runner.invoke(app, ["synth", "--output", str(out), "--patients", "1", "--seed", "2"])
    assert result.exit_code == 0, result.output
    with h5py.File(out, "r") as f:
        assert set(f.keys()) == {"ct_data", "pet_data", "label_data"}
        assert list(f["ct_data"].keys()) == ["STS_001"]
        assert f["ct_data"]["STS_001"].dtype == np.int16
        assert f["pet_data"]["STS_001"].dtype == np.float32
        assert f["label_data"]["STS_001"].dtype == np.uint8
    before = out.read_bytes()

    result = runner.invoke(app, ["synth", "--output", str(out), "--patients", "1", "--seed", "3"])
    _one_line_error(result, "phantom.h5", "--force")
    assert out.read_bytes() == before

    result = runner.invoke(app, ["synth", "--output", str(out), "--patients", "1", "--seed", "3", "--force"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() != before
    assert sorted(p.name for p in in_tmp.iterdir()) == ["phantom.h5"]  # no temp files


def test_synth_refuses_an_existing_file_without_force(runner, in_tmp):
    out = in_tmp / "existing.h5"
    out.write_text("keep me")
    result = runner.invoke(app, ["synth", "--output", str(out), "--patients", "1"])
    _one_line_error(result, "existing.h5", "--force")
    assert out.read_text() == "keep me"


# --------------------------------------------------------------------------- augment


def test_augment_writes_the_batch_and_reports_it(runner, in_tmp, hand_h5):
    assert runner.invoke(app, ["prepare", "--h5", str(hand_h5), "-o", "ds", *SMALL]).exit_code == 0
    train_before = sorted(p.name for p in (in_tmp / "ds" / "train" / "images").iterdir())
    cfg = in_tmp / "aug.yaml"
    cfg.write_text("augment:\n  offline:\n    - {name: hflip}\n    - {name: rotate, angles: [90, 180]}\n")
    result = runner.invoke(app, ["augment", str(cfg), "--dataset", "ds"])
    assert result.exit_code == 0, result.output
    n = len(train_before)
    assert f"{n} source pairs -> {3 * n} augmented pairs" in result.stdout
    assert "train/, valid/ and test/ are untouched" in result.stdout
    out = sorted(p.name for p in (in_tmp / "ds" / "augmented" / "images").iterdir())
    assert out == sorted(f"{t}{name}" for t in ("hflipped_", "rotated_90_", "rotated_180_") for name in train_before)
    assert sorted(p.name for p in (in_tmp / "ds" / "train" / "images").iterdir()) == train_before
    before = {p.name: p.read_bytes() for p in (in_tmp / "ds" / "augmented" / "images").iterdir()}
    rerun = runner.invoke(app, ["augment", str(cfg), "--dataset", "ds"])
    _one_line_error(rerun, "augmented", "--force")  # an earlier batch is kept without --force
    assert {p.name: p.read_bytes() for p in (in_tmp / "ds" / "augmented" / "images").iterdir()} == before
    rerun = runner.invoke(app, ["augment", str(cfg), "--dataset", "ds", "--force"])
    assert rerun.exit_code == 0, rerun.output


def test_augment_without_ops_says_how_to_configure_them(runner, in_tmp, hand_h5):
    assert runner.invoke(app, ["prepare", "--h5", str(hand_h5), "-o", "ds", *SMALL]).exit_code == 0
    result = runner.invoke(app, ["augment", "--dataset", "ds"])
    assert result.exit_code == 1
    assert "augment.offline" in result.stderr
    assert not (in_tmp / "ds" / "augmented").exists()
