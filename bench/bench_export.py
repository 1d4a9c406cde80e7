"""Deployment speed: the original architecture vs stsseg's default per patient volume, Keras vs
ONNX Runtime (1 and 2 threads, batch sizes), start-up of one ``stsseg infer``, achieved GFLOP/s
against the CPU's fp32 peak, and peak RSS. Random weights: speed does not depend on them.

Every case runs in a fresh subprocess, so threads, start-up and peak RSS are its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, resource, sys, time
mode, args = sys.argv[1], json.loads(sys.argv[2])
threads = args.get("threads")
if threads:
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ["STSSEG_ORT_THREADS"] = str(threads)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
from sts_seg.config import load_config
from sts_seg.infer.loading import load_predictor
out = {}
if mode == "throughput":  # in-memory batches of canvas images
    cfg = load_config(None, ())
    predictor, spec, _ = load_predictor(args["model"], cfg, args["batch"])
    x = np.random.default_rng(0).integers(0, 256, (args["n"], args["size"], args["size"], 3)).astype(np.uint8)
    predictor.probabilities(x[: args["batch"]])  # warm-up (trace / session init)
    t0 = time.perf_counter()
    predictor.probabilities(x)
    out["slices_s"] = args["n"] / (time.perf_counter() - t0)
elif mode == "volume":  # end to end: read, slice, predict, restack, write
    from sts_seg.infer.volumes import VolumeSettings, infer_source
    from sts_seg.sources import open_source
    cfg = load_config(None, ())
    predictor, spec, card = load_predictor(args["model"], cfg, 16)
    source = open_source(args["source"])
    cases = [i.case_id for i in source.infos()]
    settings = VolumeSettings(spec, card.policy if card else "native", None)
    infer_source(predictor, source, args["out"] + "_warm", settings=settings, cases=cases[:1])
    t0 = time.perf_counter()
    infer_source(predictor, source, args["out"], settings=settings, cases=cases)
    out["s_per_volume"] = (time.perf_counter() - t0) / len(cases)
    out["slices"] = sum(i.shape[0] for i in source.infos()) / len(cases)
elif mode == "original":  # the original architecture: prediction alone, per slice
    import keras
    from sts_seg.model import build_model
    cfg = load_config(args["config"], ())
    model = build_model(cfg.model)
    size = int(cfg.model.image_size)
    x = np.random.default_rng(0).uniform(0, 255, (args["n"], size, size, cfg.model.image_channels)).astype("float32")
    model.predict(x[:2], batch_size=2, verbose=0)
    t0 = time.perf_counter()
    model.predict(x, batch_size=2, verbose=0)
    out["slices_s"] = args["n"] / (time.perf_counter() - t0)
    out["params"] = model.count_params()
elif mode == "flops":  # FLOPs of one slice, counted by TensorFlow's profiler on the frozen graph
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    from sts_seg.infer.keras_net import load_model
    model = load_model(args["model"])
    spec = tf.TensorSpec([1, args["size"], args["size"], 3], tf.float32)
    frozen = convert_variables_to_constants_v2(tf.function(lambda x: model(x)).get_concrete_function(spec))
    b = tf.compat.v1.profiler.ProfileOptionBuilder
    opts = b(b.float_operation()).with_empty_output().build()
    out["flops"] = tf.compat.v1.profiler.profile(graph=frozen.graph, options=opts).total_float_ops
out["rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print(json.dumps(out))
"""


