"""Which grid each case is sliced on: its own (``native``) or a target spacing.

``prepare.spacing_mm: auto`` (the default) keeps the Kaggle file's 5 mm grid and resamples NIfTI
sources to 4 mm in-plane with the slice spacing kept: autoPET's 2.0 mm x 400 px slices become
~204 px, which keeps 2D training on a CPU fast, and HECKTOR's CT grid likewise. ``native`` never
resamples; ``[z, y, x]`` resamples every case to that spacing (mm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sts_seg.core.resample import target_shape
from sts_seg.sources.base import CaseInfo

#: in-plane spacing (mm) that ``auto`` gives NIfTI sources
AUTO_INPLANE_MM = 4.0


@dataclass(frozen=True)
class CaseGrid:
    """A case's own grid and the grid its slices are cut from (``[z, y, x]`` shapes, mm spacings)."""

    case_id: str
    patient: str
    split: str
    source_shape: tuple[int, int, int]
    source_spacing: tuple[float, float, float]
    grid_shape: tuple[int, int, int]
    grid_spacing: tuple[float, float, float]

    @property
    def resampled(self) -> bool:
        return self.grid_shape != self.source_shape

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> CaseGrid:
        tup = {k: tuple(v) for k, v in d.items() if isinstance(v, list)}
        return cls(**{**d, **tup})


#: a resolved spacing policy: "native", or (z, y, x) mm where a None keeps that axis' own spacing
Policy = str | tuple[float | None, float | None, float | None]


def resolve_policy(policy: str | Sequence[float], layout: str) -> Policy:
    """``prepare.spacing_mm`` for a source layout: ``native`` or a target ``(z | None, y, x)``."""
    if policy == "native" or (policy == "auto" and layout == "kaggle_h5"):
        return "native"
    if policy == "auto":
        return None, AUTO_INPLANE_MM, AUTO_INPLANE_MM
    return tuple(float(s) for s in policy)  # type: ignore[return-value]


def spacing_for(info: CaseInfo, policy: Policy) -> tuple[float, float, float]:
    """The target spacing (z, y, x) of ``info`` under a resolved policy."""
    if policy == "native":
        return info.spacing
    return tuple(own if want is None else float(want) for own, want in zip(info.spacing, policy, strict=True))  # type: ignore[return-value]


def plan_grid(info: CaseInfo, split: str, policy: Policy) -> CaseGrid:
    """The case's grid: its own, or the target spacing's shape (whose actual spacing is recorded:
    extent / voxels, within half a voxel of the target)."""
    spacing = spacing_for(info, policy)
    if spacing == info.spacing:
        return CaseGrid(info.case_id, info.patient, split, info.shape, info.spacing, info.shape, info.spacing)
    shape = target_shape(info.shape, info.spacing, spacing)
    actual = tuple(n * s / m for n, s, m in zip(info.shape, info.spacing, shape, strict=True))
    return CaseGrid(info.case_id, info.patient, split, info.shape, info.spacing, shape, actual)  # type: ignore[arg-type]
