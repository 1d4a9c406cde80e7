"""Gathering what ``evaluate`` scores: the truth (the source's label volumes whenever the source
can be found), predictions (a model, a mask folder or a label_data HDF5) and the PET for the
baseline, all on each patient's native grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sts_seg.config import BaselineConfig, Config
from sts_seg.core.restack import covered_slices, restack
from sts_seg.errors import DataError
from sts_seg.evaluate.guards import check_no_leakage, patient_of
from sts_seg.io import h5, png
from sts_seg.io.layout import Pair, list_images, list_pairs
from sts_seg.io.manifest import MANIFEST, SliceRow, read_manifest
from sts_seg.io.reading import read_json
from sts_seg.progress import ProgressFn, no_progress


@dataclass
class Gathered:
    """Everything scoring needs. Volumes are ``{patient: (Z, Y, X) uint8}`` on the native grid;
    slices ``{image name: (h, w) uint8}``; ``records`` are ``(image, patient, z)``."""

    header: dict
    patients: list[str]
    truth_vols: dict[str, np.ndarray] = field(default_factory=dict)
    pred_vols: dict[str, np.ndarray] = field(default_factory=dict)
    covered: dict[str, np.ndarray] = field(default_factory=dict)
    records: list[tuple[str, str, int | str]] = field(default_factory=list)
    truth_slices: dict[str, np.ndarray] = field(default_factory=dict)
    pred_slices: dict[str, np.ndarray] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)
    source: Path | None = None
    notes: list[str] = field(default_factory=list)


def resolve_h5(dataset: Path | None, h5_path: Path | None) -> Path | None:
    """``h5_path`` (``data.h5``, ``--h5``) > the source recorded in the dataset's split.json, if it exists."""
    if h5_path is not None:
        return Path(h5_path)
    split_json = Path(dataset) / "split.json" if dataset is not None else None
    if split_json is not None and split_json.is_file():
        src = read_json(split_json, "split file", "re-run 'stsseg prepare'").get("source")
        if src and Path(src).is_file():
            return Path(src)
    return None


def _model_predictions(
    model: Path, pairs: list[Pair], images: dict[str, np.ndarray], cfg: Config, progress: ProgressFn
) -> dict[str, np.ndarray]:
    from sts_seg.infer.images import predict_images
    from sts_seg.infer.loading import load_predictor

    predictor, spec = load_predictor(model, cfg, cfg.eval.batch_size)
    labels = predict_images(predictor, spec, [images[p.name] for p in pairs], progress)
    return {p.name: lab for p, lab in zip(pairs, labels, strict=True)}


def _folder_predictions(folder: Path, pairs: list[Pair], shapes: dict[str, tuple], cfg: Config) -> dict:
    if not Path(folder).is_dir():
        raise DataError(f"{folder}: predictions folder not found; pass a folder of masks named like the images")
    files = list_images(folder)
    missing = [p.name for p in pairs if p.name not in files]
    if missing:
        raise DataError(
            f"{folder}: no predicted mask for {len(missing)} image(s) (e.g. {', '.join(missing[:3])}); "
            "name predictions exactly like the images"
        )
    out = {}
    for p in pairs:
        mask = png.read_mask(files[p.name], cfg.data.colours)
        if mask.shape != shapes[p.name]:
            raise DataError(
                f"{files[p.name]}: predicted mask is {mask.shape[1]}x{mask.shape[0]} px but its image "
                f"{p.image.name} is {shapes[p.name][1]}x{shapes[p.name][0]}; predict at the image's size"
            )
        out[p.name] = mask
    return out


def _manifest_rows(dataset: Path, split: str, pairs: list[Pair]) -> dict[str, SliceRow] | None:
    if not (Path(dataset) / MANIFEST).is_file():
        return None
    rows = {r.name: r for r in read_manifest(dataset) if r.split == split}
    unknown = [p.name for p in pairs if p.name not in rows]
    if unknown:
        raise DataError(
            f"{Path(dataset) / split}: {len(unknown)} file(s) not in manifest.csv (e.g. {unknown[0]}); "
            "the folder was changed after 'stsseg prepare'"
        )
    return rows


def source_truth(source: Path, rows: list[SliceRow]) -> dict[str, np.ndarray]:
    """``{patient: label > 0}`` read from the source, checked against the manifest's native grid."""
    out = {}
    for pid in sorted({r.patient for r in rows}):
        label = h5.read_volume(source, pid).label
        grid = next((r.native_z, r.native_h, r.native_w) for r in rows if r.patient == pid)
        if label.shape != grid:
            raise DataError(
                f"{source}: label_data/{pid} has shape {label.shape}, the dataset was cut from {grid}; "
                "pass the HDF5 the dataset was prepared from (--h5)"
            )
        out[pid] = (label > 0).astype(np.uint8)
    return out


