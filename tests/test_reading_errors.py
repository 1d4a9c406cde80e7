"""``reading()`` maps a bad file to one DataError line and nothing else: a bug in stsseg (a
TypeError, an AttributeError, a KeyError of its own dicts ...) surfaces as a bug, one
"internal error, please report" line with exit 70, and its traceback with ``STSSEG_DEBUG=1``."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from sts_seg.cli import app
from sts_seg.cli.common import INTERNAL_ERROR
from sts_seg.errors import DataError
from sts_seg.io import nifti, png
from sts_seg.io.h5 import write_kaggle_h5
from sts_seg.io.reading import READ_ERRORS, read_json, reading

ROOT = Path(__file__).resolve().parents[1]


def _h5(path: Path) -> Path:
    label = np.zeros((4, 24, 24), np.uint8)
    label[1:3, 8:12, 8:12] = 1
    vols = {
        f"P{i}": (np.full((4, 24, 24), 40, np.int16), np.full((4, 24, 24), 1.0, np.float32), label) for i in range(3)
    }
    write_kaggle_h5(path, vols)
    return path


# --------------------------------------------------------------------------- bad files: DataError


def test_bad_files_of_each_library_are_data_errors(tmp_path):
    (tmp_path / "a.json").write_text('{"train": [1, 2,]}')
    (tmp_path / "b.json").write_bytes(b"\xff\xfe not utf-8")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)  # RecursionError in json
    (tmp_path / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (tmp_path / "d.nii.gz").write_bytes(gzip.compress(b"\x00" * 100)[:-6])  # truncated gzip
    (tmp_path / "e.nii").write_bytes(b"\x01" * 200)
    cases = [
        (lambda: read_json(tmp_path / "a.json"), "a.json", "JSONDecodeError"),
        (lambda: read_json(tmp_path / "b.json"), "b.json", "UnicodeDecodeError"),
        (lambda: read_json(tmp_path / "deep.json"), "deep.json", "RecursionError"),
        (lambda: png.read_image(tmp_path / "c.png"), "c.png", "cannot read image"),
        (lambda: nifti.load(tmp_path / "d.nii.gz", voxels=True), "d.nii.gz", "cannot read"),
        (lambda: nifti.load(tmp_path / "e.nii"), "e.nii", "cannot read"),
    ]
    for fn, name, text in cases:
        with pytest.raises(DataError, match=text) as info:
            fn()
        assert name in str(info.value)
        assert "\n" not in str(info.value)


def test_an_h5py_lookup_error_is_a_data_error_and_a_keyerror_of_our_own_is_not(tmp_path):
    path = _h5(tmp_path / "x.h5")
    with h5py.File(path, "r") as f:
        with pytest.raises(DataError, match=r"x\.h5: cannot read .*KeyError"), reading(path, "the HDF5 layout"):
            f["ct_data"]["nobody"]  # raised inside h5py
        with pytest.raises(KeyError, match="spacing"), reading(path, "the HDF5 layout"):
            {"ct": 1}["spacing"]  # a dict lookup in our code: a bug


@pytest.mark.parametrize("bug", [TypeError("bad operand"), AttributeError("no .shape"), IndexError("index 3"),
                                 NameError("name 'x' is not defined"), AssertionError("oops")])  # fmt: skip
def test_bugs_pass_through_reading_unchanged(tmp_path, bug):
    with pytest.raises(type(bug)) as info, reading(tmp_path / "f", "file"):
        raise bug
    assert info.value is bug


def test_a_call_site_can_name_its_own_read_errors(tmp_path):
    history = tmp_path / "f.csv"
    widened = reading(history, "history", errors=(*READ_ERRORS, KeyError))
    with pytest.raises(DataError, match=r"f\.csv: cannot read history \(KeyError"), widened:
        {}["epoch"]
    with pytest.raises(PermissionError, match="denied"), reading(history, "history", errors=(KeyError,)):
        raise PermissionError(13, "denied")


def test_a_history_row_with_extra_cells_is_a_data_error(tmp_path):
    """``read_history`` names TypeError as a read error: csv gives the extra cells as a list."""
    from sts_seg.train.plots import read_history

    (tmp_path / "history.csv").write_text("epoch,loss\n0,0.5\n1,0.4,9\n")
    with pytest.raises(DataError, match=r"history\.csv: cannot read training history \(TypeError"):
        read_history(tmp_path / "history.csv")
    (tmp_path / "history.csv").write_text("epoch,loss\n0,0.5\n1,0.4\n")
    assert read_history(tmp_path / "history.csv") == [{"epoch": 0.0, "loss": 0.5}, {"epoch": 1.0, "loss": 0.4}]


# --------------------------------------------------------------------------- the command line


def test_a_corrupt_hdf5_is_still_one_data_error_line(runner, in_tmp):
    raw = _h5(in_tmp / "good.h5").read_bytes()
    (in_tmp / "bad.h5").write_bytes(raw[: len(raw) // 3])  # the signature stays, the rest is cut
    res = runner.invoke(app, ["prepare", "--h5", "bad.h5", "-o", "ds"])
    assert res.exit_code == 1, res.output
    assert res.stderr.startswith("error: bad.h5"), res.stderr
    assert res.stderr.count("\n") == 1
    assert "internal error" not in res.stderr
    assert "Traceback" not in res.output
    assert not (in_tmp / "ds").exists()


INJECT = """
import h5py
def broken(*args, **kwargs):
    raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")
h5py.File = broken  # a bug in the code that opens the file, not a bad file
from sts_seg.cli import main
main()
"""


def test_an_injected_bug_is_an_internal_error_not_a_bad_file(runner, in_tmp, monkeypatch):
    _h5(in_tmp / "good.h5")

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("unsupported operand")

    monkeypatch.setattr(h5py, "File", broken)
    res = runner.invoke(app, ["prepare", "--h5", "good.h5", "-o", "ds"])
    assert res.exit_code == INTERNAL_ERROR == 70
    assert res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("error: internal error (TypeError: unsupported operand)")
    assert "please report" in res.stderr
    assert "STSSEG_DEBUG=1 shows the traceback" in res.stderr
    assert "cannot read" not in res.stderr
    assert "Traceback" not in res.output
    debug = runner.invoke(app, ["prepare", "--h5", "good.h5", "-o", "ds"], env={"STSSEG_DEBUG": "1"})
    assert isinstance(debug.exception, TypeError)  # re-raised as itself, not wrapped


def test_an_injected_bug_in_a_real_process_prints_the_traceback_only_with_debug(tmp_path):
    _h5(tmp_path / "good.h5")
    cmd = [sys.executable, "-c", INJECT, "prepare", "--h5", "good.h5", "-o", "ds"]
    env = {k: v for k, v in os.environ.items() if k != "STSSEG_DEBUG"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    plain = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert plain.returncode == 70, plain.stderr
    assert plain.stderr.count("\n") == 1
    assert "internal error (TypeError" in plain.stderr
    assert "Traceback" not in plain.stderr + plain.stdout
    debug = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                           env={**env, "STSSEG_DEBUG": "1"})  # fmt: skip
    assert debug.returncode == 1  # Python's own exit code for an uncaught exception
    assert "Traceback" in debug.stderr
    assert "TypeError: unsupported operand" in debug.stderr
    assert "internal error" not in debug.stderr
