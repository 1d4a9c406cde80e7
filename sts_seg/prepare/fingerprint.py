"""The dataset fingerprint: per-patient facts recorded by ``prepare`` (nnU-Net's idea)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def fingerprint(ct: np.ndarray, pet: np.ndarray, label: np.ndarray, spacing: Sequence[float]) -> dict[str, Any]:
    """Shape, spacing (mm), tumour volume (mm³), HU range and percentiles, SUVmax, tumour SUVmean,
    label values of one ``[z, y, x]`` case."""
    tumour = label > 0
    n = int(tumour.sum())
    return {
        "shape": list(ct.shape),
        "spacing_mm": list(spacing),
        "tumour_voxels": n,
        "tumour_volume_mm3": float(n * np.prod(spacing)),
        "ct_hu_min": float(ct.min()),
        "ct_hu_max": float(ct.max()),
        "ct_hu_p0_5": float(np.percentile(ct, 0.5)),
        "ct_hu_p99_5": float(np.percentile(ct, 99.5)),
        "pet_suvmax": float(pet.max()),
        "tumour_suvmean": float(pet[tumour].mean()) if n else None,
        "labels": sorted(int(v) for v in np.unique(label)),
    }
