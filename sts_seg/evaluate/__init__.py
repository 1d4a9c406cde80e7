"""``stsseg evaluate``: per-patient 3D tumour metrics (the headline), per-image 2D metrics, and
the PET-threshold baseline scored by the same code on the same slices.

:func:`evaluate` gathers (``gather``), scores (``score``, pure) and writes (``report``).
"""

from __future__ import annotations

from pathlib import Path

from sts_seg.config import Config, config_to_dict
from sts_seg.core.postprocess import postprocess
from sts_seg.errors import ConfigError
from sts_seg.evaluate.gather import Gathered, baseline_volumes, gather_dataset, gather_volumes, resolve_h5
from sts_seg.evaluate.report import EvalReport, Overlay, write_report
from sts_seg.evaluate.score import pick_overlays, score_slices, score_volumes
from sts_seg.io.atomic import check_writable_dir
from sts_seg.progress import ProgressFn, no_progress

__all__ = ["EvalReport", "evaluate"]


def _gather(cfg: Config, dataset: Path, progress: ProgressFn) -> Gathered:
    """Predictions from a model (default ``<run>/best.keras``), a mask folder, an ``infer`` output
    folder (``predictions.h5``) or a label_data HDF5 file, told apart by what is on disk."""
    from sts_seg.infer.volumes import PREDICTIONS

    model, predictions = cfg.eval.model, cfg.eval.predictions
    if model is not None and predictions is not None:
        raise ConfigError("give one of --model (predict now) or --predictions (score existing masks), not both")
    if predictions is not None and (Path(predictions) / PREDICTIONS).is_file():
        predictions = Path(predictions) / PREDICTIONS
    if predictions is not None and Path(predictions).is_file():  # a label_data HDF5
        src = resolve_h5(dataset, cfg.data.h5)
        if src is None:
            raise ConfigError("scoring an HDF5 of predictions needs the source file: pass --h5 or set data.h5")
        return gather_volumes(Path(predictions), src)
    if predictions is None and model is None:
        model = Path(cfg.train.run_dir) / "best.keras"
    return gather_dataset(cfg, dataset, model, predictions, progress)


def _overlays(g: Gathered, per_image_rows: list[dict], n: int) -> list[Overlay]:
    if not g.images:
        return []
    picks = pick_overlays(per_image_rows, n)
    return [(tag, name, g.images[name], g.truth_slices[name], g.pred_slices[name]) for tag, name in picks]


def report_folder(cfg: Config) -> Path:
    """``eval.output``, or ``<train.run_dir>/eval_<split>``."""
    return Path(cfg.eval.output or Path(cfg.train.run_dir) / f"eval_{cfg.eval.split}")


def evaluate(*, cfg: Config, force: bool = False, progress: ProgressFn = no_progress) -> EvalReport:
    """Score ``eval.split`` of ``data.dataset`` (or the HDF5 in ``eval.predictions``) into
    :func:`report_folder`."""
    dataset, output = Path(cfg.data.dataset), report_folder(cfg)
    check_writable_dir(output, force, "evaluation folder")
    g = _gather(cfg, dataset, progress)
    spacing, empty, hd = cfg.data.spacing_mm, cfg.eval.empty_policy, cfg.eval.hd95
    per_patient = baseline = per_image = None
    if g.truth_vols:
        if cfg.postprocess.active:
            pp = cfg.postprocess.model_dump()
            g.pred_vols = {pid: postprocess(v, spacing, **pp) for pid, v in g.pred_vols.items()}
            g.notes.append(f"post-processing applied to the 3D predictions: {cfg.postprocess.model_dump()}")
        per_patient = score_volumes(g.truth_vols, g.pred_vols, spacing, empty, hd)
        if g.records:  # 2D rows on the native grid, read from the (post-processed) restacked volumes
            tv = {name: g.truth_vols[pid][z] for name, pid, z in g.records}
            pv = {name: g.pred_vols[pid][z] for name, pid, z in g.records}
            per_image = score_slices(g.records, tv, pv, spacing[1:], empty, hd)
        if not cfg.eval.baseline.enabled:
            g.notes.append("PET baseline disabled (eval.baseline.enabled: false)")
        elif g.source is None or not g.source.is_file():
            g.notes.append("PET baseline skipped: the source HDF5 was not found; pass --h5 or set data.h5")
        else:
            baseline = score_volumes(g.truth_vols, baseline_volumes(g.source, g, cfg.eval.baseline), spacing, empty, hd)
    else:
        per_image = score_slices(g.records, g.truth_slices, g.pred_slices, (1.0, 1.0), empty, hd)
    settings = {
        "empty_policy": empty,
        "hd95": hd,
        "spacing_mm": list(spacing),
        "baseline": cfg.eval.baseline.model_dump(),
        "postprocess": cfg.postprocess.model_dump(),
        "config": config_to_dict(cfg),
    }
    report = EvalReport(
        output, g.header["split"], g.header, g.patients, per_patient, baseline, per_image, settings, g.notes
    )
    write_report(report, force, _overlays(g, per_image.rows if per_image else [], cfg.eval.overlays))
    return report
