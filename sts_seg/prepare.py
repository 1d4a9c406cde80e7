"""``stsseg prepare``: Kaggle-layout HDF5 -> ``{train,valid,test}/{images,masks}/<PATIENT>_<z>.png``.

Order matters for honest numbers: the whole file is validated first, then patients are split,
then slices are selected per split. Outputs are built in a temporary directory and renamed
into place only when complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sts_seg.config import SPLITS, Config, dump_config
from sts_seg.data.geometry import Placement, placement_for, to_canvas
from sts_seg.data.intensity import quantize, render_slice
from sts_seg.data.manifest import MANIFEST, SliceRow, write_manifest
from sts_seg.data.split import select_slices, split_patients
from sts_seg.io import h5, png
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.types import ProgressFn, no_progress


@dataclass
class PrepareResult:
    output: Path
    splits: dict[str, list[str]]
    slices: dict[str, int] = field(default_factory=dict)
    tumour_slices: dict[str, int] = field(default_factory=dict)
    native_shapes: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def fingerprint(vol: h5.Volume, spacing: tuple[float, float, float]) -> dict:
    """Per-patient facts: shape, spacing, tumour volume (mm³), HU range, SUVmax, tumour SUVmean."""
    tumour = vol.label > 0
    n = int(tumour.sum())
    return {
        "shape": list(vol.ct.shape),
        "spacing_mm": list(spacing),
        "tumour_voxels": n,
        "tumour_volume_mm3": float(n * np.prod(spacing)),
        "ct_hu_min": float(vol.ct.min()),
        "ct_hu_max": float(vol.ct.max()),
        "ct_hu_p0_5": float(np.percentile(vol.ct, 0.5)),
        "ct_hu_p99_5": float(np.percentile(vol.ct, 99.5)),
        "pet_suvmax": float(vol.pet.max()),
        "tumour_suvmean": float(vol.pet[tumour].mean()) if n else None,
        "labels": sorted(int(v) for v in np.unique(vol.label)),
    }


def canvas_image(ct: np.ndarray, pet: np.ndarray, cfg: Config, p: Placement) -> np.ndarray:
    """One native ``(h, w)`` CT/PET slice -> the uint8 ``(S, S, C)`` image the model sees."""
    return quantize(to_canvas(render_slice(ct, pet, cfg.prepare.image_mode, cfg.prepare.channels), p))


def _export_patient(cfg: Config, vol: h5.Volume, split: str, zs: list[int], root: Path) -> list[SliceRow]:
    size = cfg.model.image_size
    p = placement_for(vol.ct.shape[1:], size, cfg.prepare.geometry)
    rows = []
    for z in zs:
        name = f"{vol.patient}_{z}.png"
        img_c = canvas_image(vol.ct[z], vol.pet[z], cfg, p)
        mask_c = to_canvas((vol.label[z] > 0).astype(np.uint8), p, is_mask=True)
        png.write_image(root / split / "images" / name, img_c)
        png.write_mask(root / split / "masks" / name, mask_c)
        rows.append(
            SliceRow(
                split,
                vol.patient,
                z,
                f"{split}/images/{name}",
                f"{split}/masks/{name}",
                int(mask_c.sum()),
                vol.ct.shape[0],
                p.native_h,
                p.native_w,
                p.mode,
                size,
                p.offset_y,
                p.offset_x,
            )
        )
    return rows


def prepare(
    cfg: Config, h5_path: Path, output: Path, force: bool = False, progress: ProgressFn = no_progress
) -> PrepareResult:
    """Validate ``h5_path``, split by patient, export slices; returns counts per split."""
    check_writable_dir(output, force, "dataset directory")
    patients = h5.list_patients(h5_path)
    volumes = {pid: h5.read_volume(h5_path, pid) for pid in patients}  # validates everything first
    splits = split_patients(patients, cfg.split, str(h5_path))
    where = {pid: s for s in SPLITS for pid in splits[s]}
    result = PrepareResult(Path(output), splits, native_shapes={p: v.ct.shape for p, v in volumes.items()})
    rows: list[SliceRow] = []
    prints = {}
    with staged_dir(output, force, "dataset directory") as root:
        for s in SPLITS:
            for sub in ("images", "masks"):
                (root / s / sub).mkdir(parents=True)
        todo = [p for p in patients if p in where]
        for i, pid in enumerate(todo):
            vol, split = volumes[pid], where[pid]
            rng = np.random.default_rng([cfg.prepare.seed, patients.index(pid)])
            zs = select_slices(vol.label, getattr(cfg.prepare.select, split), cfg.prepare.negative_ratio, rng)
            rows += _export_patient(cfg, vol, split, zs, root)
            prints[pid] = {"split": split, "slices_exported": len(zs), **fingerprint(vol, cfg.data.spacing_mm)}
            progress(i + 1, len(todo), pid)
        write_manifest(root / MANIFEST, rows)
        meta = {"source": str(Path(h5_path).resolve()), "spacing_mm": list(cfg.data.spacing_mm)}
        (root / "split.json").write_text(json.dumps({**meta, **splits}, indent=2))
        (root / "fingerprint.json").write_text(
            json.dumps(
                {
                    **meta,
                    "image_size": cfg.model.image_size,
                    "geometry": cfg.prepare.geometry,
                    "image_mode": cfg.prepare.image_mode,
                    "patients": prints,
                },
                indent=2,
            )
        )
        dump_config(cfg, root / "config.yaml")
    for s in SPLITS:
        result.slices[s] = sum(r.split == s for r in rows)
        result.tumour_slices[s] = sum(r.split == s and r.tumour_pixels > 0 for r in rows)
    return result
