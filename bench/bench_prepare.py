"""Prepare throughput (slices/s) on the demo phantom, and phantom synthesis time."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sts_seg.config import load_config
from sts_seg.phantom import synth
from sts_seg.prepare import prepare

ROOT = Path(__file__).resolve().parents[1]


def run(quick: bool = False) -> list[dict]:
    cfg = load_config(ROOT / "configs" / "demo.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        h5 = Path(tmp) / "phantom.h5"
        t0 = time.perf_counter()
        shapes = synth(output=h5, n_patients=7, seed=0)
        t_synth = time.perf_counter() - t0
        best, n = float("inf"), 0
        for i in range(1 if quick else 3):
            t0 = time.perf_counter()
            res = prepare(cfg=cfg.updated({"data.source": h5, "data.dataset": Path(tmp) / f"ds{i}"}))
            best = min(best, time.perf_counter() - t0)
            n = sum(res.slices.values())
    voxels = sum(z * y * x for z, y, x in shapes.values())
    return [
        {
            "stage": "synth",
            "case": "7-patient phantom",
            "value": t_synth,
            "unit": "s",
            "note": f"{voxels / 1e6:.1f} M voxels",
        },
        {
            "stage": "prepare",
            "case": f"demo phantom -> {res.canvas.side} px PNG",
            "value": n / best,
            "unit": "slices/s",
            "note": f"{n} slices in {best:.1f} s (validate + split + write)",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
