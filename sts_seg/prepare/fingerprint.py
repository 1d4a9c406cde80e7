"""The dataset fingerprint: per-patient facts recorded by ``prepare`` (nnU-Net's idea)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sts_seg.sources.checks import label_values

#: HU percentiles are taken over at most this many voxels, evenly strided through the volume
PERCENTILE_SAMPLE = 1 << 20


def fingerprint(
    ct: np.ndarray, pet: np.ndarray, tumour: np.ndarray, spacing: Sequence[float], label: np.ndarray | None = None
) -> dict[str, Any]:
    """Shape, spacing (mm), tumour volume (mm³), HU range and percentiles (over at most
    :data:`PERCENTILE_SAMPLE` evenly strided voxels), SUVmax, tumour SUVmean, label values of one
    ``[z, y, x]`` case. ``tumour`` is the 0/1 mask; ``label`` the source label (default ``tumour``)."""
    tumour = tumour > 0
    n = int(tumour.sum())
    flat = ct.ravel()
    p_lo, p_hi = np.percentile(flat[:: max(1, flat.size // PERCENTILE_SAMPLE)], [0.5, 99.5])
    return {
        "shape": list(ct.shape),
        "spacing_mm": list(spacing),
        "tumour_voxels": n,
        "tumour_volume_mm3": float(n * np.prod(spacing)),
        "ct_hu_min": float(ct.min()),
        "ct_hu_max": float(ct.max()),
        "ct_hu_p0_5": float(p_lo),
        "ct_hu_p99_5": float(p_hi),
        "pet_suvmax": float(pet.max()),
        "tumour_suvmean": float(pet[tumour].mean()) if n else None,
        "labels": [int(v) for v in label_values(tumour.view(np.uint8) if label is None else label)],
    }
