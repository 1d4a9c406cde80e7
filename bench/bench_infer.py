"""Inference speed: folder of 128 px slices (slices/s) and whole phantom volumes (s/patient).

Random weights: speed does not depend on them. Batched, compiled prediction (sts_seg.infer.predictor).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]


def run(quick: bool = False) -> list[dict]:
    from sts_seg.config import load_config
    from sts_seg.infer.folder import infer_folder
    from sts_seg.infer.keras_net import KerasNetwork
    from sts_seg.infer.predictor import Predictor
    from sts_seg.infer.volumes import VolumeSettings, infer_source
    from sts_seg.io import png
    from sts_seg.model import build_model
    from sts_seg.phantom import synth
    from sts_seg.sources import open_source

    s = 112  # the canvas prepare chooses for the phantom (its largest slice, 110 px, rounded up)
    cfg = load_config(ROOT / "configs" / "sts.yaml", [f"model.image_size={s}"])
    spec = cfg.slice_spec(s)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_path = tmp / "m.keras"
        build_model(cfg.model).save(model_path)
        net = KerasNetwork.from_path(model_path)
        predictor = Predictor([net], cfg.infer.batch_size)
        x = np.random.default_rng(0).integers(0, 255, (64, s, s, 3), dtype=np.uint8)
        predictor.labels(x[: predictor.batch_size])  # trace
        reps, best = (1 if quick else 3), float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            predictor.labels(x)
            best = min(best, time.perf_counter() - t0)
        rows.append(
            {
                "stage": "infer",
                "case": f"in-memory batch {predictor.batch_size}, {s} px",
                "value": len(x) / best,
                "unit": "slices/s",
                "note": f"{net.model.count_params() / 1e6:.2f} M params",
            }
        )
        (tmp / "in").mkdir()
        for i in range(64 if quick else 200):
            png.write_image(tmp / "in" / f"s{i}.png", x[i % len(x)])
        t0 = time.perf_counter()
        res = infer_folder(predictor, spec, tmp / "in", tmp / "out")
        dt = time.perf_counter() - t0
        rows.append(
            {
                "stage": "infer",
                "case": f"folder of {len(res.written)} PNGs, {s} px",
                "value": len(res.written) / dt,
                "unit": "slices/s",
                "note": "read + predict + write palette masks",
            }
        )
        h5 = tmp / "p.h5"
        shapes = synth(output=h5, n_patients=2, seed=0)
        t0 = time.perf_counter()
        infer_source(predictor, open_source(h5), tmp / "pred", settings=VolumeSettings(spec))
        dt = time.perf_counter() - t0
        z = np.mean([v[0] for v in shapes.values()])
        rows.append(
            {
                "stage": "infer",
                "case": "phantom volume -> predictions.h5",
                "value": dt / len(shapes),
                "unit": "s/patient",
                "note": f"{z:.0f} slices/patient on average",
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
