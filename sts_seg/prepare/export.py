"""Exporting one case: read and check it, resample it to its planned grid, pick slices, write
the PNG pairs. Runs in worker processes (one case each, so memory does not grow with cases)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sts_seg.core.resample import resample_image, resample_mask
from sts_seg.core.slicing import SliceSpec
from sts_seg.core.split import select_slices
from sts_seg.errors import DataError
from sts_seg.io import png
from sts_seg.io.manifest import SliceRow
from sts_seg.prepare.fingerprint import fingerprint
from sts_seg.prepare.plan import CaseGrid
from sts_seg.sources.base import Source
from sts_seg.sources.checks import tumour_mask


@dataclass(frozen=True)
class ExportJob:
    """Everything a worker needs for one case (picklable)."""

    source: Source
    grid: CaseGrid
    spec: SliceSpec
    policy: str
    negative_ratio: float
    seed: list[int]
    root: Path
    foreground: tuple[int, ...] | None
    background: tuple[int, ...]


def export_case(job: ExportJob) -> tuple[list[SliceRow], dict[str, Any]]:
    """Write the case's selected slices under ``job.root``; return its manifest rows and fingerprint."""
    g = job.grid
    case = job.source.read(g.case_id)
    if case.label is None:
        raise DataError(f"case {g.case_id}: no label file; prepare needs a label for every case")
    tumour = tumour_mask(f"case {g.case_id}", case.label, job.foreground, job.background)
    facts = fingerprint(case.ct, case.pet, tumour, case.spacing)
    ct, pet = case.ct, case.pet
    if g.resampled:
        ct, pet, tumour = (resample_image(ct, g.grid_shape), resample_image(pet, g.grid_shape),
                           resample_mask(tumour, g.grid_shape))  # fmt: skip
    zs = select_slices(tumour, job.policy, job.negative_ratio, np.random.default_rng(job.seed))
    p = job.spec.placement(ct.shape[1:])
    rows = []
    for z in zs:
        name = f"{g.case_id}_{z}.png"
        mask = job.spec.mask(tumour[z], p)
        png.write_image(job.root / g.split / "images" / name, job.spec.image(ct[z], pet[z], p))
        png.write_mask(job.root / g.split / "masks" / name, mask)
        rows.append(
            SliceRow(
                g.split, g.case_id, g.patient, z, f"{g.split}/images/{name}", f"{g.split}/masks/{name}",
                int(mask.sum()), ct.shape[0], p.native_h, p.native_w, p.mode, p.canvas_h, p.canvas_w,
                p.offset_y, p.offset_x,
            )
        )  # fmt: skip
    return rows, {"split": g.split, "patient": g.patient, "slices_exported": len(zs), **facts}
