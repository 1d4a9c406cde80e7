"""The ``Op`` record every augmentation registers, plus parameter checks and name formatting.

An op is a pure function pair. ``sample(rng, (H, W), params) -> sampled`` draws every random
choice once (an angle out of ``angles``, a field seed, ...) into a small JSON-able dict;
``apply(image, mask, sampled) -> (image, mask)`` is deterministic and moves both together.
For offline use ``variants(params)`` expands a config into deterministic outputs, each a
``(tag, params)`` pair: ``tag`` is the file-name prefix (``"rotated_90_"``) and ``params`` the
config narrowed to that output (``angles: [90]``), so ``sample`` needs no special case.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: a number as ``fmt_num`` writes it inside a file name
NUM = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"

Variant = tuple[str, dict[str, Any]]
SampleFn = Callable[[np.random.Generator, tuple[int, int], dict[str, Any]], dict[str, Any]]
ApplyFn = Callable[[np.ndarray, np.ndarray, dict[str, Any]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Op:
    """One registered augmentation.

    ``pattern`` is a regex matching the prefix of every file name the op writes.
    ``geometric`` ops move image and mask; the others change image intensities only.
    """

    name: str
    summary: str
    defaults: Mapping[str, Any]
    check: Callable[[dict[str, Any]], None]
    variants: Callable[[dict[str, Any]], list[Variant]]
    sample: SampleFn
    apply: ApplyFn
    pattern: str
    geometric: bool = True
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def resolve(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with ``params``, checked; ValueError names a bad key and its range."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            allowed = ", ".join(sorted(self.defaults)) or "none"
            raise ValueError(f"augment op '{self.name}': unknown parameter '{unknown[0]}' (allowed: {allowed})")
        merged = {**self.defaults, **params}
        try:
            self.check(merged)
        except ValueError as exc:
            raise ValueError(f"augment op '{self.name}': {exc}") from None
        return merged

    def matches(self, name: str) -> bool:
        """True when a file name starts with this op's output prefix."""
        return self._regex.match(name) is not None


# --------------------------------------------------------------------------- name formatting


def fmt_num(x: float) -> str:
    """A number as it appears in file names: ``90``, ``0.01``, ``-0.3`` (``%g``)."""
    return f"{float(x):g}"


# --------------------------------------------------------------------------- parameter checks


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    left = "(" if lo_open or lo is None else "["
    right = ")" if hi_open or hi is None else "]"
    return f"{left}{'-inf' if lo is None else fmt_num(lo)}, {'inf' if hi is None else fmt_num(hi)}{right}"


def _in_range(v: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None and (v < lo or (lo_open and v == lo)):
        return False
    return not (hi is not None and (v > hi or (hi_open and v == hi)))


def check_number(
    params: Mapping[str, Any],
    key: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    integer: bool = False,
    allow_none: bool = False,
) -> None:
    """``params[key]`` must be a number (an int if ``integer``) in the given range."""
    v = params[key]
    if v is None and allow_none:
        return
    kind = "an integer" if integer else "a number"
    ok = _is_number(v) and (not integer or float(v).is_integer())
    if not ok or not _in_range(float(v), lo, hi, lo_open, hi_open):
        none = " or null" if allow_none else ""
        raise ValueError(f"'{key}' must be {kind} in {_range_text(lo, hi, lo_open, hi_open)}{none}, got {v!r}")


def check_numbers(
    params: Mapping[str, Any],
    key: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    length: int | None = None,
) -> None:
    """``params[key]`` must be a non-empty list of numbers in range (``length`` items if given)."""
    v = params[key]
    rng = _range_text(lo, hi, lo_open, hi_open)
    what = f"a list of {length} numbers" if length else "a non-empty list of numbers"
    if not isinstance(v, list | tuple) or not v or (length is not None and len(v) != length):
        raise ValueError(f"'{key}' must be {what} in {rng}, got {v!r}")
    for x in v:
        if not _is_number(x) or not _in_range(float(x), lo, hi, lo_open, hi_open):
            raise ValueError(f"'{key}' must be {what} in {rng}, got {v!r}")


def check_choice(params: Mapping[str, Any], key: str, options: tuple[str, ...]) -> None:
    """``params[key]`` must be one of ``options``."""
    if params[key] not in options:
        raise ValueError(f"'{key}' must be one of {', '.join(options)}, got {params[key]!r}")


def pick(rng: np.random.Generator, values: list[Any] | tuple[Any, ...]) -> Any:
    """One element of ``values`` (no draw when there is only one, so variants are exact)."""
    return values[0] if len(values) == 1 else values[int(rng.integers(len(values)))]


def new_seed(rng: np.random.Generator) -> int:
    """A 63-bit seed for a field that ``apply`` regenerates (keeps ``sampled`` small)."""
    return int(rng.integers(0, 2**63 - 1))