def _restacked(
    g: Gathered, srows: list[SliceRow], truth_pngs: dict[str, np.ndarray], cfg: Config, dataset: Path
) -> None:
    """Volumes of ``g`` from the manifest: predictions restacked, truth from the source (or PNGs)."""
    g.records = [(r.name, r.patient, r.z) for r in srows]
    g.pred_vols, g.covered = restack(srows, g.pred_slices), covered_slices(srows)
    g.source = resolve_h5(dataset, cfg.data.h5)
    if g.source is not None and g.source.is_file():
        g.truth_vols = source_truth(g.source, srows)
        g.header["truth"] = f"source {g.source} (label_data > 0, native grid)"
    else:
        g.truth_vols = restack(srows, truth_pngs)
        g.header["truth"] = "restacked PNG masks of the dataset (source not found)"
        g.notes.append("truth: the dataset's PNG masks, the source HDF5 was not found; pass --h5 to score on it")
    partial = sorted(pid for pid, c in g.covered.items() if not c.all())
    if partial:
        g.notes.append(
            f"the split exports only some slices of {', '.join(partial)} (prepare.select is not 'all'): "
            "the other slices count as predicted empty"
        )


def gather_dataset(
    cfg: Config, dataset: Path, model: Path | None, predictions: Path | None, progress: ProgressFn = no_progress
) -> Gathered:
    """A prepared split predicted (or read) slice by slice and, with a manifest, scored per patient."""
    split = cfg.eval.split
    pairs = list_pairs(dataset, split)
    if not pairs:
        raise DataError(f"{Path(dataset) / split}: no image/mask pairs to evaluate")
    rows = _manifest_rows(dataset, split, pairs)
    patients = {rows[p.name].patient for p in pairs} if rows else {patient_of(p.name) for p in pairs}
    check_no_leakage(dataset, split, [p.name for p in pairs], patients)
    truth = {p.name: (png.read_mask(p.mask, cfg.data.colours) > 0).astype(np.uint8) for p in pairs}
    images = {p.name: png.read_image(p.image) for p in pairs}
    if model is not None:
        pred = _model_predictions(model, pairs, images, cfg, progress)
    else:
        pred = _folder_predictions(predictions, pairs, {k: v.shape[:2] for k, v in images.items()}, cfg)
    header = {
        "split": split,
        "dataset": str(dataset),
        "model": str(model) if model else None,
        "predictions": str(predictions) if predictions else None,
        "n_images": len(pairs),
    }
    g = Gathered(header, sorted(patients), truth_slices=truth, images=images)
    g.pred_slices = {k: (v > 0).astype(np.uint8) for k, v in pred.items()}
    if rows is None:
        g.records = [(p.name, patient_of(p.name), "") for p in pairs]
        g.header["truth"] = "the dataset's PNG masks (no manifest: 2D only)"
        g.notes.append(f"{dataset} has no manifest.csv: per-image 2D metrics only (pixel units), no per-patient 3D")
        return g
    _restacked(g, [rows[p.name] for p in pairs], truth, cfg, dataset)
    return g


def gather_volumes(predictions_h5: Path, truth_h5: Path) -> Gathered:
    """A ``label_data`` HDF5 (e.g. from ``stsseg infer``) scored against the source file, per patient."""
    pred = {k: (v > 0).astype(np.uint8) for k, v in h5.read_labels(predictions_h5).items()}
    truth = {pid: (h5.read_volume(truth_h5, pid).label > 0).astype(np.uint8) for pid in pred}
    for pid in pred:
        if pred[pid].shape != truth[pid].shape:
            raise DataError(
                f"{predictions_h5}: label_data/{pid} has shape {pred[pid].shape}, "
                f"the source has {truth[pid].shape}; predict on the same file"
            )
    header = {
        "split": "volumes",
        "predictions": str(predictions_h5),
        "truth": f"source {truth_h5} (label_data > 0, native grid)",
    }
    covered = {pid: np.ones(v.shape[0], bool) for pid, v in truth.items()}
    return Gathered(header, sorted(pred), truth, pred, covered, source=Path(truth_h5))


def baseline_volumes(source: Path, g: Gathered, b: BaselineConfig) -> dict[str, np.ndarray]:
    """The PET-threshold baseline per patient, restricted to the slices the model was scored on."""
    from sts_seg.evaluate.baseline import pet_threshold

    out = {}
    for pid in sorted(g.truth_vols):
        pet = h5.read_volume(source, pid).pet
        if pet.shape != g.truth_vols[pid].shape:
            raise DataError(
                f"{source}: pet_data/{pid} has shape {pet.shape}, the dataset's native grid is "
                f"{g.truth_vols[pid].shape}; pass the HDF5 the dataset was prepared from (--h5)"
            )
        mask = pet_threshold(pet, b.mode, b.fraction, b.suv, b.keep_components)
        mask[~g.covered[pid]] = 0
        out[pid] = mask
    return out
