"""A ``--force`` replace is durable: a process SIGKILLed between its two renames (old output set
aside, new one not yet in) loses nothing; the next command that writes the output restores the
old one, or, killed after the new one landed, deletes the aside copy. Files and folders."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest
from _kill import hidden, run_and_kill
from _pipeline import cfg48, overrides

from sts_seg.errors import OverwriteError
from sts_seg.io.atomic import clean_leftovers, replace_dir, staged_dir, staged_file
from sts_seg.prepare import prepare

pytest_plugins = ["_pipeline"]

DEAD = 2**22 + 4321  # above Linux's default pid_max: no such process

#: the child's os.rename stalls (and is killed) right after the rename whose target matches
STALL_AFTER = """
import sts_seg.io.atomic as A
_real = os.rename
def _rename(src, dst, *a, **k):
    _real(src, dst, *a, **k)
    if WHEN(Path(src).name, Path(dst).name):
        stall()
os.rename = _rename
"""
ASIDE = "WHEN = lambda src, dst: '.old-' in dst\n"  # the old output is aside, the new one not in
LANDED = "WHEN = lambda src, dst: '.tmp-' in src and '.' + dst == TARGET\n"  # the new one is in


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def _kill_during_replace(tmp_path: Path, when: str, body: str, target: str) -> None:
    run_and_kill(f"TARGET = {'.' + target!r}\n" + when + STALL_AFTER + body, tmp_path / "marker")


def _replace_folder(out: Path) -> str:
    return f"""
with A.staged_dir(Path({str(out)!r}), force=True) as tmp:
    (tmp / "new.txt").write_text("new")
"""


def _old_folder(out: Path) -> dict[str, str]:
    out.mkdir()
    (out / "old.txt").write_text("old")
    (out / "sub").mkdir()
    (out / "sub" / "deep.bin").write_bytes(bytes(range(256)))
    return _digest(out)


def test_a_folder_killed_between_the_renames_is_restored(tmp_path):
    out = tmp_path / "out"
    before = _old_folder(out)
    _kill_during_replace(tmp_path, ASIDE, _replace_folder(out), "out")
    assert not out.exists()  # the old one is aside, the new one never landed
    left = hidden(tmp_path)
    assert len(left) == 2
    assert any(".out.old-" in n for n in left)
    assert any(".out.tmp-" in n for n in left)
    # the next command restores the old output, and without --force refuses to replace it
    with pytest.raises(OverwriteError, match="--force"), staged_dir(out):
        pass
    assert _digest(out) == before
    assert hidden(tmp_path) == []
    with staged_dir(out, force=True) as tmp:
        (tmp / "again.txt").write_text("again")
    assert _digest(out).keys() == {"again.txt"}
    assert hidden(tmp_path) == []


def test_a_folder_killed_after_the_new_one_landed_keeps_the_new_one(tmp_path):
    out = tmp_path / "out"
    _old_folder(out)
    _kill_during_replace(tmp_path, LANDED, _replace_folder(out), "out")
    assert (out / "new.txt").read_text() == "new"
    (aside,) = hidden(tmp_path)
    assert ".out.old-" in aside
    with pytest.raises(OverwriteError), staged_dir(out):  # settles: the replace had completed
        pass
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert hidden(tmp_path) == []


def test_a_file_killed_between_the_renames_is_restored_by_the_next_write(tmp_path):
    out = tmp_path / "model.bin"
    out.write_bytes(b"old bytes")
    body = f"""
new = Path({str(tmp_path / "new.bin")!r})
new.write_bytes(b"new bytes")
A.replace_dir(new, Path({str(out)!r}))
"""
    _kill_during_replace(tmp_path, ASIDE, body, out.name)
    assert not out.exists()
    with staged_file(out) as tmp:  # the next write of that file meets the leftover first
        assert out.read_bytes() == b"old bytes"
        tmp.write_bytes(b"third")
    assert out.read_bytes() == b"third"
    assert hidden(tmp_path) == []


def test_a_staged_file_is_replaced_in_one_rename(tmp_path):
    """``staged_file`` has no in-between: killed at its rename, the old file is whole."""
    out = tmp_path / "state.json"
    out.write_text("old")
    body = f"""
import sts_seg.io.atomic as A
_real = os.replace
def _replace(src, dst):
    stall()
