"""Prepare: phantom synthesis time, throughput (slices/s) from the Kaggle HDF5 and from autoPET
NIfTI cases (resampled to 4 mm in-plane), and peak memory for 10 and 40 cases (it must not grow
with the number of cases: cases are streamed).

Throughput is measured with the dataset written to memory (``/dev/shm``, where there is one: the
work of prepare) and to the temporary folder's disk (what a user sees; on a virtual disk, creating
the two files of a slice can cost more than making them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sts_seg.config import load_config
from sts_seg.phantom import synth
from sts_seg.prepare import prepare

ROOT = Path(__file__).resolve().parents[1]

_RSS = """
import resource, sys
from pathlib import Path
from sts_seg.config import load_config
from sts_seg.prepare import prepare
cfg = load_config(Path(sys.argv[1]), values={"data.source": Path(sys.argv[2]), "data.dataset": Path(sys.argv[3])})
res = prepare(cfg=cfg)
print(sum(res.slices.values()), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


SHM = Path("/dev/shm")


def _throughput(cfg, source: Path, where: Path, reps: int, workers: int = 2) -> tuple[float, int, float]:
    """Best of ``reps`` prepare runs writing under ``where``: (slices/s, slices, seconds)."""
    best, n = float("inf"), 0
    for i in range(reps):
        out = where / f"stsseg_bench_{os.getpid()}_{source.name}_{workers}_{i}"
        t0 = time.perf_counter()
        res = prepare(cfg=cfg.updated({"data.source": source, "data.dataset": out, "prepare.workers": workers}))
        best = min(best, time.perf_counter() - t0)
        n = sum(res.slices.values())
        shutil.rmtree(out)
    return n / best, n, best


def _copies(tree: Path, n: int, dest: Path) -> Path:
    """An autoPET tree of ``n`` cases made of hard links to ``tree``'s cases, under new patient ids."""
    patients = sorted(p for p in tree.iterdir() if p.is_dir())
    for k in range(n):
        src = patients[k % len(patients)]
        for f in src.rglob("*.nii.gz"):
            target = dest / f"{src.name}x{k:03d}" / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(f, target)
    return dest


def _peak_rss(config: Path, source: Path, out: Path) -> tuple[int, float]:
    """(slices, peak RSS in MiB) of one prepare in a fresh process."""
    res = subprocess.run([sys.executable, "-c", _RSS, str(config), str(source), str(out)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    slices, kib = res.stdout.split()[-2:]
    return int(slices), int(kib) / 1024


def run(quick: bool = False) -> list[dict]:
    config = ROOT / "configs" / "demo.yaml"
    cfg = load_config(config)
    reps = 1 if quick else 3
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        shapes = synth(output=tmp / "phantom.h5", n_patients=7, seed=0)
        voxels = sum(z * y * x for z, y, x in shapes.values()) / 1e6
        rows.append({"stage": "synth", "case": "7-patient phantom, Kaggle HDF5", "value": time.perf_counter() - t0,
                     "unit": "s", "note": f"{voxels:.1f} M voxels"})  # fmt: skip
        t0 = time.perf_counter()
        shapes = synth(output=tmp / "autopet", n_patients=7, seed=0, layout="autopet")
        voxels = sum(z * y * x for z, y, x in shapes.values()) / 1e6
        rows.append({"stage": "synth", "case": "7 cases, autoPET NIfTI, 3x2x2 mm", "value": time.perf_counter() - t0,
                     "unit": "s", "note": f"{voxels:.0f} M voxels"})  # fmt: skip
        targets = [("memory", SHM)] if SHM.is_dir() and os.access(SHM, os.W_OK) else []
        for label, where in [*targets, ("disk", tmp)]:
            for workers in (1, 2):
                rate, n, dt = _throughput(cfg, tmp / "phantom.h5", where, reps, workers)
                rows.append({"stage": "prepare", "case": f"Kaggle HDF5 -> 112 px PNG, {workers} thread(s), to {label}",
                             "value": rate, "unit": "slices/s", "note": f"{n} slices in {dt:.2f} s"})  # fmt: skip
            rate, n, dt = _throughput(cfg, tmp / "autopet", where, max(1, reps - 1))
            rows.append({"stage": "prepare", "case": f"autoPET NIfTI 3x2x2 -> 3x4x4 mm, 2 threads, to {label}",
                         "value": rate, "unit": "slices/s",
                         "note": f"{n} slices in {dt:.2f} s (gunzip, resample)"})  # fmt: skip
        for n_cases in (10, 40):
            tree = _copies(tmp / "autopet", n_cases, tmp / f"autopet{n_cases}")
            slices, mib = _peak_rss(config, tree, tmp / f"rss{n_cases}")
            rows.append({"stage": "prepare", "case": f"peak RSS, {n_cases} autoPET cases", "value": mib,
                         "unit": "MiB", "note": f"{slices} slices; one process, 2 cases in flight"})  # fmt: skip
            shutil.rmtree(tree)
            shutil.rmtree(tmp / f"rss{n_cases}")
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
