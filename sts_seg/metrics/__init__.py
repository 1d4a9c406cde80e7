"""Evaluation metrics (NumPy + SciPy only): voxel overlap, surface distances in mm, autoPET
lesion volumes, per-case rows and nan-aware summaries. Each module's docstring states its
conventions and which reference implementation (MONAI, nnU-Net, medpy) it matches."""

from sts_seg.metrics.lesion import lesion_volumes
from sts_seg.metrics.overlap import (
    EMPTY_POLICIES,
    Counts,
    EmptyPolicy,
    confusion_counts,
    dice,
    iou,
    precision,
    recall,
    specificity,
)
from sts_seg.metrics.report import (
    CASE_KEYS,
    SUMMARY_KEYS,
    Stats,
    case_metrics,
    empty_counts,
    summarize,
)
from sts_seg.metrics.spacing import check_spacing, voxel_volume_mm3
from sts_seg.metrics.surface import (
    SurfaceMetrics,
    assd,
    empty_reason,
    hd95,
    surface_distances,
    surface_metrics,
    surface_voxels,
)

__all__ = [
    "CASE_KEYS",
    "EMPTY_POLICIES",
    "SUMMARY_KEYS",
    "Counts",
    "EmptyPolicy",
    "Stats",
    "SurfaceMetrics",
    "assd",
    "case_metrics",
    "check_spacing",
    "confusion_counts",
    "dice",
    "empty_counts",
    "empty_reason",
    "hd95",
    "iou",
    "lesion_volumes",
    "precision",
    "recall",
    "specificity",
    "summarize",
    "surface_distances",
    "surface_metrics",
    "surface_voxels",
    "voxel_volume_mm3",
]
