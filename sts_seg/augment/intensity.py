"""Intensity ops: change image grey levels only; the mask is returned unchanged.

Images are uint8 (or float on the 0..255 scale); uint8 results are rounded and saturated.
``copies`` gives that many offline outputs, each with its own random draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sts_seg.augment.base import NUM, Op, check_number, check_numbers, fmt_num, new_seed, pick
from sts_seg.augment.fields import gaussian_blur
from sts_seg.augment.warp import to_dtype_like

Pair = tuple[np.ndarray, np.ndarray]


def _copies(lead: str):
    def variants(p: dict[str, Any]) -> list:
        return [(f"{lead}_{k}_", {**p, "copies": 1}) for k in range(int(p["copies"]))]

    return variants


def _check_copies(p: dict[str, Any]) -> None:
    check_number(p, "copies", 1, 100, integer=True)


# --------------------------------------------------------------------------- gamma


def gamma(image: np.ndarray, g: float) -> np.ndarray:
    """255 * (I / 255) ** g on every channel (g < 1 brightens)."""
    if image.dtype == np.uint8:
        lut = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** g), 0, 255).astype(np.uint8)
        return lut[image]
    x = np.clip(image.astype(np.float32), 0, 255)
    return to_dtype_like(255.0 * (x / 255.0) ** np.float32(g), image)


def _gamma_check(p: dict[str, Any]) -> None:
    check_numbers(p, "range", 0, 10, lo_open=True, length=2)
    if p["range"][0] > p["range"][1]:
        raise ValueError(f"'range' must be [low, high] with low <= high, got {p['range']!r}")
    _check_copies(p)


def _gamma_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    lo, hi = np.log(p["range"][0]), np.log(p["range"][1])
    return {"gamma": float(np.exp(rng.uniform(lo, hi)))}  # log-uniform: 0.7 as likely as 1/0.7


def _apply_gamma(image: np.ndarray, mask: np.ndarray, s: dict[str, Any]) -> Pair:
    return gamma(image, s["gamma"]), mask


# --------------------------------------------------------------------------- brightness/contrast


def brightness_contrast(image: np.ndarray, brightness: float, contrast: float) -> np.ndarray:
    """(I - mean) * contrast + mean + 255 * brightness; mean over all pixels and channels."""
    x = image.astype(np.float32)
    m = np.float32(x.mean())
    return to_dtype_like((x - m) * np.float32(contrast) + m + np.float32(255.0 * brightness), image)


def _bc_check(p: dict[str, Any]) -> None:
    check_number(p, "brightness", 0, 1)
    check_number(p, "contrast", 0, 1, hi_open=True)
    _check_copies(p)


def _bc_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    b = float(rng.uniform(-p["brightness"], p["brightness"]))
    c = float(rng.uniform(1.0 - p["contrast"], 1.0 + p["contrast"]))
    return {"brightness": b, "contrast": c}


def _apply_bc(image: np.ndarray, mask: np.ndarray, s: dict[str, Any]) -> Pair:
    return brightness_contrast(image, s["brightness"], s["contrast"]), mask


# --------------------------------------------------------------------------- noise, blur


def gaussian_noise(image: np.ndarray, std: float, seed: int) -> np.ndarray:
    """Add N(0, std) grey levels, drawn independently per pixel and channel."""
    noise = np.random.default_rng(seed).standard_normal(image.shape, dtype=np.float32)
    return to_dtype_like(image.astype(np.float32) + np.float32(std) * noise, image)


def _noise_check(p: dict[str, Any]) -> None:
    check_number(p, "std", 0, 255)
    _check_copies(p)


def _noise_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    return {"std": float(p["std"]), "noise_seed": new_seed(rng)}


def _apply_noise(image: np.ndarray, mask: np.ndarray, s: dict[str, Any]) -> Pair:
    return gaussian_noise(image, s["std"], s["noise_seed"]), mask


def _blur_check(p: dict[str, Any]) -> None:
    check_numbers(p, "sigmas", 0, 20, lo_open=True)


def _blur_variants(p: dict[str, Any]) -> list:
    return [(f"blurred_{fmt_num(s)}_", {**p, "sigmas": [s]}) for s in p["sigmas"]]


def _blur_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    return {"sigma": float(pick(rng, p["sigmas"]))}


def _apply_blur(image: np.ndarray, mask: np.ndarray, s: dict[str, Any]) -> Pair:
    return to_dtype_like(gaussian_blur(image, s["sigma"]), image), mask


OPS: list[Op] = [
    Op(name="gamma", summary="gamma curve 255 (I/255)^g, g log-uniform in `range`",
       defaults={"range": [0.7, 1.5], "copies": 1}, check=_gamma_check,
       variants=_copies("gamma"), sample=_gamma_sample, apply=_apply_gamma,
       pattern=r"gamma_\d+_", geometric=False),
    Op(name="brightness_contrast",
       summary="contrast x U(1-c, 1+c) about the mean, brightness + U(-b, b) * 255",
       defaults={"brightness": 0.1, "contrast": 0.1, "copies": 1}, check=_bc_check,
       variants=_copies("brightcontrast"), sample=_bc_sample, apply=_apply_bc,
       pattern=r"brightcontrast_\d+_", geometric=False),
    Op(name="gaussian_noise", summary="additive Gaussian noise, `std` grey levels",
       defaults={"std": 5.0, "copies": 1}, check=_noise_check, variants=_copies("noisy"),
       sample=_noise_sample, apply=_apply_noise, pattern=r"noisy_\d+_", geometric=False),
    Op(name="blur", summary="Gaussian blur with each sigma (px)", defaults={"sigmas": [1.0]},
       check=_blur_check, variants=_blur_variants, sample=_blur_sample, apply=_apply_blur,
       pattern=rf"blurred_{NUM}_", geometric=False),
]  # fmt: skip
