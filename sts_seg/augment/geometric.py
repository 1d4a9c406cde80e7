"""Geometric ops with closed-form source maps: flips, rotation, zoom/shrink, shear, barrel/pincushion.

Image and mask always go through the same source maps (``warp.warp_pair``): bilinear for the
image, nearest for the mask, background 0 outside. Angles in degrees, positive =
counter-clockwise on screen (OpenCV's ``getRotationMatrix2D``), about the true centre
((W-1)/2, (H-1)/2).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sts_seg.augment.base import NUM, Op, check_choice, check_number, check_numbers, fmt_num, pick
from sts_seg.augment.warp import affine_maps, identity_grid, warp_pair

Pair = tuple[np.ndarray, np.ndarray]

# --------------------------------------------------------------------------- flips


def _no_params(params: dict[str, Any]) -> None:
    """Flips take no parameters."""


def _hflip(image: np.ndarray, mask: np.ndarray, sampled: dict[str, Any]) -> Pair:
    return np.ascontiguousarray(image[:, ::-1]), np.ascontiguousarray(mask[:, ::-1])


def _vflip(image: np.ndarray, mask: np.ndarray, sampled: dict[str, Any]) -> Pair:
    return np.ascontiguousarray(image[::-1]), np.ascontiguousarray(mask[::-1])


def _empty_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    return {}


# --------------------------------------------------------------------------- rotate


def _exact_cos_sin(angle_deg: float) -> tuple[float, float]:
    """cos/sin with exact 0/±1 at multiples of 90° (so 4 x 90° is exactly the identity)."""
    if float(angle_deg) % 90 == 0:
        k = round(float(angle_deg) / 90) % 4
        return ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[k]
    t = math.radians(angle_deg)
    return math.cos(t), math.sin(t)


def rotate(image: np.ndarray, mask: np.ndarray, angle: float) -> Pair:
    """Rotate both by ``angle`` degrees counter-clockwise about the true centre."""
    c, s = _exact_cos_sin(angle)
    # output -> source, (y, x) order: the inverse of OpenCV's forward rotation matrix
    return warp_pair(image, mask, *affine_maps(mask.shape, np.array([[c, s], [-s, c]])))


def _rotate_variants(p: dict[str, Any]) -> list:
    return [(f"rotated_{fmt_num(a)}_", {**p, "angles": [a]}) for a in p["angles"]]


def _rotate_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    return {"angle": float(pick(rng, p["angles"]))}


# --------------------------------------------------------------------------- zoom / shrink


def scale(image: np.ndarray, mask: np.ndarray, factor: float) -> Pair:
    """Scale both by ``factor`` about the true centre (> 1 enlarges and crops, < 1 shrinks)."""
    m = np.eye(2) / float(factor)
    return warp_pair(image, mask, *affine_maps(mask.shape, m))


def _factor_variants(prefix: str):
    def variants(p: dict[str, Any]) -> list:
        return [(f"{prefix}_{fmt_num(f)}_", {**p, "factors": [f]}) for f in p["factors"]]

    return variants


def _factor_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    return {"factor": float(pick(rng, p["factors"]))}


def _apply_scale(image: np.ndarray, mask: np.ndarray, sampled: dict[str, Any]) -> Pair:
    return scale(image, mask, sampled["factor"])


# --------------------------------------------------------------------------- shear


def shear(image: np.ndarray, mask: np.ndarray, s: float, axis: str = "y") -> Pair:
    """Shear about the centre: axis ``y`` (the original's) y' = y + s(x - cx); ``x``: x' = x + s(y - cy)."""
    m = np.array([[1.0, -s], [0.0, 1.0]]) if axis == "y" else np.array([[1.0, 0.0], [-s, 1.0]])
    return warp_pair(image, mask, *affine_maps(mask.shape, m))


def _shear_check(p: dict[str, Any]) -> None:
    check_numbers(p, "shears", -1, 1)
    check_choice(p, "axis", ("y", "x"))


def _shear_variants(p: dict[str, Any]) -> list:
    lead = "sheared" if p["axis"] == "y" else "xsheared"
    return [(f"{lead}_{fmt_num(s)}_", {**p, "shears": [s]}) for s in p["shears"]]


def _shear_sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
    return {"shear": float(pick(rng, p["shears"])), "axis": p["axis"]}


def _apply_shear(image: np.ndarray, mask: np.ndarray, sampled: dict[str, Any]) -> Pair:
    return shear(image, mask, sampled["shear"], sampled["axis"])


# --------------------------------------------------------------------------- barrel / pincushion


def radial_maps(shape: tuple[int, int], centers: list, radius: float, amount: float) -> tuple[np.ndarray, np.ndarray]:
    """Source maps of the original's barrel (amount > 0) / pincushion (< 0) steps, composed.

    Per centre c (fractions of (W-1, H-1)), radius r = ``radius`` * W: inside r,
    src = c + sin(pi d / 2r)^amount (p - c) with d = |p - c|; outside, identity. The steps are
    applied one after another as in the original, composed here into one map (one resampling).
    """
    h, w = shape
    ys, xs = identity_grid(shape)
    qy = np.broadcast_to(ys, shape).astype(np.float64)
    qx = np.broadcast_to(xs, shape).astype(np.float64)
    r = radius * w
    # out = step_n(... step_1(in)) reads in at step_1(step_2(... step_n(p))): last centre first
    for cx_f, cy_f in reversed(centers):
        cy, cx = cy_f * (h - 1), cx_f * (w - 1)
        dy, dx = qy - cy, qx - cx
        d = np.hypot(dy, dx)
        inside = d < r
        s = np.maximum(np.sin(np.pi * np.minimum(d, r) / (2 * r)), 1e-12)
        factor = np.where(inside, s**amount, 1.0)
        qy, qx = cy + factor * dy, cx + factor * dx
    return qy.astype(np.float32), qx.astype(np.float32)


def _radial_check(p: dict[str, Any]) -> None:
    check_numbers(p, "amounts", 0, 1, lo_open=True)
    check_number(p, "radius", 0, 1, lo_open=True)
    cs = p["centers"]
    if not isinstance(cs, list | tuple) or not cs:
        raise ValueError(f"'centers' must be a non-empty list of [x, y] pairs in [0, 1], got {cs!r}")
    for c in cs:
        check_numbers({"centers": c}, "centers", 0, 1, length=2)
    if not isinstance(p["cumulative_outputs"], bool):
        raise ValueError(f"'cumulative_outputs' must be true or false, got {p['cumulative_outputs']!r}")


def _radial(kind: str) -> tuple:
    """(variants, sample, apply) of ``barrel`` (sign +1) or ``pincushion`` (sign -1)."""
    sign, lead = (1.0, "barrdistorted") if kind == "barrel" else (-1.0, "pincdistorted")

    def variants(p: dict[str, Any]) -> list:
        out, n, index = [], len(p["centers"]), 1000
        for a in p["amounts"]:
            steps = range(1, n + 1) if p["cumulative_outputs"] else [n]
            for k in steps:
                tag = f"{lead}_{index + k}_{fmt_num(p['radius'])}_{fmt_num(sign * a)}_"
                out.append((tag, {**p, "amounts": [a], "centers": list(p["centers"][:k])}))
            index += n
        return out

    def sample(rng: np.random.Generator, shape: tuple[int, int], p: dict[str, Any]) -> dict:
        centers = [[float(x), float(y)] for x, y in p["centers"]]
        amount = sign * float(pick(rng, p["amounts"]))
        return {"amount": amount, "radius": float(p["radius"]), "centers": centers}

    def apply(image: np.ndarray, mask: np.ndarray, s: dict[str, Any]) -> Pair:
        maps = radial_maps(mask.shape, s["centers"], s["radius"], s["amount"])
        return warp_pair(image, mask, *maps)

    return variants, sample, apply


_CENTERS = [[0.3, 0.3], [0.7, 0.3], [0.5, 0.5], [0.3, 0.7], [0.7, 0.7]]
_RADIAL_DEFAULTS = {"amounts": [0.3], "radius": 0.3, "centers": _CENTERS, "cumulative_outputs": True}


def _one(tag: str):
    return lambda p: [(tag, dict(p))]


def _check_angles(p: dict[str, Any]) -> None:
    check_numbers(p, "angles", -360, 360)


def _check_zoom(p: dict[str, Any]) -> None:
    check_numbers(p, "factors", 0.25, 4)


def _check_shrink(p: dict[str, Any]) -> None:
    check_numbers(p, "factors", 0.25, 1, hi_open=True)


def _apply_rotate(image: np.ndarray, mask: np.ndarray, sampled: dict[str, Any]) -> Pair:
    return rotate(image, mask, sampled["angle"])


_barrel = dict(zip(("variants", "sample", "apply"), _radial("barrel"), strict=True))
_pincushion = dict(zip(("variants", "sample", "apply"), _radial("pincushion"), strict=True))

OPS: list[Op] = [
    Op(name="hflip", summary="mirror left-right", defaults={}, check=_no_params,
       variants=_one("hflipped_"), sample=_empty_sample, apply=_hflip, pattern="hflipped_"),
    Op(name="vflip", summary="mirror top-bottom", defaults={}, check=_no_params,
       variants=_one("vflipped_"), sample=_empty_sample, apply=_vflip, pattern="vflipped_"),
    Op(name="rotate", summary="rotate by each angle (degrees, counter-clockwise) about the centre",
       defaults={"angles": [90, 180, 270]}, check=_check_angles, variants=_rotate_variants,
       sample=_rotate_sample, apply=_apply_rotate, pattern=rf"rotated_{NUM}_"),
    Op(name="zoom", summary="scale about the centre by each factor (> 1 enlarges and crops)",
       defaults={"factors": [1.1, 1.2]}, check=_check_zoom, variants=_factor_variants("zoomed"),
       sample=_factor_sample, apply=_apply_scale, pattern=rf"zoomed_{NUM}_"),
    Op(name="shrink", summary="scale down about the centre by each factor < 1, background around",
       defaults={"factors": [0.8, 0.9]}, check=_check_shrink,
       variants=_factor_variants("shrinked"), sample=_factor_sample, apply=_apply_scale,
       pattern=rf"shrinked_{NUM}_"),
    Op(name="shear", summary="shear by each factor s about the centre (y: y' = y + s (x - cx))",
       defaults={"shears": [-0.1, 0.1], "axis": "y"}, check=_shear_check,
       variants=_shear_variants, sample=_shear_sample, apply=_apply_shear,
       pattern=rf"x?sheared_{NUM}_"),
    Op(name="barrel", summary="the original's barrel distortion, applied around 5 centres in turn",
       defaults=_RADIAL_DEFAULTS, check=_radial_check, **_barrel,
       pattern=rf"barrdistorted_\d+_{NUM}_{NUM}_"),
    Op(name="pincushion", summary="the original's pincushion distortion (the amount negated)",
       defaults=_RADIAL_DEFAULTS, check=_radial_check, **_pincushion,
       pattern=rf"pincdistorted_\d+_{NUM}_{NUM}_"),
]  # fmt: skip
