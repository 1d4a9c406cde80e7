"""Gathering what ``evaluate`` scores, one case at a time: the truth (the source's label on the
case's own grid whenever the source can be found), the prediction mapped back onto that grid,
the PET for the baseline and the slices for the 2D diagnostics.

Predictions come from a model (run over the split's PNGs), a folder of PNG masks named like the
images, or volumes on disk: an ``infer`` output folder (``predictions.h5`` or ``<case>.nii.gz``),
a label_data HDF5 file, or any folder of ``<case>.nii.gz`` masks (nnU-Net's, for one).

Nothing is read ahead: a case's PNGs are read (and predicted) when the case is scored and dropped
after it, so memory holds one case whatever the size of the split (``bench/bench_evaluate.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sts_seg.config import Config
from sts_seg.core.resample import resample_mask
from sts_seg.core.restack import covered_slices, restack
from sts_seg.errors import DataError
from sts_seg.evaluate.guards import check_no_leakage, check_unseen_by_cv, patient_of
from sts_seg.io import png
from sts_seg.io.layout import Pair, list_images, list_pairs
from sts_seg.io.manifest import MANIFEST, SliceRow, read_manifest
from sts_seg.io.reading import read_json
from sts_seg.modelsource import ModelSource
from sts_seg.prepare.plan import CaseGrid
from sts_seg.progress import ProgressFn, no_progress
from sts_seg.sources import Case, Source
from sts_seg.sources import open_configured as open_data_source
from sts_seg.sources.checks import tumour_mask

CASES = "cases.json"
#: ``(image, truth, prediction)`` of one PNG slice, each as read or predicted at the image's size
Slice = tuple[np.ndarray, np.ndarray, np.ndarray]
#: the predicted masks of some pairs, given their images
PredictFn = Callable[[list[Pair], dict[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass
class CaseEval:
    """One case to score. Volumes ``(Z, Y, X)`` uint8 on the case's own grid (``spacing`` mm);
    ``pet`` None without a source; ``covered``: slices the prediction covers (baseline likewise);
    ``slices``: ``(image name, grid z)`` of its PNGs; ``grid_truth``/``grid_pred`` on the slicing grid;
    ``pngs``: the case's PNG slices by image name (for overlays)."""

    case: str
    patient: str
    truth: np.ndarray
    pred: np.ndarray
    pet: np.ndarray | None
    covered: np.ndarray
    spacing: tuple[float, float, float]
    slices: list[tuple[str, int]] = field(default_factory=list)
    grid_truth: np.ndarray | None = None
    grid_pred: np.ndarray | None = None
    grid_spacing: tuple[float, float, float] | None = None
    pngs: dict[str, Slice] = field(default_factory=dict)


@dataclass
class ImageEval:
    """One image of a dataset without manifest (2D only): its PNG slice, keyed by ``name``."""

    name: str
    patient: str
    png: Slice


@dataclass
class Plan:
    """What will be scored: a header for the report, notes, and the case iterator (or, for a
    dataset without manifest, the image iterator); ``missing``: cases the predictions lack."""

    header: dict
    notes: list[str]
    cases: Iterator[CaseEval]
    images: Iterator[ImageEval] | None = None
    missing: list[str] = field(default_factory=list)


def resolve_source(dataset: Path | None, cfg: Config) -> Path | None:
    """``data.source`` (``--source``) > the source recorded in the dataset's split.json, if it exists."""
    if cfg.data.source is not None:
        return Path(cfg.data.source)
    split_json = Path(dataset) / "split.json" if dataset is not None else None
    if split_json is not None and split_json.is_file():
        src = read_json(split_json, "split file", "re-run 'stsseg prepare'").get("source")
        if src and Path(src).exists():
            return Path(src)
    return None


def open_configured(path: Path, cfg: Config) -> Source:
    return open_data_source(path, cfg.data)


def source_truth(source: Source, case: str, cfg: Config) -> tuple[np.ndarray, Case]:
    """``(tumour mask, case)`` of ``case`` on its own grid, from the source."""
    c = source.read(case)
    if c.label is None:
        raise DataError(f"{source.path}: case {case} has no label to score against")
    return tumour_mask(f"case {case}", c.label, cfg.data.foreground_labels, cfg.data.background_labels), c


