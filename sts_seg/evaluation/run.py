"""Score a split: predict (or read predicted masks), restack per patient, add the PET baseline.

Headline = per-patient 3D tumour Dice on the native grid (needs the prepare manifest);
per-image 2D rows are reported too. A folder without manifest gets 2D scores only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sts_seg.baseline import pet_threshold
from sts_seg.config import Config, config_to_dict
from sts_seg.data.geometry import back_to_shape
from sts_seg.data.manifest import MANIFEST, SliceRow, read_manifest
from sts_seg.data.restack import covered_slices, restack
from sts_seg.errors import ConfigError, DataError
from sts_seg.evaluation import outputs
from sts_seg.evaluation.guards import check_no_leakage, patient_of
from sts_seg.io import h5, png
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.io.layout import Pair, list_images, list_pairs
from sts_seg.metrics import SUMMARY_KEYS, case_metrics, empty_counts, summarize
from sts_seg.postprocess import is_active, postprocess
from sts_seg.train.arrays import fit_image
from sts_seg.types import ProgressFn, no_progress


@dataclass
class EvalReport:
    output: Path
    split: str
    per_image: list[dict[str, Any]]
    per_patient: list[dict[str, Any]]
    baseline: list[dict[str, Any]] | None
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _model_predictions(
    model_path: Path, pairs: list[Pair], images: dict[str, np.ndarray], cfg: Config, progress: ProgressFn
) -> dict[str, np.ndarray]:
    from sts_seg.predict import Predictor

    pred = Predictor.from_path(model_path, cfg.eval.batch_size)
    batch = np.stack([fit_image(images[p.name], pred.size, pred.channels, p.image) for p in pairs])
    labels = pred.labels(batch, progress)
    return {p.name: back_to_shape(lab, images[p.name].shape[:2]) for p, lab in zip(pairs, labels, strict=True)}


def _folder_predictions(
    folder: Path, pairs: list[Pair], shapes: dict[str, tuple[int, int]], rgb_map: Any
) -> dict[str, np.ndarray]:
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
        out[p.name] = back_to_shape(png.read_mask(files[p.name], rgb_map), shapes[p.name])
    return out


def _per_image_native(
    rows: list[SliceRow], vol_truth: dict, vol_pred: dict, spacing: tuple[float, float, float], empty: str
) -> list[dict[str, Any]]:
    """2D rows on the native grid, read from the (post-processed) restacked volumes."""
    return [
        {
            "image": r.name,
            "patient": r.patient,
            "z": r.z,
            **case_metrics(vol_pred[r.patient][r.z], vol_truth[r.patient][r.z], spacing[1:], empty),
        }
        for r in rows
    ]


def _per_image_canvas(pairs: list[Pair], truth: dict, pred: dict, empty: str) -> list[dict[str, Any]]:
    """2D rows in pixel units for a folder without manifest."""
    return [
        {
            "image": p.name,
            "patient": patient_of(p.name),
            "z": "",
            **case_metrics(pred[p.name], truth[p.name], (1.0, 1.0), empty),
        }
        for p in pairs
    ]


def _per_patient(
    vol_truth: dict, vol_pred: dict, spacing: tuple[float, float, float], empty: str
) -> list[dict[str, Any]]:
    return [
        {"patient": pid, **case_metrics(vol_pred[pid], vol_truth[pid], spacing, empty)} for pid in sorted(vol_truth)
    ]


def resolve_h5(dataset: Path, h5_path: Path | None, cfg: Config) -> Path | None:
    """``--h5`` > ``data.h5`` > the source recorded in split.json, if the file exists."""
    for cand in (h5_path, cfg.data.h5):
        if cand is not None:
            return Path(cand)
    split_json = Path(dataset) / "split.json"
    if split_json.is_file():
        src = json.loads(split_json.read_text()).get("source")
        if src and Path(src).is_file():
            return Path(src)
    return None


def baseline_rows(
    h5_path: Path, vol_truth: dict[str, np.ndarray], covered: dict[str, np.ndarray], cfg: Config
) -> list[dict[str, Any]]:
    """PET-threshold baseline per patient, scored on the same slices as the model."""
    b, rows = cfg.eval.baseline, []
    for pid in sorted(vol_truth):
        pet = h5.read_volume(h5_path, pid).pet
        if pet.shape != vol_truth[pid].shape:
            raise DataError(
                f"{h5_path}: pet_data/{pid} has shape {pet.shape}, the dataset's native grid is "
                f"{vol_truth[pid].shape}; pass the HDF5 the dataset was prepared from (--h5)"
            )
        mask = pet_threshold(pet, b.mode, b.fraction, b.suv, b.keep_components)
        mask[~covered[pid]] = 0
        rows.append({"patient": pid, **case_metrics(mask, vol_truth[pid], cfg.data.spacing_mm, cfg.eval.empty_policy)})
    return rows


def _pick_overlays(per_image: list[dict[str, Any]], n: int) -> list[tuple[str, str]]:
    scored = [(r["dice"], r["image"]) for r in per_image if r["gt_volume_mm3"] > 0 and not np.isnan(r["dice"])]
    scored.sort()
    worst, best = scored[:n], scored[::-1][:n]
    picks = [(f"best{i + 1}", name) for i, (_, name) in enumerate(best)]
    return picks + [(f"worst{i + 1}", name) for i, (_, name) in enumerate(worst) if name not in {b for _, b in best}]


def evaluate(
    cfg: Config,
    dataset: Path,
    output: Path,
    model_path: Path | None = None,
    predictions: Path | None = None,
    h5_path: Path | None = None,
    force: bool = False,
    progress: ProgressFn = no_progress,
) -> EvalReport:
    """Score ``cfg.eval.split`` of ``dataset`` and write the report to ``output``."""
    if (model_path is None) == (predictions is None):
        raise ConfigError("give exactly one of --model (predict now) or --predictions (score a folder of masks)")
    check_writable_dir(output, force, "evaluation folder")
    split, empty, notes = cfg.eval.split, cfg.eval.empty_policy, []
    pairs = list_pairs(dataset, split)
    if not pairs:
        raise DataError(f"{Path(dataset) / split}: no image/mask pairs to evaluate")
    rows = None
    if (Path(dataset) / MANIFEST).is_file():
        rows = {r.name: r for r in read_manifest(dataset) if r.split == split}
        unknown = [p.name for p in pairs if p.name not in rows]
        if unknown:
            raise DataError(
                f"{Path(dataset) / split}: {len(unknown)} file(s) not in manifest.csv (e.g. {unknown[0]}); "
                "the folder was changed after 'stsseg prepare'"
            )
    patients = {rows[p.name].patient for p in pairs} if rows else {patient_of(p.name) for p in pairs}
    check_no_leakage(dataset, split, [p.name for p in pairs], patients)

    rgb_map = tuple((c.color, c.label) for c in cfg.data.rgb_map)
    truth = {p.name: (png.read_mask(p.mask, rgb_map) > 0).astype(np.uint8) for p in pairs}
    images = {p.name: png.read_image(p.image) for p in pairs}
    if model_path is not None:
        pred = _model_predictions(model_path, pairs, images, cfg, progress)
    else:
        pred = _folder_predictions(predictions, pairs, {k: v.shape for k, v in truth.items()}, rgb_map)
    pred = {k: (v > 0).astype(np.uint8) for k, v in pred.items()}
    spacing = cfg.data.spacing_mm
    per_patient: list[dict[str, Any]] = []
    base: list[dict[str, Any]] | None = None
    if rows is not None:
        srows = [rows[p.name] for p in pairs]
        vol_truth, vol_pred, covered = restack(srows, truth), restack(srows, pred), covered_slices(srows)
        if is_active(cfg.postprocess):
            vol_pred = {pid: postprocess(v, cfg.postprocess, spacing) for pid, v in vol_pred.items()}
            notes.append(f"post-processing applied to the 3D predictions: {cfg.postprocess.model_dump()}")
        per_image = _per_image_native(srows, vol_truth, vol_pred, spacing, empty)
        per_patient = _per_patient(vol_truth, vol_pred, spacing, empty)
        partial = sorted(pid for pid, c in covered.items() if not c.all())
        if partial:
            notes.append(
                f"3D metrics cover only the exported slices of {', '.join(partial)} "
                "(prepare.select for this split is not 'all')"
            )
        src = resolve_h5(dataset, h5_path, cfg)
        if not cfg.eval.baseline.enabled:
            notes.append("PET baseline disabled (eval.baseline.enabled: false)")
        elif src is None or not src.is_file():
            notes.append("PET baseline skipped: the source HDF5 was not found; pass --h5 or set data.h5")
        else:
            base = baseline_rows(src, vol_truth, covered, cfg)
    else:
        per_image = _per_image_canvas(pairs, truth, pred, empty)
        notes.append(f"{dataset} has no manifest.csv: per-image 2D metrics only (pixel units), no per-patient 3D")

    header = {
        "split": split,
        "dataset": str(dataset),
        "model": str(model_path) if model_path else None,
        "predictions": str(predictions) if predictions else None,
        "n_images": len(pairs),
    }
    summary = _summary(header, cfg, sorted(patients), per_patient, per_image, base, notes)
    overlays = [(tag, n, images[n], truth[n], pred[n]) for tag, n in _pick_overlays(per_image, cfg.eval.overlays)]
    _write(output, force, summary, per_patient, base, per_image, overlays)
    return EvalReport(Path(output), split, per_image, per_patient, base, summary, notes)


def _seed_pairs(summary: dict[str, Any]) -> list[tuple[str, float]]:
    out = []
    for scope, key in (("3d", "per_patient_3d"), ("2d", "per_image_2d")):
        stats = summary.get(key)
        if stats:
            out += [
                (f"tumour_dice_{scope}_mean", stats["dice"]["mean"]),
                (f"tumour_dice_{scope}_median", stats["dice"]["median"]),
                (f"iou_{scope}_mean", stats["iou"]["mean"]),
                (f"hd95_mm_{scope}_median", stats["hd95_mm"]["median"]),
                (f"assd_mm_{scope}_median", stats["assd_mm"]["median"]),
            ]
    if summary.get("baseline"):
        out.append(("baseline_tumour_dice_3d_mean", summary["baseline"]["per_patient_3d"]["dice"]["mean"]))
    return out


PATIENT_COLUMNS = (
    "patient",
    "dice",
    "iou",
    "precision",
    "recall",
    "hd95_mm",
    "assd_mm",
    "gt_volume_mm3",
    "pred_volume_mm3",
    "fp_volume_mm3",
    "fn_volume_mm3",
)


def _summary(
    header: dict[str, Any],
    cfg: Config,
    patients: list[str],
    per_patient: list[dict[str, Any]],
    per_image: list[dict[str, Any]],
    base: list[dict[str, Any]] | None,
    notes: list[str],
) -> dict[str, Any]:
    """summary.json: mean/sd/median/quartiles/counts per metric, empty counts, baseline, config."""
    return {
        **header,
        "empty_policy": cfg.eval.empty_policy,
        "spacing_mm": list(cfg.data.spacing_mm),
        "patients": patients,
        "per_patient_3d": summarize(per_patient, SUMMARY_KEYS) if per_patient else None,
        "per_patient_3d_empty": empty_counts(per_patient) if per_patient else None,
        "per_image_2d": summarize(per_image, SUMMARY_KEYS) if per_image else None,
        "per_image_2d_empty": empty_counts(per_image) if per_image else None,
        "baseline": {"method": cfg.eval.baseline.model_dump(), "per_patient_3d": summarize(base, SUMMARY_KEYS)}
        if base
        else None,
        "postprocess": cfg.postprocess.model_dump(),
        "notes": notes,
        "config": config_to_dict(cfg),
    }


def _write(
    output: Path,
    force: bool,
    summary: dict[str, Any],
    per_patient: list[dict[str, Any]],
    base: list[dict[str, Any]] | None,
    per_image: list[dict[str, Any]] | None = None,
    overlays: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]] = (),
) -> None:
    with staged_dir(output, force, "evaluation folder") as tmp:
        if per_image:
            outputs.write_rows(tmp / "per_image.csv", per_image, ("image", *PATIENT_COLUMNS, "z"))
        if per_patient:
            outputs.write_rows(tmp / "per_patient.csv", per_patient, PATIENT_COLUMNS)
        if base:
            outputs.write_rows(tmp / "baseline_per_patient.csv", base, PATIENT_COLUMNS)
        outputs.write_json(tmp / "summary.json", summary)
        outputs.write_seed_csv(tmp / "evaluation.csv", _seed_pairs(summary))
        if overlays:
            outputs.write_overlays(tmp / "overlays", overlays)


def evaluate_volumes(
    cfg: Config, predictions_h5: Path, truth_h5: Path, output: Path, force: bool = False
) -> EvalReport:
    """Score a ``label_data`` HDF5 (e.g. from ``stsseg infer --h5``) against the source file, per patient in 3D."""
    check_writable_dir(output, force, "evaluation folder")
    pred = {k: (v > 0).astype(np.uint8) for k, v in h5.read_labels(predictions_h5).items()}
    truth = {pid: (h5.read_volume(truth_h5, pid).label > 0).astype(np.uint8) for pid in pred}
    for pid in pred:
        if pred[pid].shape != truth[pid].shape:
            raise DataError(
                f"{predictions_h5}: label_data/{pid} has shape {pred[pid].shape}, "
                f"the source has {truth[pid].shape}; predict on the same file"
            )
    if is_active(cfg.postprocess):
        pred = {pid: postprocess(v, cfg.postprocess, cfg.data.spacing_mm) for pid, v in pred.items()}
    per_patient = _per_patient(truth, pred, cfg.data.spacing_mm, cfg.eval.empty_policy)
    covered = {pid: np.ones(v.shape[0], bool) for pid, v in truth.items()}
    base = baseline_rows(truth_h5, truth, covered, cfg) if cfg.eval.baseline.enabled else None
    header = {"split": "volumes", "predictions": str(predictions_h5), "truth": str(truth_h5)}
    summary = _summary(header, cfg, sorted(pred), per_patient, [], base, [])
    _write(output, force, summary, per_patient, base)
    return EvalReport(Path(output), "volumes", [], per_patient, base, summary, [])
