"""The original's barrel and pincushion distortions, applied around several centres in turn.

Per centre c (fractions of (W-1, H-1)), radius r = ``radius`` * W: inside r,
src = c + sin(pi d / 2r)^amount (p - c) with d = |p - c|; outside, identity. The steps are
applied one after another as in the original, composed here into one map (one resampling).
Barrel uses ``+amount``, pincushion ``-amount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sts_seg.augment.ops.base import NUM, NonEmpty, Op, Pair, Params, Shape, fmt_num, pick
from sts_seg.augment.warp import identity_grid, warp_pair

Fraction = Annotated[float, Field(ge=0, le=1)]
Amount = Annotated[float, Field(gt=0, le=1)]
CENTERS = ((0.3, 0.3), (0.7, 0.3), (0.5, 0.5), (0.3, 0.7), (0.7, 0.7))


def radial_maps(
    shape: Shape, centers: tuple[tuple[float, float], ...], radius: float, amount: float
) -> tuple[np.ndarray, np.ndarray]:
    """Source maps ``(src_y, src_x)`` (float32 ``(H, W)``) of the composed radial steps."""
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


@dataclass(frozen=True)
class RadialParams(Params):
    amount: float
    radius: float
    centers: tuple[tuple[float, float], ...]


class _Radial(Op):
    amounts: Annotated[tuple[Amount, ...], NonEmpty] = (0.3,)
    """Distortion strengths in (0, 1]; one output (or set of outputs) each."""
    radius: float = Field(0.3, gt=0, le=1)
    """Radius of each step as a fraction of the image width."""
    centers: Annotated[tuple[tuple[Fraction, Fraction], ...], NonEmpty] = CENTERS
    """Step centres as [x, y] fractions of the image, applied in turn."""
    cumulative_outputs: bool = True
    """Offline: also write the result after each intermediate centre (the original's files)."""
    sign: ClassVar[float] = 1.0
    lead: ClassVar[str] = ""

    def variants(self) -> list[tuple[str, Op]]:
        out: list[tuple[str, Op]] = []
        n, index = len(self.centers), 1000
        for a in self.amounts:
            steps = range(1, n + 1) if self.cumulative_outputs else [n]
            for k in steps:
                tag = f"{self.lead}_{index + k}_{fmt_num(self.radius)}_{fmt_num(self.sign * a)}_"
                out.append((tag, self.model_copy(update={"amounts": (a,), "centers": self.centers[:k]})))
            index += n
        return out

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        centers = tuple((float(x), float(y)) for x, y in self.centers)
        return RadialParams(self.sign * float(pick(rng, self.amounts)), float(self.radius), centers)

    def apply(self, image: np.ndarray, mask: np.ndarray, params: RadialParams) -> Pair:
        maps = radial_maps(mask.shape, params.centers, params.radius, params.amount)
        return warp_pair(image, mask, *maps)


class Barrel(_Radial):
    """The original's barrel distortion (``barrdistorted_<index>_<radius>_<amount>_<name>``)."""

    name: Literal["barrel"] = "barrel"
    summary = "the original's barrel distortion, applied around 5 centres in turn"
    prefix = rf"barrdistorted_\d+_{NUM}_{NUM}_"
    lead = "barrdistorted"


class Pincushion(_Radial):
    """The original's pincushion distortion, the amount negated (``pincdistorted_...``)."""

    name: Literal["pincushion"] = "pincushion"
    summary = "the original's pincushion distortion (the amount negated)"
    prefix = rf"pincdistorted_\d+_{NUM}_{NUM}_"
    sign = -1.0
    lead = "pincdistorted"
