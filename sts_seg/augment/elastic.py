"""Smooth random displacement fields: the original's ``distort`` and Simard's ``elastic``.

Both draw ONE field per sample (from a seed kept in ``sampled``) and move image and mask with
it, unlike the original, which drew separate fields for image and mask.

Size scaling: ``sigma`` (and ``alpha``) are given for a ``ref_size`` px image (default 512, the
original's size) and scaled to the actual S = max(H, W): sigma_px = sigma * S / ref_size and
alpha_px = alpha * (S / ref_size)^2, so a 128 px image is deformed like a 512 px image
downsampled 4x. ``ref_size: null`` uses the values as pixels.

``distort`` follows seed_system §6.5: sizes 0.01/0.02/0.03 give a largest displacement of
size * S = 5.12/10.24/15.36 px at 512 (the original truncated to int: 5/10/15; the float keeps
small images from rounding to 0 px). ``rsigma`` only appears in the file name, as in the
original, which computed a sigma-0.5 image blur and never used it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sts_seg.augment.base import NUM, Op, check_number, check_numbers, fmt_num, new_seed, pick
from sts_seg.augment.fields import gradient_field, smooth_noise
from sts_seg.augment.warp import identity_grid, warp_pair

Pair = tuple[np.ndarray, np.ndarray]


def _scale_to(shape: tuple[int, int], ref_size: int | None) -> float:
    return 1.0 if ref_size is None else max(shape) / float(ref_size)


def _check_shape(sampled: dict[str, Any], mask: np.ndarray) -> tuple[int, int]:
    h, w = sampled["shape"]
    if (h, w) != mask.shape:
        raise ValueError(f"field was sampled for {(h, w)} but the image is {mask.shape}")
    return int(h), int(w)


# --------------------------------------------------------------------------- distort


def distortion_field(
    seed: int, shape: tuple[int, int], sigma_px: float, max_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(dy, dx)`` of the Image-Distortion-Tool: grad(G_sigma * N(0,1)), each max -> ``max_px``.

    Each component is scaled separately so that its largest POSITIVE value is ``max_px``
    (negative extremes are similar, not clamped), as in the original.
    """
    dy, dx = gradient_field(np.random.default_rng(seed), shape, sigma_px)
    out = []
    for d in (dy, dx):
        top = float(d.max())
        out.append(d * np.float32(max_px / top) if top > 0 else np.zeros_like(d))
    return out[0], out[1]


def _distort_check(p: dict[str, Any]) -> None:
    check_numbers(p, "sizes", 0, 0.5, lo_open=True, hi_open=True)
    check_number(p, "sigma", 0, 10000, lo_open=True)
    check_number(p, "rsigma", 0, 100)
    check_number(p, "ref_size", 1, None, integer=True, allow_none=True)


def _distort_variants(p: dict[str, Any]) -> list:
    tail = f"rsigma{fmt_num(p['rsigma'])}_sigma{fmt_num(p['sigma'])}_"
    return [(f"distorted_{fmt_num(s)}_{tail}", {**p, "sizes": [s]}) for s in p["sizes"]]


def _distort_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    size = float(pick(rng, p["sizes"]))
    return {
        "size": size,
        "max_px": size * max(shape),
        "sigma_px": float(p["sigma"]) * _scale_to(shape, p["ref_size"]),
        "field_seed": new_seed(rng),
        "shape": [int(shape[0]), int(shape[1])],
    }


def distort(image: np.ndarray, mask: np.ndarray, sampled: dict[str, Any]) -> Pair:
    """Backward warp out(y, x) = in(y - dy, x - dx) of image AND mask with one field."""
    shape = _check_shape(sampled, mask)
    dy, dx = distortion_field(sampled["field_seed"], shape, sampled["sigma_px"], sampled["max_px"])
    ys, xs = identity_grid(shape)
    return warp_pair(image, mask, ys - dy, xs - dx)


# --------------------------------------------------------------------------- elastic (Simard)


def elastic_field(seed: int, shape: tuple[int, int], alpha_px: float, sigma_px: float) -> tuple[np.ndarray, np.ndarray]:
    """``(dy, dx)`` = alpha * G_sigma * U(-1, 1), two independent draws (Simard 2003)."""
    rng = np.random.default_rng(seed)
    dx = smooth_noise(rng, shape, sigma_px, kind="uniform")
    dy = smooth_noise(rng, shape, sigma_px, kind="uniform")
    return dy * np.float32(alpha_px), dx * np.float32(alpha_px)


def _elastic_check(p: dict[str, Any]) -> None:
    check_number(p, "alpha", 0, 1e6)
    check_number(p, "sigma", 0, 10000, lo_open=True)
    check_number(p, "copies", 1, 100, integer=True)
    check_number(p, "ref_size", 1, None, integer=True, allow_none=True)


def _elastic_variants(p: dict[str, Any]) -> list:
    lead = f"elastic_{fmt_num(p['alpha'])}_{fmt_num(p['sigma'])}"
    return [(f"{lead}_{k}_", {**p, "copies": 1}) for k in range(int(p["copies"]))]


def _elastic_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    k = _scale_to(shape, p["ref_size"])
    return {
        "alpha_px": float(p["alpha"]) * k * k,
        "sigma_px": float(p["sigma"]) * k,
        "field_seed": new_seed(rng),
        "shape": [int(shape[0]), int(shape[1])],
    }


def elastic(image: np.ndarray, mask: np.ndarray, sampled: dict[str, Any]) -> Pair:
    """Backward warp out(p) = in(p + d(p)) of image AND mask with one Simard field."""
    shape = _check_shape(sampled, mask)
    dy, dx = elastic_field(sampled["field_seed"], shape, sampled["alpha_px"], sampled["sigma_px"])
    ys, xs = identity_grid(shape)
    return warp_pair(image, mask, ys + dy, xs + dx)


OPS: list[Op] = [
    Op(
        name="distort",
        summary="the Image-Distortion-Tool field (gradient of smoothed noise), one per size",
        defaults={"sizes": [0.01, 0.02, 0.03], "sigma": 40, "rsigma": 0.5, "ref_size": 512},
        check=_distort_check,
        variants=_distort_variants,
        sample=_distort_sample,
        apply=distort,
        pattern=rf"distorted_{NUM}_rsigma{NUM}_sigma{NUM}_",
    ),
    Op(
        name="elastic",
        summary="Simard elastic deformation alpha * G_sigma * U(-1, 1), `copies` outputs",
        defaults={"alpha": 1300, "sigma": 40, "copies": 1, "ref_size": 512},
        check=_elastic_check,
        variants=_elastic_variants,
        sample=_elastic_sample,
        apply=elastic,
        pattern=rf"elastic_{NUM}_{NUM}_\d+_",
    ),
]
