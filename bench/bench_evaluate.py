"""Evaluate: peak memory for 7 and for 24 test patients (it must not grow with the number of cases:
cases are streamed one at a time), scoring a predictions folder without a model.

The patients are copies of the 7 autoPET phantom patients (hard links under new ids; some have two
studies, so there are a few more cases than patients): every run holds cases of the same sizes.
Two ways in: a prepared PNG split scored against a folder of PNG masks (``--predictions DIR``,
restacked per case), and ``<case>.nii.gz`` volumes scored on the source (``--predictions DIR
--source TREE``). Each run is a fresh process; the figures are the peak of Python and numpy
allocations during ``evaluate`` (tracemalloc) and the process's peak RSS.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_prepare import _copies
from sts_seg.phantom import synth

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import resource, sys, tracemalloc
from pathlib import Path
from sts_seg.config import load_config
from sts_seg.evaluate import evaluate
dataset, source, predictions, out = (Path(a) if a != "-" else None for a in sys.argv[1:5])
values = {"data.dataset": dataset, "data.source": source, "eval.predictions": predictions, "eval.output": out}
cfg = load_config(None, ("eval.overlays=0",), {k: v for k, v in values.items() if v is not None})
tracemalloc.start()
report = evaluate(cfg=cfg)
peak = tracemalloc.get_traced_memory()[1]
print(len(report.cases), peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(dataset: Path | None, source: Path, predictions: Path, out: Path) -> tuple[int, float, float]:
    """``(cases scored, tracemalloc peak MiB, peak RSS MiB)`` of one evaluate in a fresh process."""
    args = [str(p) if p is not None else "-" for p in (dataset, source, predictions, out)]
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"evaluate failed: {done.stderr.strip().splitlines()[-1]}")
    n, peak, rss = done.stdout.split()[-3:]
    return int(n), int(peak) / 2**20, int(rss) / 1024


def _prepared(tree: Path, dataset: Path) -> Path:
    """``tree`` prepared into a PNG dataset whose test split holds every patient but the first two."""
    from sts_seg.config import load_config
    from sts_seg.prepare import prepare

    patients = sorted(p.name for p in tree.iterdir() if p.is_dir())
    sets = (f"split.train=[{patients[0]}]", f"split.valid=[{patients[1]}]", f"split.test=[{','.join(patients[2:])}]")
    prepare(cfg=load_config(None, sets, {"data.source": tree, "data.dataset": dataset}))
    return dataset


def _nifti_predictions(tree: Path, folder: Path) -> Path:
    """Each case's label as its ``<case>.nii.gz`` prediction (hard links), for every case of ``tree``."""
    folder.mkdir()
    for label in sorted(tree.glob("*/*/SEG.nii.gz")):  # <patient>/<study>/SEG.nii.gz: case <patient>_<study>
        (folder / f"{label.parent.parent.name}_{label.parent.name}.nii.gz").hardlink_to(label)
    return folder


def run(quick: bool = False) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synth(output=tmp / "autopet", n_patients=7, seed=0, layout="autopet", spacing=(3.0, 2.0, 2.0))
        for n_cases in (7, 24):
            tree = _copies(tmp / "autopet", n_cases + 2, tmp / f"autopet{n_cases}")  # + a train and a valid patient
            dataset = _prepared(tree, tmp / f"ds{n_cases}")
            n, peak, rss = measure(dataset, tree, dataset / "test" / "masks", tmp / f"eval_png{n_cases}")
            note = f"{n} cases scored; peak RSS {rss:.0f} MiB"
            rows.append({"stage": "evaluate", "case": f"peak, {n_cases} test patients, PNG masks of a split",
                         "value": peak, "unit": "MiB", "note": note})  # fmt: skip
            preds = _nifti_predictions(tree, tmp / f"pred{n_cases}")
            n, peak, rss = measure(None, tree, preds, tmp / f"eval_nii{n_cases}")
            note = f"{n} cases scored; peak RSS {rss:.0f} MiB"
            rows.append({"stage": "evaluate", "case": f"peak, {n_cases + 2} patients, <case>.nii.gz volumes",
                         "value": peak, "unit": "MiB", "note": note})  # fmt: skip
            for p in (tree, dataset, preds):
                shutil.rmtree(p)
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
