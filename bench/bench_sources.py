"""Sources: prepare throughput (cases/s, s per case) on the real IBSI STS set, read as NIfTI case
folders (``configs/sts_ibsi.yaml``) and as DICOM studies (series + RTSTRUCT, SUV from the header),
on the PET grid and on the CT grid. Skipped where ``../shared/data/sts_ibsi`` (or ``$STSSEG_IBSI``)
is absent.

The 6 DICOM patients are also prepared from their NIfTI files, so the two rows compare the same
cases: the difference is the cost of reading DICOM (one file per slice, rasterising the contours).
The dataset is written to the temporary folder's disk, 2 threads, best of ``reps`` runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sts_seg.config import load_config
from sts_seg.prepare import prepare

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("STSSEG_IBSI", ROOT.parent / "shared" / "data" / "sts_ibsi"))
NO_SPLIT = ["split.train=null", "split.valid=null", "split.test=null"]
MASK = {"pet": "PET_mask.nii.gz", "ct": "CT_mask.nii.gz"}


def _best(cfg, source: Path, where: Path, reps: int) -> tuple[float, int, int]:
    """Best of ``reps`` prepare runs: (seconds, cases, slices)."""
    best, cases, slices = float("inf"), 0, 0
    for i in range(reps):
        out = where / f"stsseg_bench_sources_{os.getpid()}_{i}"
        t0 = time.perf_counter()
        res = prepare(cfg=cfg.updated({"data.source": source, "data.dataset": out}))
        best = min(best, time.perf_counter() - t0)
        cases, slices = len(res.cases), sum(res.slices.values())
        shutil.rmtree(out)
    return best, cases, slices


def _row(what: str, seconds: float, cases: int, slices: int) -> dict:
    return {"stage": "sources", "case": what, "value": cases / seconds, "unit": "cases/s",
            "note": f"{seconds / cases:.2f} s per case; {cases} cases, {slices} slices in {seconds:.1f} s"}  # fmt: skip


def _subset(dest: Path, patients: list[str], names: tuple[str, ...]) -> Path:
    for p in patients:
        (dest / p).mkdir(parents=True)
        for n in names:
            (dest / p / n).symlink_to(DATA / "nifti" / p / n)
    return dest


def run(quick: bool = False) -> list[dict]:
    if not (DATA / "nifti").is_dir():
        print(f"[bench] sources: skipped, the IBSI STS data is not at {DATA} (set STSSEG_IBSI)", file=sys.stderr)
        return []
    reps = 1 if quick else 2
    config = ROOT / "configs" / "sts_ibsi.yaml"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = load_config(config)
        rows.append(_row("IBSI NIfTI folders, 24 patients, PET grid", *_best(cfg, DATA / "nifti", tmp, reps)))
        dicom = DATA / "dicom"
        try:
            import pydicom  # noqa: F401
        except ImportError:
            print("[bench] sources: DICOM rows skipped, pydicom is not installed", file=sys.stderr)
            return rows
        if not dicom.is_dir():
            return rows
        patients = sorted(p.name for p in dicom.iterdir() if p.is_dir())
        for ref in ("pet", "ct"):
            names = ("CT_image.nii.gz", "PET_image.nii.gz", MASK[ref])
            tree = _subset(tmp / f"nifti_{ref}", patients, names)
            files = f"data.files={{ct: {names[0]}, pet: {names[1]}, label: {names[2]}}}"
            nifti_cfg = load_config(config, [*NO_SPLIT, f"data.reference={ref}", files])
            dicom_cfg = load_config(config, [*NO_SPLIT, f"data.reference={ref}", "data.layout=dicom"])
            what = f"{len(patients)} patients, {ref.upper()} grid"
            rows.append(_row(f"IBSI NIfTI folders, {what}", *_best(nifti_cfg, tree, tmp, reps)))
            rows.append(_row(f"IBSI DICOM + RTSTRUCT, {what}", *_best(dicom_cfg, dicom, tmp, reps)))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