def split_cases(dataset: Path, split: str) -> list[str] | None:
    """The cases of ``split`` in a prepared dataset's ``cases.json``; None without one."""
    path = Path(dataset) / CASES
    if not path.is_file():
        return None
    grids = read_json(path, "case list", "re-run 'stsseg prepare'")
    return sorted(c for c, d in grids.items() if isinstance(d, dict) and d.get("split") == split) or None


def read_grids(dataset: Path, rows: list[SliceRow]) -> dict[str, CaseGrid]:
    """``cases.json`` (each case's own grid and slicing grid), or, for a dataset without it, the
    manifest's grids with no resampling."""
    path = Path(dataset) / CASES
    if path.is_file():
        return {c: CaseGrid.from_dict(d) for c, d in read_json(path, "case list", "re-run 'stsseg prepare'").items()}
    out = {}
    for r in rows:
        shape = (r.native_z, r.native_h, r.native_w)
        out.setdefault(r.case, CaseGrid(r.case, r.patient, r.split, shape, (0.0,) * 3, shape, (0.0,) * 3))
    return out


def _by_model(model: ModelSource, cfg: Config) -> PredictFn:
    from sts_seg.infer.images import predict_images
    from sts_seg.infer.loading import load_predictor

    predictor, spec, _card = load_predictor(model, cfg, cfg.eval.batch_size, cfg.infer.tta)

    def predict(pairs: list[Pair], images: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        labels = predict_images(predictor, spec, [images[p.name] for p in pairs])
        return {p.name: lab for p, lab in zip(pairs, labels, strict=True)}

    return predict


def _from_folder(folder: Path, pairs: list[Pair], cfg: Config) -> PredictFn:
    """Every pair must have its mask in ``folder`` (checked now, by name); masks are read on demand."""
    if not Path(folder).is_dir():
        raise DataError(f"{folder}: predictions folder not found; pass a folder of masks named like the images")
    files = list_images(folder)
    missing = [p.name for p in pairs if p.name not in files]
    if missing:
        raise DataError(
            f"{folder}: no predicted mask for {len(missing)} image(s) (e.g. {', '.join(missing[:3])}); "
            "name predictions exactly like the images"
        )

    def read(pairs: list[Pair], images: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {}
        for p in pairs:
            mask, shape = png.read_mask(files[p.name], cfg.data.colours), images[p.name].shape[:2]
            if mask.shape != shape:
                raise DataError(
                    f"{files[p.name]}: predicted mask is {mask.shape[1]}x{mask.shape[0]} px but its image "
                    f"{p.image.name} is {shape[1]}x{shape[0]}; predict at the image's size"
                )
            out[p.name] = mask
        return out

    return read


def _read_pngs(pairs: list[Pair], predict: PredictFn, cfg: Config) -> dict[str, Slice]:
    """``{name: (image, truth 0/1, prediction 0/1)}`` of ``pairs``."""
    images = {p.name: png.read_image(p.image) for p in pairs}
    pred = predict(pairs, images)
    return {p.name: (images[p.name], (png.read_mask(p.mask, cfg.data.colours) > 0).astype(np.uint8),
                     (pred[p.name] > 0).astype(np.uint8)) for p in pairs}  # fmt: skip


def _manifest_rows(dataset: Path, split: str, pairs: list[Pair]) -> tuple[dict[str, SliceRow], list[SliceRow]] | None:
    if not (Path(dataset) / MANIFEST).is_file():
        return None
    every = read_manifest(dataset)
    rows = {r.name: r for r in every if r.split == split}
    unknown = [p.name for p in pairs if p.name not in rows]
    if unknown:
        raise DataError(
            f"{Path(dataset) / split}: {len(unknown)} file(s) not in manifest.csv (e.g. {unknown[0]}); "
            "the folder was changed after 'stsseg prepare'"
        )
    return rows, every


def _covered_on_source(covered: np.ndarray, g: CaseGrid) -> np.ndarray:
    if not g.resampled:
        return covered
    return resample_mask(covered[:, None, None], (g.source_shape[0], 1, 1))[:, 0, 0] > 0


def _case_evals(cfg: Config, grids: dict[str, CaseGrid], srows: list[SliceRow], pairs: dict[str, Pair],
                predict: PredictFn, source: Source | None, progress: ProgressFn) -> Iterator[CaseEval]:  # fmt: skip
    by_case: dict[str, list[SliceRow]] = {}
    for r in srows:
        by_case.setdefault(r.case, []).append(r)
    for i, case in enumerate(sorted(by_case)):
        rows, g = by_case[case], grids[case]
        pngs = _read_pngs([pairs[r.name] for r in rows], predict, cfg)
        grid_pred = restack(rows, {k: v[2] for k, v in pngs.items()})[case]
        covered = covered_slices(rows)[case]
        if source is not None:
            truth, c = source_truth(source, case, cfg)
            pet, spacing = c.pet, c.spacing
            if truth.shape != g.source_shape:
                raise DataError(
                    f"{source.path}: case {case} has shape {truth.shape}, the dataset was cut from {g.source_shape}; "
                    "pass the source the dataset was prepared from (--source)"
                )
            grid_truth = resample_mask(truth, g.grid_shape) if g.resampled else truth
        else:
            grid_truth, pet = restack(rows, {k: v[1] for k, v in pngs.items()})[case], None
            truth = resample_mask(grid_truth, g.source_shape) if g.resampled else grid_truth
            spacing = g.source_spacing if all(g.source_spacing) else tuple(cfg.data.spacing_mm)
        pred = resample_mask(grid_pred, g.source_shape) if g.resampled else grid_pred
        grid_sp = g.grid_spacing if all(g.grid_spacing) else spacing
        yield CaseEval(case, g.patient, truth, pred, pet, _covered_on_source(covered, g), spacing,
                       [(r.name, r.z) for r in rows], grid_truth, grid_pred, grid_sp, pngs)  # fmt: skip
        progress(i + 1, len(by_case), case)


def _image_evals(pairs: list[Pair], predict: PredictFn, cfg: Config, progress: ProgressFn) -> Iterator[ImageEval]:
    step = cfg.eval.batch_size
    for start in range(0, len(pairs), step):
        chunk = pairs[start : start + step]
        for name, s in _read_pngs(chunk, predict, cfg).items():
            yield ImageEval(name, patient_of(name), s)
        progress(min(start + step, len(pairs)), len(pairs), chunk[-1].name)


def plan_dataset(
    cfg: Config, dataset: Path, model: ModelSource | None, predictions: Path | None, progress: ProgressFn = no_progress
) -> Plan:
    """A prepared split predicted (or read) case by case and scored per case on its own grid."""
    split = cfg.eval.split
    pairs = list_pairs(dataset, split)
    if not pairs:
        raise DataError(f"{Path(dataset) / split}: no image/mask pairs to evaluate")
    found = _manifest_rows(dataset, split, pairs)
    rows = found[0] if found else None
    patients = {rows[p.name].patient for p in pairs} if rows else {patient_of(p.name) for p in pairs}
    train = {r.patient for r in found[1] if r.split == "train"} if found else None
    check_no_leakage(dataset, split, [p.name for p in pairs], patients, train)
    if model is not None:
        check_unseen_by_cv(model, patients)
    predict = _by_model(model, cfg) if model is not None else _from_folder(predictions, pairs, cfg)
    header = {"split": split, "dataset": str(dataset), "model": str(model.path) if model else None,
              "predictions": str(predictions) if predictions else None, "n_images": len(pairs)}  # fmt: skip
    if rows is None:
        header["truth"] = "the dataset's PNG masks (no manifest: 2D only)"
        notes = [f"{dataset} has no manifest.csv: per-image 2D metrics only (pixel units), no per-patient 3D"]
        return Plan(header, notes, iter(()), _image_evals(pairs, predict, cfg, progress))
    srows = [rows[p.name] for p in pairs]
    src_path = resolve_source(dataset, cfg)
    source = open_configured(src_path, cfg) if src_path is not None else None
    plan = Plan(header, [], iter(()))
    if source is not None:
        header["truth"] = f"source {src_path} (label > 0 or data.foreground_labels, each case's own grid)"
    else:
        header["truth"] = "restacked PNG masks of the dataset (source not found)"
        plan.notes.append("truth: the dataset's PNG masks, the source was not found; pass --source to score on it")
    partial = sorted({r.case for r in srows} - {c for c, cov in covered_slices(srows).items() if cov.all()})
    if partial:
        plan.notes.append(
            f"the split exports only some slices of {', '.join(partial)} (prepare.select is not 'all'): "
            "the other slices count as predicted empty"
        )
    by_name = {p.name: p for p in pairs}
    plan.cases = _case_evals(cfg, read_grids(dataset, found[1]), srows, by_name, predict, source, progress)
    return plan