A.os.replace = _replace
with A.staged_file(Path({str(out)!r})) as tmp:
    tmp.write_text("new")
"""
    run_and_kill(body, tmp_path / "marker")
    assert out.read_text() == "old"
    with staged_file(out) as tmp:
        tmp.write_text("new")
    assert out.read_text() == "new"
    assert hidden(tmp_path) == []


def test_prepare_force_killed_between_the_renames_keeps_the_old_dataset(tiny_h5, hand_h5, tmp_path):
    out = tmp_path / "ds"
    prepare(cfg=cfg48(f"data.source={hand_h5}", f"data.dataset={out}"))
    before = _digest(out)
    body = f"""
from sts_seg.config import load_config
from sts_seg.prepare import prepare
cfg = load_config(None, {[*overrides(), f"data.source={tiny_h5}", f"data.dataset={out}"]!r})
prepare(cfg=cfg, force=True)
"""
    _kill_during_replace(tmp_path, ASIDE, body, "ds")
    assert not out.exists()
    with pytest.raises(OverwriteError, match="pass --force"):  # restored, so refused without --force
        prepare(cfg=cfg48(f"data.source={tiny_h5}", f"data.dataset={out}"))
    assert _digest(out) == before
    assert hidden(tmp_path) == []
    res = prepare(cfg=cfg48(f"data.source={tiny_h5}", f"data.dataset={out}"), force=True)
    assert res.output == out
    assert _digest(out) != before
    assert hidden(tmp_path) == []


# --------------------------------------------------------------------------- which aside copy


def test_an_aside_copy_of_a_live_process_is_left_alone(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        aside = tmp_path / f".out.old-{sleeper.pid}-abcd"
        aside.mkdir()
        assert clean_leftovers(tmp_path / "out") == []
        assert aside.is_dir()  # that replace is still running
        assert not (tmp_path / "out").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_aside_copy_under_this_pid_is_a_reused_pid_and_restored(tmp_path):
    """A container restarts with the same pid: an aside copy this process does not hold is stale."""
    (tmp_path / f".out.old-{os.getpid()}-feed").mkdir()
    (tmp_path / f".out.old-{os.getpid()}-feed" / "a.txt").write_text("mine")
    clean_leftovers(tmp_path / "out")
    assert (tmp_path / "out" / "a.txt").read_text() == "mine"
    assert hidden(tmp_path) == []


def test_of_several_aside_copies_the_newest_is_restored(tmp_path):
    for i, name in enumerate((f".out.old-{DEAD}-aaaa", f".out.old-{DEAD + 1}")):  # with and without suffix
        (tmp_path / "stage").mkdir()
        (tmp_path / "stage" / "v.txt").write_text(str(i))
        if i:
            time.sleep(0.02)
        os.rename(tmp_path / "stage", tmp_path / name)
    removed = clean_leftovers(tmp_path / "out")
    assert (tmp_path / "out" / "v.txt").read_text() == "1"
    assert [p.name for p in removed] == [f".out.old-{DEAD}-aaaa"]
    assert hidden(tmp_path) == []


def test_an_aside_copy_beside_a_present_output_is_deleted(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "new.txt").write_text("new")
    (tmp_path / f".out.old-{DEAD}-beef").mkdir()
    clean_leftovers(tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["new.txt"]
    assert hidden(tmp_path) == []


def test_a_replace_that_cannot_rename_the_new_one_in_puts_the_old_one_back(tmp_path, monkeypatch):
    out = tmp_path / "out"
    before = _old_folder(out)
    new = tmp_path / "new"
    new.mkdir()
    real = os.rename

    def failing(src, dst):
        if Path(src) == new:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(OSError, match="No space"):
        replace_dir(new, out)
    monkeypatch.undo()
    assert _digest(out) == before
    assert hidden(tmp_path) == []


def test_a_training_run_set_aside_is_restored_before_the_run_checks(tmp_path):
    from sts_seg.train.rundir import check_run

    (tmp_path / f".run.old-{DEAD}-cafe").mkdir()
    (tmp_path / f".run.old-{DEAD}-cafe" / "best.keras").write_bytes(b"weights")
    with pytest.raises(OverwriteError, match="--force"):
        check_run(tmp_path / "run", force=False, resume=False)
    assert (tmp_path / "run" / "best.keras").read_bytes() == b"weights"
