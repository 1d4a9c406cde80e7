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
from sts_seg.core.slicing import SliceSpec
from sts_seg.core.split import select_slices, split_patients
from sts_seg.errors import ConfigError
from sts_seg.io import h5, png
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.io.manifest import MANIFEST, SliceRow, write_manifest
from sts_seg.prepare.fingerprint import fingerprint
from sts_seg.progress import ProgressFn, no_progress


@dataclass
class PrepareResult:
    """Where the dataset went, the split, and slice counts per split."""

    output: Path
    splits: dict[str, list[str]]
    slices: dict[str, int] = field(default_factory=dict)
    tumour_slices: dict[str, int] = field(default_factory=dict)
    native_shapes: dict[str, tuple[int, int, int]] = field(default_factory=dict)


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
                p.size,
                p.offset_y,
                p.offset_x,
            )
        )
    return rows


def prepare(*, cfg: Config, force: bool = False, progress: ProgressFn = no_progress) -> PrepareResult:
    """Validate ``data.h5``, split by patient, export slices into ``data.dataset``; counts per split."""
    if cfg.data.h5 is None:
        raise ConfigError("no HDF5 input: pass --h5 PATH or set data.h5 in the config")
    h5_path, output = Path(cfg.data.h5), Path(cfg.data.dataset)
    check_writable_dir(output, force, "dataset directory")
    patients = h5.list_patients(h5_path)
    volumes = {pid: h5.read_volume(h5_path, pid) for pid in patients}  # validates everything first
    splits = split_patients(
        patients, seed=cfg.split.seed, fractions=cfg.split.fractions, explicit=cfg.split.explicit, source=str(h5_path)
    )
    where = {pid: s for s in SPLITS for pid in splits[s]}
    result = PrepareResult(Path(output), splits, native_shapes={p: v.ct.shape for p, v in volumes.items()})
    rows: list[SliceRow] = []
    prints = {}
    spec = cfg.slice_spec
    with staged_dir(output, force, "dataset directory") as root:
        for s in SPLITS:
            for sub in ("images", "masks"):
                (root / s / sub).mkdir(parents=True)
        todo = [p for p in patients if p in where]
        for i, pid in enumerate(todo):
            vol, split = volumes[pid], where[pid]
            rng = np.random.default_rng([cfg.prepare.seed, patients.index(pid)])
            zs = select_slices(vol.label, getattr(cfg.prepare.select, split), cfg.prepare.negative_ratio, rng)
            rows += _export_patient(spec, vol, split, zs, root)
            facts = fingerprint(vol.ct, vol.pet, vol.label, cfg.data.spacing_mm)
            prints[pid] = {"split": split, "slices_exported": len(zs), **facts}
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
