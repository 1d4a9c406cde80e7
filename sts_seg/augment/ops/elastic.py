"""Smooth random displacement fields: the original's ``distort`` and Simard's ``elastic``.

Both draw ONE field per sample (from a seed kept in the params) and move image and mask with
it, unlike the original, which drew separate fields for image and mask.

Size scaling: ``sigma`` (and ``alpha``) are given for a ``ref_size`` px image (default 512, the
original's size) and scaled to the actual S = max(H, W): sigma_px = sigma * S / ref_size and
alpha_px = alpha * (S / ref_size)^2, so a 128 px image is deformed like a 512 px image
downsampled 4x. ``ref_size: null`` uses the values as pixels.

``distort`` follows the Image-Distortion-Tool: sizes 0.01/0.02/0.03 give a largest displacement
of size * S = 5.12/10.24/15.36 px at 512 (the original truncated to int: 5/10/15; the float
keeps small images from rounding to 0 px). ``rsigma`` only appears in the file name, as in the
original, which computed a sigma-0.5 image blur and never used it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from sts_seg.augment.fields import gradient_field, smooth_noise
from sts_seg.augment.ops.base import (
    NUM,
    Copies,
    NonEmpty,
    Op,
    Pair,
    Params,
    Shape,
    copies_variants,
    fmt_num,
    new_seed,
    pick,
)
from sts_seg.augment.warp import identity_grid, warp_pair

DistortSize = Annotated[float, Field(gt=0, lt=0.5)]
RefSize = Annotated[int | None, Field(ge=1)]


def _scale_to(shape: Shape, ref_size: int | None) -> float:
    return 1.0 if ref_size is None else max(shape) / float(ref_size)


def _check_shape(shape: tuple[int, int], mask: np.ndarray) -> Shape:
    if tuple(shape) != mask.shape:
        raise ValueError(f"field was sampled for {tuple(shape)} but the image is {mask.shape}")
    return int(shape[0]), int(shape[1])


def distortion_field(seed: int, shape: Shape, sigma_px: float, max_px: float) -> tuple[np.ndarray, np.ndarray]:
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


def elastic_field(seed: int, shape: Shape, alpha_px: float, sigma_px: float) -> tuple[np.ndarray, np.ndarray]:
    """``(dy, dx)`` = alpha * G_sigma * U(-1, 1), two independent draws (Simard 2003)."""
    rng = np.random.default_rng(seed)
    dx = smooth_noise(rng, shape, sigma_px, kind="uniform")
    dy = smooth_noise(rng, shape, sigma_px, kind="uniform")
    return dy * np.float32(alpha_px), dx * np.float32(alpha_px)


@dataclass(frozen=True)
class DistortParams(Params):
    size: float
    max_px: float
    sigma_px: float
    field_seed: int
    shape: tuple[int, int]


class Distort(Op):
    """The Image-Distortion-Tool field, one per size (``distorted_<size>_rsigma<r>_sigma<s>_<name>``)."""

    name: Literal["distort"] = "distort"
    sizes: Annotated[tuple[DistortSize, ...], NonEmpty] = (0.01, 0.02, 0.03)
    """Largest displacement as a fraction of the image size; one output each."""
    sigma: float = Field(40, gt=0, le=10000)
    """Smoothing of the noise in px at `ref_size`."""
    rsigma: float = Field(0.5, ge=0, le=100)
    """Only part of the file name, as in the original."""
    ref_size: RefSize = 512
    """Image size the values are given for; null = pixels."""
    summary = "the Image-Distortion-Tool field (gradient of smoothed noise), one per size"
    prefix = rf"distorted_{NUM}_rsigma{NUM}_sigma{NUM}_"

    def variants(self) -> list[tuple[str, Op]]:
        tail = f"rsigma{fmt_num(self.rsigma)}_sigma{fmt_num(self.sigma)}_"
        return [(f"distorted_{fmt_num(s)}_{tail}", self.model_copy(update={"sizes": (s,)})) for s in self.sizes]

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        size = float(pick(rng, self.sizes))
        return DistortParams(
            size=size,
            max_px=size * max(shape),
            sigma_px=float(self.sigma) * _scale_to(shape, self.ref_size),
            field_seed=new_seed(rng),
            shape=(int(shape[0]), int(shape[1])),
        )

    def apply(self, image: np.ndarray, mask: np.ndarray, params: DistortParams) -> Pair:
        """Backward warp out(y, x) = in(y - dy, x - dx) of image AND mask with one field."""
        shape = _check_shape(params.shape, mask)
        dy, dx = distortion_field(params.field_seed, shape, params.sigma_px, params.max_px)
        ys, xs = identity_grid(shape)
        return warp_pair(image, mask, ys - dy, xs - dx)


@dataclass(frozen=True)
class ElasticParams(Params):
    alpha_px: float
    sigma_px: float
    field_seed: int
    shape: tuple[int, int]


class Elastic(Op):
    """Simard elastic deformation (``elastic_<alpha>_<sigma>_<k>_<name>``)."""

    name: Literal["elastic"] = "elastic"
    alpha: float = Field(1300, ge=0, le=1e6)
    """Displacement scale in px at `ref_size`."""
    sigma: float = Field(40, gt=0, le=10000)
    """Smoothing of the field in px at `ref_size`."""
    copies: Copies = 1
    ref_size: RefSize = 512
    """Image size the values are given for; null = pixels."""
    summary = "Simard elastic deformation alpha * G_sigma * U(-1, 1), `copies` outputs"
    prefix = rf"elastic_{NUM}_{NUM}_\d+_"

    def variants(self) -> list[tuple[str, Op]]:
        return copies_variants(self, f"elastic_{fmt_num(self.alpha)}_{fmt_num(self.sigma)}")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        k = _scale_to(shape, self.ref_size)
        return ElasticParams(
            alpha_px=float(self.alpha) * k * k,
            sigma_px=float(self.sigma) * k,
            field_seed=new_seed(rng),
            shape=(int(shape[0]), int(shape[1])),
        )

    def apply(self, image: np.ndarray, mask: np.ndarray, params: ElasticParams) -> Pair:
        """Backward warp out(p) = in(p + d(p)) of image AND mask with one Simard field."""
        shape = _check_shape(params.shape, mask)
        dy, dx = elastic_field(params.field_seed, shape, params.alpha_px, params.sigma_px)
        ys, xs = identity_grid(shape)
        return warp_pair(image, mask, ys + dy, xs + dx)
