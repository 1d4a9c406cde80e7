"""A fixed augmentation workload whose outputs were recorded before the ops became typed objects.

``build_dataset`` writes a small ``train/{images,masks}`` tree with PIL only (no stsseg code);
``OPS`` is the op list in config form. ``tests/data/augment_golden.json`` holds the SHA-256 of
``augment_manifest.csv`` and of every output's decoded pixels (image and mask) as written by
stsseg 0.1.0, plus the digest of an online-augmentation sequence. ``test_augment_golden``
checks that today's code reproduces them exactly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

GOLDEN = Path(__file__).parent / "data" / "augment_golden.json"
SEED = 2024
PALETTE = [0, 0, 0, 255, 255, 0] + [0] * (256 * 3 - 6)

#: every op, non-default parameters, some with p < 1 (config form, flat fields)
OPS: list[dict] = [
    {"name": "hflip"},
    {"name": "vflip", "p": 0.5},
    {"name": "rotate", "angles": [90, 33.5]},
    {"name": "zoom", "factors": [1.15]},
    {"name": "shrink", "factors": [0.85], "p": 0.7},
    {"name": "shear", "shears": [0.12], "axis": "x"},
    {"name": "barrel", "amounts": [0.4], "radius": 0.35, "centers": [[0.4, 0.4], [0.6, 0.6]]},
    {"name": "pincushion", "amounts": [0.3], "cumulative_outputs": False},
    {"name": "distort", "sizes": [0.02, 0.03], "sigma": 30},
    {"name": "elastic", "alpha": 900, "sigma": 30, "copies": 2},
    {"name": "gamma", "range": [0.8, 1.3], "copies": 2},
    {"name": "brightness_contrast", "brightness": 0.2, "contrast": 0.3},
    {"name": "gaussian_noise", "std": 7.5},
    {"name": "blur", "sigmas": [0.8, 1.6]},
]

#: online ops (applied in sequence with one Generator), config form
ONLINE: list[dict] = [
    {"name": "hflip", "p": 0.5},
    {"name": "rotate", "p": 0.6, "angles": [-10, 5, 12.5]},
    {"name": "elastic", "p": 0.5, "alpha": 600, "sigma": 20},
    {"name": "gamma", "p": 0.5, "range": [0.7, 1.4]},
    {"name": "gaussian_noise", "p": 0.5, "std": 4},
]


def sha(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def source_pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Three deterministic (image, mask) pairs, 40 x 36 px."""
    rng = np.random.default_rng(7)
    out = {}
    yy, xx = np.mgrid[0:40, 0:36]
    for i in range(3):
        img = np.stack([(yy * 5 + i * 20) % 256, (xx * 6) % 256, rng.integers(0, 256, (40, 36))], -1).astype(np.uint8)
        mask = (((yy - 15 - 3 * i) ** 2 + (xx - 18 + 2 * i) ** 2) < 60 + 20 * i).astype(np.uint8)
        out[f"P{i}_{10 + i}"] = (img, mask)
    return out


def build_dataset(root: Path) -> Path:
    """``root/train/{images,masks}`` (+ empty valid/test) with the source pairs, written by PIL."""
    for split in ("train", "valid", "test"):
        for sub in ("images", "masks"):
            (root / split / sub).mkdir(parents=True, exist_ok=True)
    for name, (img, mask) in source_pairs().items():
        Image.fromarray(img).save(root / "train" / "images" / f"{name}.png")
        m = Image.fromarray(mask, mode="P")
        m.putpalette(PALETTE)
        m.save(root / "train" / "masks" / f"{name}.png")
    return root


def read_pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))
