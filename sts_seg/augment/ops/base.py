"""The base of every augmentation op: a frozen pydantic model that validates its own fields.

An op is configured once (``{name: rotate, p: 0.3, angles: [90, 180]}``), validated at load
time, and then used in three ways, in the style of albumentations' ``get_params``/``apply`` and
TorchIO's sample-once-then-apply:

* ``variants()``: the offline outputs, each ``(tag, op)`` where ``tag`` is the file-name prefix
  (``"rotated_90_"``) and ``op`` the configuration narrowed to that output (``angles: [90]``);
* ``sample(rng, (H, W))``: every random choice drawn once into frozen :class:`Params`;
* ``apply(image, mask, params)``: deterministic; geometric ops move image and mask together.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: a number as ``fmt_num`` writes it inside a file name
NUM = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"

Pair = tuple[np.ndarray, np.ndarray]
Shape = tuple[int, int]


def _non_empty(values: tuple[Any, ...]) -> tuple[Any, ...]:
    if not values:
        raise ValueError("give at least one value")
    return values


#: marks a tuple field that needs at least one value (checked after the items are valid)
NonEmpty = AfterValidator(_non_empty)

#: a field holding 1..100 offline copies (each with its own random draw)
Copies = Annotated[int, Field(ge=1, le=100, description="Offline outputs, each drawn anew.")]


@dataclass(frozen=True)
class Params:
    """Sampled parameters of one application (subclasses add fields); JSON-able via ``as_dict``."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NoParams(Params):
    """Ops without random choices (flips)."""


class Op(BaseModel):
    """One augmentation op. Subclasses set ``name`` (a literal), ``summary`` and ``prefix``
    (a regex of every file-name prefix the op writes) and implement the three methods."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    p: float = Field(1.0, ge=0, le=1)
    """Probability of applying the op (offline: a seeded fraction of the sources)."""

    summary: ClassVar[str] = ""
    prefix: ClassVar[str] = ""
    geometric: ClassVar[bool] = True

    @classmethod
    def matches(cls, file_name: str) -> bool:
        """True when a file name (or stem) starts with one of this op's output prefixes."""
        return re.match(cls.prefix, file_name) is not None

    def variants(self) -> list[tuple[str, Op]]:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        raise NotImplementedError

    def apply(self, image: np.ndarray, mask: np.ndarray, params: Params) -> Pair:
        raise NotImplementedError


def fmt_num(x: float) -> str:
    """A number as it appears in file names: ``90``, ``0.01``, ``-0.3`` (``%g``)."""
    return f"{float(x):g}"


def pick(rng: np.random.Generator, values: tuple[Any, ...]) -> Any:
    """One element of ``values`` (no draw when there is only one, so variants are exact)."""
    return values[0] if len(values) == 1 else values[int(rng.integers(len(values)))]


def new_seed(rng: np.random.Generator) -> int:
    """A 63-bit seed for a field that ``apply`` regenerates (keeps the params small)."""
    return int(rng.integers(0, 2**63 - 1))


def copies_variants(op: Op, lead: str) -> list[tuple[str, Op]]:
    """``copies`` outputs ``<lead>_<k>_``, each the op narrowed to one copy."""
    n = op.copies  # type: ignore[attr-defined]
    return [(f"{lead}_{k}_", op.model_copy(update={"copies": 1})) for k in range(n)]
