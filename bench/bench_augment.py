"""Augmentation throughput: stsseg's ops vs a reference implementation of the original's per-file way.

Cases (3-channel uint8 image + label mask, in memory, no PNG I/O unless stated):

* ``distort field 512px``: one displacement field (dy, dx) - stsseg's coarse-grid field vs two
  ``scipy.ndimage.gaussian_filter(sigma=40, order=(1,0)/(0,1))`` passes over a 512 x 512 field.
* ``seed set <S>px``: the original's active set per source pair - hflip, vflip, rotate 90/180/270,
  distort 0.01/0.02/0.03 (8 outputs) - stsseg (one field per output, shared by image and mask) vs
  the reference below (per pass: noise once, both gradient filters and the unused sigma-0.5 blur
  recomputed for every size; an image pass and a separate mask pass).
* ``distort <S>px``: the three distort outputs only.
* ``stsseg augment 128px``: ``augment_dataset`` on a temporary 16-pair dataset, PNG I/O included.

Each figure is the fastest of several interleaved calls (robust to a busy machine). The original
smooths with sigma 40 px whatever the image size; stsseg scales sigma with the size (10 px at 128).

The reference uses stsseg's own numpy bilinear warp where the original called cv2.remap /
cv2.warpAffine (OpenCV is not a dependency), so the ratio measures the field work and the
duplicated passes, not a warp-library difference.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from sts_seg.augment.fields import gaussian_blur
from sts_seg.augment.offline import augment_dataset
from sts_seg.augment.ops.elastic import distortion_field
from sts_seg.augment.warp import affine_maps, warp_image
from sts_seg.config import AugmentConfig
from sts_seg.io import png

SEED_OPS = AugmentConfig.model_validate(
    {
        "offline": [
            {"name": "hflip"},
            {"name": "vflip"},
            {"name": "rotate", "angles": [90, 180, 270]},
            {"name": "distort", "sizes": [0.01, 0.02, 0.03]},
        ]
    }
).offline
DISTORT_ONLY = SEED_OPS[3:]


# =========================================================================== REFERENCE (original)
# A straightforward re-implementation of the original per-file augmentation (its Image-Distortion-Tool):
# every call draws a fresh full-size S x S noise field and, INSIDE the size loop, smooths it twice
# with sigma 40 (order (0,1) and (1,0)) plus the unused sigma-0.5 image blur. The image and the
# mask are augmented by two separate calls, i.e. with DIFFERENT fields (the original's bug).


def reference_distort(arr: np.ndarray, sizes: list[float], rng: np.random.Generator) -> list[np.ndarray]:
    """The original ``distort``: one noise draw per call, fields recomputed per size."""
    s = max(arr.shape[:2])
    t = rng.standard_normal((s, s))
    yy, xx = np.indices((s, s), dtype=np.float32)
    outs = []
    for size in sizes:
        dx = gaussian_filter(t, 40, order=(0, 1))
        dy = gaussian_filter(t, 40, order=(1, 0))
        dx *= int(s * size) / dx.max()
        dy *= int(s * size) / dy.max()
        gaussian_filter(arr, 0.5)  # computed and discarded, as in the original
        outs.append(warp_image(arr, yy - dy, xx - dx))  # stand-in for cv2.remap INTER_LINEAR
    return outs


def reference_pass(arr: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """One pass of the original ``augment`` over one array (image OR mask)."""
    outs = [arr[:, ::-1], arr[::-1]]
    h, w = arr.shape[:2]
    for angle in (90, 180, 270):
        t = np.radians(angle)
        c, s = np.cos(t), np.sin(t)
        # centre (W/2, H/2) as the original's getRotationMatrix2D call; stand-in for warpAffine
        outs.append(warp_image(arr, *affine_maps((h, w), np.array([[c, s], [-s, c]]), (h / 2, w / 2))))
    outs += reference_distort(arr, [0.01, 0.02, 0.03], rng)
    return outs


def reference_pair(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, distort_only: bool) -> None:
    """The original per source pair: an image pass and a separate mask pass (mask bilinear)."""
    for arr in (image, mask):
        if distort_only:
            reference_distort(arr, [0.01, 0.02, 0.03], rng)
        else:
            reference_pass(arr, rng)


# =========================================================================== stsseg


def stsseg_pair(image: np.ndarray, mask: np.ndarray, ops: tuple, seed: int) -> None:
    """What ``augment_dataset`` does per source pair, minus the PNG I/O."""
    for op in ops:
        for k, (_tag, narrowed) in enumerate(op.variants()):
            narrowed.apply(image, mask, narrowed.sample(np.random.default_rng([seed, k]), mask.shape))


# =========================================================================== timing


def _pair(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:size, :size]
    mask = (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size / 5) ** 2).astype(np.uint8)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return image, mask


def _best_times(fns: list[Callable[[int], None]], budget_s: float, min_rounds: int = 3) -> list[float]:
    """Fastest single-call seconds of each ``fn(i)``, calls interleaved round by round.

    The minimum over rounds, with the candidates alternating, keeps the ratio fair on a busy
    machine (a load spike slows one call, not one whole candidate).
    """
    best = [float("inf")] * len(fns)
    for fn in fns:
        fn(0)  # warm-up: caches, lazy imports
    rounds, t0 = 0, time.perf_counter()
    while rounds < min_rounds or time.perf_counter() - t0 < budget_s:
        rounds += 1
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            fn(rounds)
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def _row(case: str, value: float, unit: str, note: str) -> dict:
    return {"stage": "augment", "case": case, "value": value, "unit": unit, "note": note}


def _bench_field(budget: float) -> dict:
    def ours(i: int) -> None:
        distortion_field(i, (512, 512), 40.0, 10.24)

    def ref(i: int) -> None:
        t = np.random.default_rng(i).standard_normal((512, 512))
        gaussian_filter(t, 40, order=(0, 1))
        gaussian_filter(t, 40, order=(1, 0))

    a, b = _best_times([ours, ref], budget)
    return _row("distort field 512px", 1 / a, "fields/s", f"x{b / a:.0f} vs reference ({1 / b:.1f} fields/s)")


def _bench_pairs(size: int, distort_only: bool, budget: float) -> dict:
    rng = np.random.default_rng(0)
    image, mask = _pair(size, rng)
    ops = DISTORT_ONLY if distort_only else SEED_OPS
    a, b = _best_times(
        [lambda i: stsseg_pair(image, mask, ops, i), lambda i: reference_pair(image, mask, rng, distort_only)],
        budget,
    )
    n_out = 3 if distort_only else 8
    case = f"{'distort' if distort_only else 'seed set'} {size}px"
    note = f"x{b / a:.1f} vs reference ({1 / b:.2f} pairs/s); {n_out} outputs per pair, in memory"
    return _row(case, 1 / a, "pairs/s", note)


def _bench_offline(budget: float) -> dict:
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        for sub in ("images", "masks"):
            (root / "train" / sub).mkdir(parents=True)
        for k in range(16):
            image, mask = _pair(128, rng)
            png.write_image(root / "train" / "images" / f"STS_{k:03d}.png", image)
            png.write_mask(root / "train" / "masks" / f"STS_{k:03d}.png", mask)
        (t,) = _best_times([lambda i: augment_dataset(root, SEED_OPS, seed=i, force=True)], budget, 2)
    return _row("stsseg augment 128px", 16 * 8 / t, "outputs/s", "16 pairs x seed set, PNG read/write + manifest")


def _bench_blur(size: int, budget: float) -> dict:
    """The blur op's separable filter matrices against ``scipy.ndimage.gaussian_filter``."""
    img = np.random.default_rng(2).integers(0, 256, (size, size, 3), dtype=np.uint8)
    ours, scipy_t = _best_times(
        [
            lambda i: gaussian_blur(img, 1.0),
            lambda i: gaussian_filter(img.astype(np.float32), (1.0, 1.0, 0), mode="reflect", truncate=4.0),
        ],
        budget,
    )
    note = f"matrix filter {ours * 1e3:.2f} ms vs scipy gaussian_filter {scipy_t * 1e3:.2f} ms (x{scipy_t / ours:.2f})"
    return _row(f"blur sigma 1, {size}px", 1 / ours, "images/s", note)


def run(quick: bool = False) -> list[dict]:
    """Rows for ``python -m bench``; about 10 s with ``quick``, 30-50 s without."""
    budget = 0.5 if quick else 2.0
    return [
        _bench_field(budget),
        _bench_pairs(128, False, budget),
        _bench_pairs(512, False, budget),
        _bench_pairs(512, True, budget),
        _bench_offline(budget),
        _bench_blur(128, budget),
        _bench_blur(512, budget),
    ]


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
