"""What every source is: a list of cases, read one at a time.

A :class:`Case` holds one study's CT (HU) and PET (SUV) on one grid, the optional label, the voxel
spacing and what is needed to write a result back on the case's own grid. Arrays are
``[z, y, x]`` in a fixed orientation (NIfTI sources are reoriented to LPS, the DICOM/ITK
convention, so ``[z, y, x]`` equals SimpleITK's array order after ``DICOMOrient(img, "LPS")``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class CaseInfo:
    """What a source knows without reading voxels: ids, grid shape and spacing (z, y, x)."""

    case_id: str
    patient: str
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]


@dataclass(frozen=True)
class Case:
    """One study on its reference grid. ``ct`` HU and ``pet`` SUV float32, ``label`` uint8 or None,
    all ``[z, y, x]``; ``spacing`` (z, y, x) mm; ``geometry``: how to write back (layout-specific)."""

    case_id: str
    patient: str
    ct: np.ndarray
    pet: np.ndarray
    label: np.ndarray | None
    spacing: tuple[float, float, float]
    geometry: Any = None

    @property
    def info(self) -> CaseInfo:
        return CaseInfo(self.case_id, self.patient, tuple(self.ct.shape), self.spacing)  # type: ignore[arg-type]


@dataclass
class SourceNotes:
    """Things the user should know about a source (ignored files, guessed patients)."""

    items: list[str] = field(default_factory=list)


class Source(Protocol):
    """A dataset on disk: ``layout`` (its name), ``path``, ``notes``, ``infos()`` (sorted by case
    id) and ``read(case_id, with_label)``. Results go back on a case's grid through its
    ``geometry`` (:func:`sts_seg.io.nifti.write_like` for NIfTI cases)."""

    layout: str
    path: Path
    notes: list[str]

    def infos(self) -> list[CaseInfo]: ...

    def read(self, case_id: str, with_label: bool = True) -> Case: ...
