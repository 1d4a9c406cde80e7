"""``stsseg prepare``: a source (Kaggle HDF5 or NIfTI cases) -> ``{train,valid,test}/{images,masks}/<CASE>_<z>.png``.

Order matters for honest numbers: the cases are listed from headers, patients are split (all
studies of a patient in one split), the canvas is chosen from the largest planned slice (no voxel
is ever cropped), then every case is read, checked, resampled to its planned grid and exported:
two cases in flight at a time (one read while the other is written), their slices encoded on
``prepare.workers`` threads, so memory does not grow with the number of cases. Everything is
written into a temporary folder that is renamed into place only when every case passed: a bad
case leaves nothing behind.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sts_seg.config import SPLITS, Config, dump_config
from sts_seg.core.split import split_patients
from sts_seg.errors import ConfigError, DataError
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.io.manifest import MANIFEST, SliceRow, write_manifest
from sts_seg.io.tables import write_json
from sts_seg.prepare.canvas import Canvas, plan_canvas
from sts_seg.prepare.export import ExportJob, export_case
from sts_seg.prepare.plan import CaseGrid, plan_grid, resolve_policy
from sts_seg.progress import ProgressFn, no_progress
from sts_seg.sources import Source, open_configured

SPEC, CASES = "spec.json", "cases.json"


@dataclass
class PrepareResult:
    """Where the dataset went, the split (patients), the canvas (and why), slice counts, notes."""

    output: Path
    splits: dict[str, list[str]]
    canvas: Canvas
    layout: str
    cases: dict[str, CaseGrid] = field(default_factory=dict)
    slices: dict[str, int] = field(default_factory=dict)
    tumour_slices: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def native_shapes(self) -> dict[str, tuple[int, int, int]]:
        return {c: g.source_shape for c, g in self.cases.items()}


def source_for(cfg: Config) -> Source:
    """The configured source (``data.source`` / ``--source``, ``--h5``)."""
    d = cfg.data
    if d.source is None:
        raise ConfigError("no source: pass --source PATH (an HDF5 file or a folder of NIfTI cases) or set data.source")
    return open_configured(d.source, d)


def _plan(cfg: Config, source: Source) -> tuple[dict[str, list[str]], dict[str, CaseGrid]]:
    infos = source.infos()
    patients = sorted({i.patient for i in infos})
    s = cfg.split
    splits = split_patients(patients, seed=s.seed, fractions=s.fractions, explicit=s.explicit, source=str(source.path))
    where = {pid: name for name in SPLITS for pid in splits[name]}
    policy = resolve_policy(cfg.prepare.spacing_mm, source.layout)
    grids = {i.case_id: plan_grid(i, where[i.patient], policy) for i in infos if i.patient in where}
    return splits, grids


def _jobs(cfg: Config, source: Source, grids: dict[str, CaseGrid], canvas: Canvas, root: Path) -> list[ExportJob]:
    spec, order = cfg.slice_spec(canvas.side), sorted(grids)
    p, d = cfg.prepare, cfg.data
    return [
        ExportJob(
            source,
            grids[c],
            spec,
            getattr(p.select, grids[c].split),
            p.negative_ratio,
            [p.seed, k],
            root,
            d.foreground_labels,
            d.background_labels,
        )
        for k, c in enumerate(order)
    ]


#: cases in flight at once: one is read and resampled while the other's slices are written
CASES_IN_FLIGHT = 2


def _run(jobs: list[ExportJob], workers: int, progress: ProgressFn) -> tuple[list[SliceRow], dict]:
    """Export every job; ``workers`` 1 runs everything in this thread, in order."""
    rows: list[SliceRow] = []
    facts: dict = {}
    if workers <= 1:
        for k, job in enumerate(jobs):
            r, facts[job.grid.case_id] = export_case(job)
            rows += r
            progress(k + 1, len(jobs), job.grid.case_id)
        return rows, facts
    slices = ThreadPoolExecutor(workers, thread_name_prefix="stsseg-png")
    cases = ThreadPoolExecutor(min(CASES_IN_FLIGHT, len(jobs)), thread_name_prefix="stsseg-case")
    try:
        results = cases.map(lambda job: export_case(job, slices), jobs)
        for k, (job, (r, f)) in enumerate(zip(jobs, results, strict=True)):
            rows += r
            facts[job.grid.case_id] = f
            progress(k + 1, len(jobs), job.grid.case_id)
    finally:  # on an error (or SIGTERM): no new slice or case starts; running ones end first
        slices.shutdown(wait=False, cancel_futures=True)
        cases.shutdown(wait=True, cancel_futures=True)
        slices.shutdown(wait=True)
    return rows, facts


def prepare(*, cfg: Config, force: bool = False, progress: ProgressFn = no_progress) -> PrepareResult:
    """Split ``data.source`` by patient and export its slices into ``data.dataset``."""
    output = Path(cfg.data.dataset)
    check_writable_dir(output, force, "dataset directory")
    source = source_for(cfg)
    splits, grids = _plan(cfg, source)
    canvas = plan_canvas({c: g.grid_shape for c, g in grids.items()}, cfg.model, cfg.prepare.geometry)
    result = PrepareResult(output, splits, canvas, source.layout, grids, notes=[*source.notes, *canvas.notes])
    resampled = [c for c, g in grids.items() if g.resampled]
    if resampled:
        g = grids[resampled[0]]
        result.notes.append(
            f"{len(resampled)} case(s) resampled to {[round(v, 2) for v in g.grid_spacing]} mm (e.g. {g.case_id}: "
            f"{list(g.source_shape)} -> {list(g.grid_shape)}); predictions are mapped back to each case's own grid"
        )
    with staged_dir(output, force, "dataset directory") as root:
        for s in SPLITS:
            for sub in ("images", "masks"):
                (root / s / sub).mkdir(parents=True)
        rows, facts = _run(_jobs(cfg, source, grids, canvas, root), cfg.prepare.workers, progress)
        write_manifest(root / MANIFEST, rows)
        meta = {"source": str(Path(source.path).resolve()), "layout": source.layout}
        write_json(root / "split.json", {**meta, **splits})
        write_json(root / CASES, {c: g.to_dict() for c, g in sorted(grids.items())})
        policy = resolve_policy(cfg.prepare.spacing_mm, source.layout)
        write_json(root / SPEC, {**cfg.slice_spec(canvas.side).to_dict(), "spacing_policy": policy})
        write_json(
            root / "fingerprint.json",
            {**meta, "canvas": canvas.side, "divisor": cfg.model.divisor, "canvas_reason": canvas.reason,
             "geometry": cfg.prepare.geometry, "image_mode": cfg.prepare.image_mode, "cases": facts},
        )  # fmt: skip
        dump_config(cfg, root / "config.yaml")
    for s in SPLITS:
        result.slices[s] = sum(r.split == s for r in rows)
        result.tumour_slices[s] = sum(r.split == s and r.tumour_pixels > 0 for r in rows)
    if not rows:
        raise DataError(f"{source.path}: no slices exported; check split and prepare.select")
    return result
