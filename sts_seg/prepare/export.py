"""Exporting one case: read and check it, resample it to its planned grid, pick slices, write
the PNG pairs. The case is read in the calling thread; its slices are rendered and encoded on
a thread pool (PNG encoding, zlib and numpy release the GIL, so threads use every core without
the start-up cost of processes)."""

from __future__ import annotations

from concurrent.futures import Executor
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


def _write_pair(root: Path, image: np.ndarray, mask: np.ndarray, name: str) -> None:
    """Write one slice's image and mask PNGs (``root`` is the split folder)."""
    png.write_image(root / "images" / name, image)
    png.write_mask(root / "masks" / name, mask)


def export_case(job: ExportJob, pool: Executor | None = None) -> tuple[list[SliceRow], dict[str, Any]]:
    """Write the case's selected slices under ``job.root`` (on ``pool`` when given); return its
    manifest rows and fingerprint."""
    g = job.grid
    case = job.source.read(g.case_id)
    if case.label is None:
        raise DataError(f"case {g.case_id}: no label file; prepare needs a label for every case")
    tumour = tumour_mask(f"case {g.case_id}", case.label, job.foreground, job.background)
    facts = fingerprint(case.ct, case.pet, tumour, case.spacing, case.label)
    ct, pet = case.ct, case.pet
    if g.resampled:
        ct, pet, tumour = (resample_image(ct, g.grid_shape), resample_image(pet, g.grid_shape),
                           resample_mask(tumour, g.grid_shape))  # fmt: skip
    zs = select_slices(tumour, job.policy, job.negative_ratio, np.random.default_rng(job.seed))
    p = job.spec.placement(ct.shape[1:])
    names = [f"{g.case_id}_{z}.png" for z in zs]
    images, masks = job.spec.images(ct[zs], pet[zs], p), job.spec.masks(tumour[zs], p)  # whole-stack numpy
    counts = masks.sum(axis=(1, 2), dtype=np.int64).tolist()
    pairs = zip(images, masks, names, strict=True)
    if pool is None:
        for image, mask, name in pairs:
            _write_pair(job.root / g.split, image, mask, name)
    else:
        for f in [pool.submit(_write_pair, job.root / g.split, image, mask, name) for image, mask, name in pairs]:
            f.result()
    rows = [
        SliceRow(
            g.split, g.case_id, g.patient, z, f"{g.split}/images/{name}", f"{g.split}/masks/{name}",
            int(count), ct.shape[0], p.native_h, p.native_w, p.mode, p.canvas_h, p.canvas_w, p.offset_y, p.offset_x,
        )
        for z, name, count in zip(zs, names, counts, strict=True)
    ]  # fmt: skip
    return rows, {"split": g.split, "patient": g.patient, "slices_exported": len(zs), **facts}
