"""Training throughput (images/s) and peak memory: the default config on 112 px slices, on 64 px
patches of them, in bfloat16, and the seed config at 512 px.

Each case runs in a fresh subprocess so its peak RSS is its own. Random data: speed does not
depend on content.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, resource, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
from sts_seg.config import load_config
from sts_seg.model import build_model
from sts_seg.train.arrays import SliceArrays
from sts_seg.train.compile import compile_model, setup_runtime
from sts_seg.train.pipeline import train_dataset
cfg_path, steps, warm, extra = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
cfg = load_config(cfg_path, extra)
size = cfg.model.image_size if cfg.model.image_size != "auto" else 112  # the phantom's canvas
setup_runtime(cfg.train)
m = cfg.model
n = max(4 * cfg.train.batch_size, 16)
rng = np.random.default_rng(0)
imgs = rng.integers(0, 255, (n, size, size, m.image_channels), dtype=np.uint8)
masks = (rng.random((n, size, size)) < 0.05).astype(np.uint8)
data = SliceArrays([str(i) for i in range(n)], imgs, masks)
model = compile_model(build_model(m), cfg.train, m.num_classes)
it = iter(train_dataset(data, cfg.train, cfg.augment.online, m.num_classes))
for _ in range(warm):
    model.train_on_batch(*next(it))
t0 = time.perf_counter()
for _ in range(steps):
    model.train_on_batch(*next(it))
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print(json.dumps({"img_s": steps * cfg.train.batch_size / dt, "rss_gb": rss,
                  "params": model.count_params(), "bs": cfg.train.batch_size}))
"""


def _case(config: str, steps: int, warm: int, *extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT / "configs" / config), str(steps), str(warm), *extra],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[dict]:
    rows = []
    whole = ("train.patch_size=null", "train.batch_size=8")  # whole slices, as before patches
    base = _case("sts.yaml", 10 if quick else 40, 3, *whole)
    rows.append(
        {
            "stage": "train",
            "case": f"sts.yaml 112 px bs{base['bs']} fp32",
            "value": base["img_s"],
            "unit": "img/s",
            "note": f"{base['params'] / 1e6:.2f} M params, peak RSS {base['rss_gb']:.2f} GB",
        }
    )
    patch = _case("sts.yaml", 20 if quick else 80, 5)  # the shipped 64 px patches, batch 16
    rows.append(
        {
            "stage": "train",
            "case": "sts.yaml: 64 px patches of 112 px slices bs16",
            "value": patch["img_s"],
            "unit": "img/s",
            "note": f"x{patch['img_s'] / base['img_s']:.2f} patches per whole slice, "
            f"x{patch['img_s'] * 64**2 / (base['img_s'] * 112**2):.2f} pixels/s",
        }
    )
    bf16 = _case("sts.yaml", 10 if quick else 40, 3, *whole, "train.precision=mixed_bfloat16")
    rows.append(
        {
            "stage": "train",
            "case": "sts.yaml 112 px mixed_bfloat16",
            "value": bf16["img_s"],
            "unit": "img/s",
            "note": f"x{bf16['img_s'] / base['img_s']:.2f} vs fp32, peak RSS {bf16['rss_gb']:.2f} GB",
        }
    )
    seed = _case("seed_flexunet.yaml", 2 if quick else 4, 1)
    rows.append(
        {
            "stage": "train",
            "case": "seed_flexunet.yaml 512 px bs2",
            "value": seed["img_s"],
            "unit": "img/s",
            "note": f"{seed['params'] / 1e6:.1f} M params, peak RSS {seed['rss_gb']:.2f} GB; "
            f"default is x{base['img_s'] / seed['img_s']:.0f} faster",
        }
    )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