def _child(mode: str, **args) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, json.dumps(args)], capture_output=True, text=True,
                          check=True, cwd=ROOT)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _startup(model: Path, image_dir: Path, out: Path) -> float:
    """Wall time of one ``stsseg infer`` of one image, process start to exit."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "sts_seg", "infer", "--model", str(model), "--input", str(image_dir),
           "--output", str(out), "--force"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return time.perf_counter() - t0


def _peak_gflops() -> tuple[float, str]:
    """fp32 peak assumed: cores x 2 FMA units x 8 lanes (AVX2) or 16 (AVX-512) x 2 FLOP x clock."""
    flags, mhz = "", 0.0
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = next(line for line in text.splitlines() if line.startswith("flags"))
        mhz = max(float(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu MHz"))
    except (OSError, StopIteration, ValueError):
        pass
    lanes = 16 if "avx512f" in flags else 8
    ghz = mhz / 1000 or 2.5
    cores = os.cpu_count() or 1
    return cores * 2 * lanes * 2 * ghz, f"{cores} cores x 2 FMA x {lanes} lanes x 2 x {ghz:.2f} GHz"


def _random_model(folder: Path) -> None:
    """sts.yaml's default UNet, untrained, saved with its card (112 px canvas, as the phantom's)."""
    code = (
        "import sys, keras; from pathlib import Path; from sts_seg.config import load_config;"
        "from sts_seg.model import build_model; from sts_seg.io.card import ModelCard, write_card;"
        "from sts_seg.export import export_model; f = Path(sys.argv[1]); f.mkdir(parents=True);"
        "cfg = load_config('configs/sts.yaml', ('model.image_size=112',)); keras.utils.set_random_seed(0);"
        "build_model(cfg.model).save(f / 'best.keras');"
        "write_card(f, ModelCard(cfg.slice_spec(112), 2, (5.0, 5.0, 5.0)));"
        "export_model(model=f, output=f.parent / 'onnx')"
    )
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, capture_output=True, cwd=ROOT)


def run(quick: bool = False) -> list[dict]:
    from sts_seg.io import png
    from sts_seg.phantom import synth

    rows: list[dict] = []
    n = 64 if quick else 256
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synth(output=tmp / "phantom.h5", n_patients=3 if quick else 7, seed=0)
        _random_model(tmp / "keras")
        keras_model, onnx_model = tmp / "keras" / "best.keras", tmp / "onnx"
        orig = _child("original", config=str(ROOT / "configs" / "seed_flexunet.yaml"), n=4 if quick else 8)
        vols = {name: _child("volume", model=str(m), source=str(tmp / "phantom.h5"), out=str(tmp / f"v_{name}"))
                for name, m in (("keras", keras_model), ("onnx", onnx_model))}  # fmt: skip
        slices = vols["keras"]["slices"]
        orig_volume = slices / orig["slices_s"]
        rows.append({"stage": "deploy", "case": "original, 512 px, per volume", "value": orig_volume, "unit": "s",
                     "note": f"{orig['params'] / 1e6:.1f} M params, {orig['slices_s']:.2f} slices/s x "
                             f"{slices:.0f} slices (prediction alone), RSS {orig['rss_gb']:.2f} GB"})  # fmt: skip
        for name, label in (("keras", "Keras"), ("onnx", "ONNX Runtime")):
            v = vols[name]
            rows.append({"stage": "deploy", "case": f"default, {label}, per volume", "value": v["s_per_volume"],
                         "unit": "s", "note": f"end to end (read, slice, predict, restack, write); "
                                              f"x{orig_volume / v['s_per_volume']:.0f} vs original; "
                                              f"RSS {v['rss_gb']:.2f} GB"})  # fmt: skip
        flops = _child("flops", model=str(keras_model), size=112)["flops"]
        peak, why = _peak_gflops()
        for name, label in (("keras", "Keras"), ("onnx", "ORT")):
            model = keras_model if name == "keras" else onnx_model
            for threads in (1, 2):
                r = _child("throughput", model=str(model), batch=16, n=n, size=112, threads=threads)
                gf = r["slices_s"] * flops / 1e9
                rows.append({"stage": "deploy", "case": f"{label}, {threads} thread(s), batch 16, 112 px",
                             "value": r["slices_s"], "unit": "slices/s",
                             "note": f"{gf:.0f} GFLOP/s = {100 * gf / peak:.0f} % of {peak:.0f} assumed peak; "
                                     f"RSS {r['rss_gb']:.2f} GB"})  # fmt: skip
        for batch in (1, 4, 64) if not quick else (1, 64):
            r = _child("throughput", model=str(onnx_model), batch=batch, n=n, size=112)
            rows.append({"stage": "deploy", "case": f"ORT, batch {batch}, 112 px", "value": r["slices_s"],
                         "unit": "slices/s", "note": f"{r['slices_s'] * flops / 1e9:.0f} GFLOP/s"})  # fmt: skip
        images = tmp / "one"
        images.mkdir()
        png.write_image(images / "slice.png", np.zeros((112, 112, 3), np.uint8))
        for name, label, model in (("keras", "Keras", keras_model), ("onnx", "ONNX Runtime", onnx_model)):
            rows.append({"stage": "deploy", "case": f"start-up: infer 1 image, {label}",
                         "value": _startup(model, images, tmp / f"s_{name}"), "unit": "s",
                         "note": "process start to exit (imports, model load, predict, write)"})  # fmt: skip
        rows.append({"stage": "deploy", "case": "FLOPs per 112 px slice", "value": flops / 1e9, "unit": "GFLOP",
                     "note": f"TF profiler, frozen graph; peak assumed: {why}"})  # fmt: skip
    return rows
