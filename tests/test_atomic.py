"""All-or-nothing outputs, checked by killing real processes part-way: the final path is absent
(or unchanged), and the next run removes what the killed one left and succeeds."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from pathlib import Path

import pytest
from _kill import hidden, run_and_kill
from _pipeline import cfg48, copy_tree, overrides

from sts_seg.augment.offline import augment
from sts_seg.errors import DataError, OverwriteError
from sts_seg.io.atomic import clean_leftovers, leftovers, staged_dir, staged_file
from sts_seg.prepare import prepare

pytest_plugins = ["_pipeline"]


def _sets(*extra: str) -> str:
    return repr([*overrides(), *extra])


def _digest(folder: Path) -> dict[str, str]:
    """Content of every file below ``folder``, temporary (hidden) folders left out."""
    files = (p for p in folder.rglob("*") if p.is_file() and not p.relative_to(folder).parts[0].startswith("."))
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


# --------------------------------------------------------------------------- the mechanism


def test_a_failure_inside_a_staged_dir_leaves_nothing(tmp_path):
    def write_and_fail() -> None:
        with staged_dir(tmp_path / "out") as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_and_fail()
    assert list(tmp_path.iterdir()) == []


def test_leftovers_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    (tmp_path / f".out.tmp-{dead}-abc").mkdir()
    (tmp_path / f".out.old-{dead}").mkdir()
    (tmp_path / f".out.tmp-{os.getpid()}-mine").mkdir()  # this process: alive
    (tmp_path / f".other.tmp-{dead}-x").mkdir()  # another output's
    assert [p.name for p in leftovers(tmp_path / "out")] == [f".out.old-{dead}", f".out.tmp-{dead}-abc"]
    clean_leftovers(tmp_path / "out")
    assert hidden(tmp_path) == [f".other.tmp-{dead}-x", f".out.tmp-{os.getpid()}-mine"]
    with staged_file(tmp_path / "other") as tmp:
        tmp.write_text("done")
    assert hidden(tmp_path) == [f".out.tmp-{os.getpid()}-mine"]
    assert (tmp_path / "other").read_text() == "done"


def test_an_existing_output_without_force_stays_byte_identical(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(OverwriteError, match="--force"), staged_dir(tmp_path / "out"):
        pass
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_a_path_under_a_plain_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(DataError, match="is a file, not a folder"), staged_dir(tmp_path / "f" / "sub" / "out"):
        pass


# --------------------------------------------------------------------------- killed stages


def test_prepare_killed_part_way(tiny_h5, tmp_path):
    out = tmp_path / "ds"
    body = f"""
from sts_seg.config import load_config
from sts_seg.prepare import prepare
cfg = load_config(None, {_sets(f"data.source={tiny_h5}", f"data.dataset={out}")})
prepare(cfg=cfg, progress=lambda d, t, label: None if label.startswith("checking") else stall())
"""
    run_and_kill(body, tmp_path / "marker")
    assert not out.exists()
    assert len(hidden(tmp_path)) == 1  # the killed run's temporary folder
    res = prepare(cfg=cfg48(f"data.source={tiny_h5}", f"data.dataset={out}"))
    assert res.output == out
    assert hidden(tmp_path) == []


def test_prepare_terminated_cleans_up_at_once(tiny_h5, tmp_path):
    out = tmp_path / "ds"
    body = f"""
from sts_seg.cli import main
sys.argv = ["stsseg", "prepare", "--h5", "{tiny_h5}", "-o", "{out}", *sum((["--set", o] for o in {_sets()}), [])]
import sts_seg.prepare as P
real = P.write_manifest
def slow(*a, **k):
    stall()
    return real(*a, **k)
P.write_manifest = slow  # every case is written: terminated just before the dataset is complete
main()
"""
    rc = run_and_kill(body, tmp_path / "marker", sig=signal.SIGTERM)
    assert rc == 128 + signal.SIGTERM
    assert not out.exists()
    assert hidden(tmp_path) == []


def test_augment_killed_part_way_leaves_the_dataset_as_it_was(dataset48, tmp_path):
    ds = copy_tree(dataset48, tmp_path / "ds")
    before = _digest(ds)
    ops = "[{'name': 'hflip'}, {'name': 'rotate', 'angles': [90]}]"
    body = f"""
from sts_seg.augment.offline import augment
from sts_seg.config import load_config
cfg = load_config(None, values={{"data.dataset": "{ds}", "augment.offline": {ops}}})
augment(cfg=cfg, progress=lambda d, t, label: stall() if d == 5 else None)
"""
    run_and_kill(body, tmp_path / "marker")
    assert _digest(ds) == before  # no augmented/ folder, nothing in train/ touched (temporary folders aside)
    assert len(hidden(ds)) == 1
    cfg = cfg48().updated({"data.dataset": ds, "augment.offline": [{"name": "hflip"}]})
    res = augment(cfg=cfg)
    assert res.outputs > 0
    assert hidden(ds) == []
    assert (ds / "augmented" / "augment_manifest.csv").is_file()


@pytest.mark.tf
def test_train_killed_part_way_is_resumed_or_replaced(dataset48, tmp_path):
    from sts_seg.train.run import train

    run = tmp_path / "run"
    body = f"""
import keras
from sts_seg.config import load_config
from sts_seg.train.run import train
class Stall(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            stall()
cfg = load_config(None, {_sets("train.epochs=2", f"data.dataset={dataset48}", f"train.run_dir={run}")})
train(cfg=cfg, callbacks=[Stall()])
"""
    run_and_kill(body, tmp_path / "marker")
    partial = tmp_path / ".run.partial"
    assert not run.exists()
    assert (partial / "last.keras").is_file()
    cfg = cfg48("train.epochs=2", f"data.dataset={dataset48}", f"train.run_dir={run}")
    res = train(cfg=cfg, resume=True)
    assert res.notes[0].startswith("resuming the interrupted run")
    assert res.epochs_run == 2
    assert hidden(tmp_path) == []
    shutil.copytree(run, partial)  # as if another run had been killed
    (partial / "owner.json").write_text('{"pid": 4206942}')
    res = train(cfg=cfg, force=True)
    assert any("left by an interrupted run" in n for n in res.notes)
    assert hidden(tmp_path) == []


@pytest.mark.tf
def test_infer_volumes_killed_part_way(tiny_h5, model_path, tmp_path):
    out = tmp_path / "pred"
    body = f"""
from sts_seg.config import load_config
from sts_seg.infer import infer
cfg = load_config(None, {_sets(f"data.source={tiny_h5}", f"infer.output={out}", f"infer.model={model_path}")})
infer(cfg=cfg, progress=lambda d, t, label: stall() if d == 2 else None)
"""
    run_and_kill(body, tmp_path / "marker")
    assert not out.exists()
    assert len(hidden(tmp_path)) == 1
