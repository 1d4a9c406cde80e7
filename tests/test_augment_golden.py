"""The typed ops reproduce, bit for bit, what stsseg 0.1.0's op registry wrote for a fixed workload:
the output names, ``augment_manifest.csv`` (names, variants and sampled parameters) and every
output's decoded pixels, offline and online (digests in ``tests/data/augment_golden.json``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from augment_golden import GOLDEN, ONLINE, OPS, SEED, build_dataset, read_pixels, sha, source_pairs

from sts_seg.augment.offline import MANIFEST_NAME, augment_dataset
from sts_seg.augment.online import apply_online
from sts_seg.config import AugmentConfig

EXPECTED = json.loads(GOLDEN.read_text())


def test_offline_outputs_manifest_and_pixels_are_unchanged(tmp_path: Path) -> None:
    cfg = AugmentConfig.model_validate({"offline": OPS})
    root = build_dataset(tmp_path / "ds")
    res = augment_dataset(root, cfg.offline, SEED)
    assert res.outputs == EXPECTED["outputs"]
    manifest = (root / "augmented" / MANIFEST_NAME).read_bytes()
    assert hashlib.sha256(manifest).hexdigest() == EXPECTED["manifest_sha256"]
    got = {}
    for folder in (root / "train", root / "augmented"):  # 0.1.0 wrote the outputs into train/
        for p in (folder / "images").iterdir():
            got[p.name] = sha(read_pixels(p), read_pixels(folder / "masks" / p.name))
    assert got == EXPECTED["files"]


def test_online_sequence_is_unchanged() -> None:
    ops = AugmentConfig.model_validate({"online": ONLINE}).online
    rng = np.random.default_rng(SEED)
    h = hashlib.sha256()
    for _ in range(4):
        for img, mask in source_pairs().values():
            h.update(sha(*apply_online(img, mask, ops, rng)).encode())
    assert h.hexdigest() == EXPECTED["online_sha256"]
