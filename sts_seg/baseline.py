"""Non-learned baseline: threshold the PET (SUV) volume, keep the largest 3D components.

``fraction`` mode is the classic relative threshold (e.g. 40 % of this patient's SUVmax, as in
MTV40 / the EANM 41 % rule); ``fixed`` mode an absolute SUV cut-off (e.g. SUV 2.5), which only
makes sense when the PET is in SUV units (the Kaggle h5 layout is).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import ndimage


def largest_components(mask: np.ndarray, keep: int | None = 1) -> np.ndarray:
    """Boolean ``mask`` reduced to its ``keep`` largest connected components (full connectivity:
    26 in 3D, 8 in 2D); ``None`` keeps all. Ties in size go to the component met first in raster
    (C) order, so the result is deterministic."""
    fg = np.asarray(mask, dtype=bool)
    if keep is None or not fg.any():
        return fg.copy()
    structure = ndimage.generate_binary_structure(fg.ndim, fg.ndim)
    labels, n = ndimage.label(fg, structure=structure)
    if n <= keep:
        return fg.copy()
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    order = np.argsort(-sizes, kind="stable")  # label order is raster order of first voxel
    chosen = np.zeros(n + 1, dtype=bool)
    chosen[order[:keep] + 1] = True
    return chosen[labels]


def pet_threshold(
    pet: np.ndarray,
    mode: Literal["fraction", "fixed"] = "fraction",
    fraction: float = 0.4,
    suv: float = 2.5,
    keep_components: int | None = 1,
) -> np.ndarray:
    """Tumour mask from one patient's PET volume ``(Z, Y, X)`` (SUV), uint8 0/1, same shape.

    Threshold: ``fraction * max(pet)`` (``mode="fraction"``, ``0 < fraction <= 1``) or ``suv``
    (``mode="fixed"``, ``suv > 0``); voxels ``>= threshold`` are kept, non-finite voxels never.
    Then only the ``keep_components`` largest components (26-connectivity in 3D) remain;
    ``None`` keeps all. An empty PET, a PET with no positive value (fraction mode) or nothing
    above the threshold gives all zeros.
    """
    arr = np.asarray(pet, dtype=np.float64)
    if mode not in ("fraction", "fixed"):
        raise ValueError(f"mode must be 'fraction' or 'fixed', got {mode!r}")
    if keep_components is not None and keep_components < 1:
        raise ValueError(f"keep_components must be >= 1 or None, got {keep_components}")
    if mode == "fraction" and not (math.isfinite(fraction) and 0 < fraction <= 1):
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if mode == "fixed" and not (math.isfinite(suv) and suv > 0):
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
    out[largest_components(fg, keep_components)] = 1
    return out
