"""Wall time of a short 3-fold cv (a 6-patient phantom, demo recipe cut to 2 epochs of 10 steps):
folds one after another in one process, and two at a time as Ray tasks (``--workers 2``).

Each run is a fresh ``stsseg cv`` subprocess, timed end to end (TensorFlow import, Ray start,
prepare, train, predict with and without flips, the out-of-fold report).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = ["train.epochs=2", "train.steps_per_epoch=10", "augment.offline=[]", "cv.folds=3"]


def _cv(source: Path, run: Path, *extra: str) -> float:
    sets = [x for s in SETS for x in ("--set", s)]
    cmd = [sys.executable, "-m", "sts_seg", "cv", str(ROOT / "configs" / "demo.yaml"), "--source", str(source),
           "--run", str(run), *sets, *extra]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - t0


def run(quick: bool = False) -> list[dict]:
    from sts_seg.phantom import synth

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synth(output=tmp / "phantom.h5", n_patients=6, seed=0)
        seq = _cv(tmp / "phantom.h5", tmp / "seq")
        rows.append({"stage": "cv", "case": "3 folds, sequential, in-process", "value": seq, "unit": "s",
                     "note": "6 patients, 2 x 10 steps per fold, 2 TF threads"})  # fmt: skip
        if importlib.util.find_spec("ray") is None:
            rows.append({"stage": "cv", "case": "3 folds, --workers 2 (Ray)", "value": float("nan"), "unit": "s",
                         "note": "ray not installed: pip install 'stsseg[ray]'"})  # fmt: skip
            return rows
        par = _cv(tmp / "phantom.h5", tmp / "ray", "--workers", "2")
        same = json.loads((tmp / "seq/cv/summary.json").read_text())["model"]["dice"]["mean"]
        other = json.loads((tmp / "ray/cv/summary.json").read_text())["model"]["dice"]["mean"]
        rows.append({"stage": "cv", "case": "3 folds, --workers 2 (Ray)", "value": par, "unit": "s",
                     "note": f"x{seq / par:.2f} vs sequential; 1 TF thread per fold; OOF Dice {other:.3f} vs "
                             f"{same:.3f} (threads differ: 1 vs 2)"})  # fmt: skip
    return rows
