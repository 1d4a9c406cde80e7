"""``stsseg prepare``: Kaggle-layout HDF5 -> ``{train,valid,test}/{images,masks}/<CASE>_<z>.png``.

Order matters for honest numbers: the whole file is validated first (one patient at a time, so
memory does not grow with the number of patients), then patients are split, then the canvas is
chosen from the largest slice (no voxel is ever cropped), then slices are selected per split and
written. Outputs are built in a temporary directory and renamed into place only when complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sts_seg.config import SPLITS, Config, dump_config
from sts_seg.core.slicing import SliceSpec
from sts_seg.core.split import select_slices, split_patients
from sts_seg.errors import ConfigError
from sts_seg.io import h5, png
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.io.manifest import MANIFEST, SliceRow, write_manifest
from sts_seg.io.tables import write_json
from sts_seg.prepare.canvas import Canvas, plan_canvas
from sts_seg.prepare.fingerprint import fingerprint
from sts_seg.progress import ProgressFn, no_progress

SPEC = "spec.json"


@dataclass
class PrepareResult:
    """Where the dataset went, the split, the canvas (and why), slice counts per split, notes."""

    output: Path
    splits: dict[str, list[str]]
    canvas: Canvas
    slices: dict[str, int] = field(default_factory=dict)
    tumour_slices: dict[str, int] = field(default_factory=dict)
    native_shapes: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _export_patient(spec: SliceSpec, vol: h5.Volume, split: str, zs: list[int], root: Path) -> list[SliceRow]:
    p = spec.placement(vol.ct.shape[1:])
    rows = []
    for z in zs:
        name = f"{vol.patient}_{z}.png"
        mask_c = spec.mask(vol.label[z], p)
        png.write_image(root / split / "images" / name, spec.image(vol.ct[z], vol.pet[z], p))
        png.write_mask(root / split / "masks" / name, mask_c)
        rows.append(
            SliceRow(
                split, vol.patient, vol.patient, z, f"{split}/images/{name}", f"{split}/masks/{name}",
                int(mask_c.sum()), vol.ct.shape[0], p.native_h, p.native_w, p.mode, p.canvas_h, p.canvas_w,
                p.offset_y, p.offset_x,
            )
        )  # fmt: skip
    return rows


def _validate(h5_path: Path, progress: ProgressFn) -> dict[str, tuple[int, int, int]]:
    """Read and check every patient once, keeping only the shapes."""
    patients = h5.list_patients(h5_path)
    shapes = {}
    for i, pid in enumerate(patients):
        shapes[pid] = h5.read_volume(h5_path, pid).ct.shape
        progress(i + 1, len(patients), f"checking {pid}")
    return shapes


def prepare(*, cfg: Config, force: bool = False, progress: ProgressFn = no_progress) -> PrepareResult:
    """Validate ``data.h5``, split by patient, export slices into ``data.dataset``; counts per split."""
    if cfg.data.h5 is None:
        raise ConfigError("no HDF5 input: pass --h5 PATH or set data.h5 in the config")
    h5_path, output = Path(cfg.data.h5), Path(cfg.data.dataset)
    check_writable_dir(output, force, "dataset directory")
    shapes = _validate(h5_path, progress)  # every patient is checked before anything is written
    patients = sorted(shapes)
    split = cfg.split
    splits = split_patients(
        patients, seed=split.seed, fractions=split.fractions, explicit=split.explicit, source=str(h5_path)
    )
    where = {pid: s for s in SPLITS for pid in splits[s]}
    canvas = plan_canvas({p: s for p, s in shapes.items() if p in where}, cfg.model, cfg.prepare.geometry)
    spec = cfg.slice_spec(canvas.side)
    result = PrepareResult(output, splits, canvas, native_shapes=shapes, notes=list(canvas.notes))
    rows: list[SliceRow] = []
    prints = {}
    with staged_dir(output, force, "dataset directory") as root:
        for s in SPLITS:
            for sub in ("images", "masks"):
                (root / s / sub).mkdir(parents=True)
        todo = [p for p in patients if p in where]
        for i, pid in enumerate(todo):
            vol, part = h5.read_volume(h5_path, pid), where[pid]
            rng = np.random.default_rng([cfg.prepare.seed, patients.index(pid)])
            zs = select_slices(vol.label, getattr(cfg.prepare.select, part), cfg.prepare.negative_ratio, rng)
            rows += _export_patient(spec, vol, part, zs, root)
            facts = fingerprint(vol.ct, vol.pet, vol.label, cfg.data.spacing_mm)
            prints[pid] = {"split": part, "slices_exported": len(zs), **facts}
            progress(i + 1, len(todo), pid)
        write_manifest(root / MANIFEST, rows)
        meta = {"source": str(h5_path.resolve()), "spacing_mm": list(cfg.data.spacing_mm)}
        write_json(root / "split.json", {**meta, **splits})
        write_json(root / SPEC, spec.to_dict())
        canvas_facts = {"canvas": canvas.side, "divisor": spec.divisor, "canvas_reason": canvas.reason}
        write_json(
            root / "fingerprint.json",
            {**meta, **canvas_facts, "geometry": spec.geometry, "image_mode": spec.image_mode, "patients": prints},
        )
        dump_config(cfg, root / "config.yaml")
    for s in SPLITS:
        result.slices[s] = sum(r.split == s for r in rows)
        result.tumour_slices[s] = sum(r.split == s and r.tumour_pixels > 0 for r in rows)
    return result
