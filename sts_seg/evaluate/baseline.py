"""Non-learned baseline: threshold the PET (SUV) volume, keep the largest 3D components.

``fraction`` mode is the classic relative threshold (e.g. 40 % of this patient's SUVmax, as in
MTV40 / the EANM 41 % rule); ``suv`` mode (``fixed``, its old name) an absolute SUV cut-off (e.g.
SUV 2.5), which only makes sense when the PET is in SUV units (every source stsseg reads is).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from sts_seg.core.components import largest


def pet_threshold(
    pet: np.ndarray,
    mode: Literal["fraction", "suv", "fixed"] = "fraction",
    fraction: float = 0.4,
    suv: float = 2.5,
    keep_components: int | None = 1,
) -> np.ndarray:
    """Tumour mask from one patient's PET volume ``(Z, Y, X)`` (SUV), uint8 0/1, same shape.

    Threshold: ``fraction * max(pet)`` (``mode="fraction"``, ``0 < fraction <= 1``) or ``suv``
    (``mode="suv"`` or ``"fixed"``, ``suv > 0``); voxels ``>= threshold`` are kept, non-finite voxels never.
    Then only the ``keep_components`` largest components (26-connectivity in 3D) remain;
    ``None`` keeps all. An empty PET, a PET with no positive value (fraction mode) or nothing
    above the threshold gives all zeros.
    """
    arr = np.asarray(pet, dtype=np.float64)
    if mode not in ("fraction", "suv", "fixed"):
        raise ValueError(f"mode must be 'fraction' or 'suv', got {mode!r}")
    if keep_components is not None and keep_components < 1:
        raise ValueError(f"keep_components must be >= 1 or None, got {keep_components}")
    if mode == "fraction" and not (math.isfinite(fraction) and 0 < fraction <= 1):
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if mode != "fraction" and not (math.isfinite(suv) and suv > 0):
        raise ValueError(f"suv must be a positive finite threshold, got {suv}")
    out = np.zeros(arr.shape, dtype=np.uint8)
    finite = np.isfinite(arr)
    if arr.size == 0 or not finite.any():
        return out
    if mode == "fraction":
        peak = float(arr[finite].max())
        if peak <= 0:
            return out
        threshold = fraction * peak
    else:
        threshold = suv
    fg = finite & (arr >= threshold)  # NaN compares False
    out[largest(fg, keep_components)] = 1
    return out


def configured_baseline(pet: np.ndarray, b, rule: str | None = None) -> np.ndarray:
    """:func:`pet_threshold` with the settings of an ``eval.baseline`` section (``BaselineConfig``),
    by its headline rule (``rule`` None) or by ``rule`` (``fraction`` or ``suv``)."""
    return pet_threshold(pet, rule or b.mode, b.fraction, b.suv, b.keep_components)
