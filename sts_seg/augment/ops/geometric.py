"""Geometric ops with closed-form source maps: flips, rotation, zoom/shrink and shear.

Image and mask always go through the same source maps (``warp.warp_pair``): bilinear for the
image, nearest for the mask, background 0 outside. Angles in degrees, positive =
counter-clockwise on screen (OpenCV's ``getRotationMatrix2D``), about the true centre
((W-1)/2, (H-1)/2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sts_seg.augment.ops.base import NUM, NonEmpty, NoParams, Op, Pair, Params, Shape, fmt_num, pick
from sts_seg.augment.warp import affine_maps, warp_pair

Angle = Annotated[float, Field(ge=-360, le=360)]
ZoomFactor = Annotated[float, Field(ge=0.25, le=4)]
ShrinkFactor = Annotated[float, Field(ge=0.25, lt=1)]
ShearFactor = Annotated[float, Field(ge=-1, le=1)]


class HFlip(Op):
    """Mirror left-right (``hflipped_<name>``)."""

    name: Literal["hflip"] = "hflip"
    summary = "mirror left-right"
    prefix = "hflipped_"

    def variants(self) -> list[tuple[str, Op]]:
        return [("hflipped_", self)]

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return NoParams()

    def apply(self, image: np.ndarray, mask: np.ndarray, params: Params) -> Pair:
        return np.ascontiguousarray(image[:, ::-1]), np.ascontiguousarray(mask[:, ::-1])


class VFlip(Op):
    """Mirror top-bottom (``vflipped_<name>``)."""

    name: Literal["vflip"] = "vflip"
    summary = "mirror top-bottom"
    prefix = "vflipped_"

    def variants(self) -> list[tuple[str, Op]]:
        return [("vflipped_", self)]

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return NoParams()

    def apply(self, image: np.ndarray, mask: np.ndarray, params: Params) -> Pair:
        return np.ascontiguousarray(image[::-1]), np.ascontiguousarray(mask[::-1])


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


def scale(image: np.ndarray, mask: np.ndarray, factor: float) -> Pair:
    """Scale both by ``factor`` about the true centre (> 1 enlarges and crops, < 1 shrinks)."""
    return warp_pair(image, mask, *affine_maps(mask.shape, np.eye(2) / float(factor)))


def shear(image: np.ndarray, mask: np.ndarray, s: float, axis: str = "y") -> Pair:
    """Shear about the centre: axis ``y`` (the original's) y' = y + s(x - cx); ``x``: x' = x + s(y - cy)."""
    m = np.array([[1.0, -s], [0.0, 1.0]]) if axis == "y" else np.array([[1.0, 0.0], [-s, 1.0]])
    return warp_pair(image, mask, *affine_maps(mask.shape, m))


@dataclass(frozen=True)
class AngleParams(Params):
    angle: float


class Rotate(Op):
    """Rotate by an angle about the centre (``rotated_<angle>_<name>``)."""

    name: Literal["rotate"] = "rotate"
    angles: Annotated[tuple[Angle, ...], NonEmpty] = (90, 180, 270)
    """Angles in degrees, counter-clockwise; offline: one output each, online: one drawn."""
    summary = "rotate by each angle (degrees, counter-clockwise) about the centre"
    prefix = rf"rotated_{NUM}_"

    def variants(self) -> list[tuple[str, Op]]:
        return [(f"rotated_{fmt_num(a)}_", self.model_copy(update={"angles": (a,)})) for a in self.angles]

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return AngleParams(float(pick(rng, self.angles)))

    def apply(self, image: np.ndarray, mask: np.ndarray, params: AngleParams) -> Pair:
        return rotate(image, mask, params.angle)


@dataclass(frozen=True)
class FactorParams(Params):
    factor: float


class _Scale(Op):
    factors: tuple[float, ...]
    lead: ClassVar[str] = ""

    def variants(self) -> list[tuple[str, Op]]:
        return [(f"{self.lead}_{fmt_num(f)}_", self.model_copy(update={"factors": (f,)})) for f in self.factors]

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return FactorParams(float(pick(rng, self.factors)))

    def apply(self, image: np.ndarray, mask: np.ndarray, params: FactorParams) -> Pair:
        return scale(image, mask, params.factor)


class Zoom(_Scale):
    """Scale about the centre (``zoomed_<factor>_<name>``)."""

    name: Literal["zoom"] = "zoom"
    factors: Annotated[tuple[ZoomFactor, ...], NonEmpty] = (1.1, 1.2)
    """Scale factors (> 1 enlarges and crops)."""
    summary = "scale about the centre by each factor (> 1 enlarges and crops)"
    prefix = rf"zoomed_{NUM}_"
    lead = "zoomed"


class Shrink(_Scale):
    """Scale down about the centre, background around (``shrinked_<factor>_<name>``)."""

    name: Literal["shrink"] = "shrink"
    factors: Annotated[tuple[ShrinkFactor, ...], NonEmpty] = (0.8, 0.9)
    """Scale factors below 1."""
    summary = "scale down about the centre by each factor < 1, background around"
    prefix = rf"shrinked_{NUM}_"
    lead = "shrinked"


@dataclass(frozen=True)
class ShearParams(Params):
    shear: float
    axis: str


class Shear(Op):
    """Shear about the centre (``sheared_<s>_`` for axis y, ``xsheared_<s>_`` for x)."""

    name: Literal["shear"] = "shear"
    shears: Annotated[tuple[ShearFactor, ...], NonEmpty] = (-0.1, 0.1)
    """Shear factors s: y' = y + s (x - cx) for axis y."""
    axis: Literal["y", "x"] = "y"
    """Axis that is displaced (y: the original's)."""
    summary = "shear by each factor s about the centre (y: y' = y + s (x - cx))"
    prefix = rf"x?sheared_{NUM}_"

    def variants(self) -> list[tuple[str, Op]]:
        lead = "sheared" if self.axis == "y" else "xsheared"
        return [(f"{lead}_{fmt_num(s)}_", self.model_copy(update={"shears": (s,)})) for s in self.shears]

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return ShearParams(float(pick(rng, self.shears)), self.axis)

    def apply(self, image: np.ndarray, mask: np.ndarray, params: ShearParams) -> Pair:
        return shear(image, mask, params.shear, params.axis)
