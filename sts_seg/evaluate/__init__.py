"""``stsseg evaluate``: per-case 3D tumour metrics on each case's own grid (the headline),
per-image 2D metrics, and the PET-threshold baseline scored by the same code on the same slices.

:func:`evaluate` plans (``gather`` / ``volumes``: what to score, one case at a time), scores
(``score``, pure) and writes (``report``). Memory holds one case's volumes at a time (and the few
slices that may be drawn as overlays, :mod:`.overlays`).
"""

from __future__ import annotations

from pathlib import Path

from sts_seg.config import Config, config_to_dict
from sts_seg.core.postprocess import postprocess
from sts_seg.errors import ConfigError
from sts_seg.evaluate.baseline import configured_baseline
from sts_seg.evaluate.gather import CaseEval, Plan, open_configured, plan_dataset, resolve_source, split_cases
from sts_seg.evaluate.overlays import OverlayPool
from sts_seg.evaluate.report import EvalReport, write_report
from sts_seg.evaluate.score import case_row, scores, slice_rows
from sts_seg.evaluate.volumes import Mode, plan_volumes, volume_predictions
from sts_seg.io.atomic import check_writable_dir
from sts_seg.metrics import case_metrics
from sts_seg.modelsource import ModelSource, Postprocessing, open_model, resolve_postprocess
from sts_seg.progress import ProgressFn, no_progress

__all__ = ["EvalReport", "evaluate", "report_folder"]


def report_folder(cfg: Config) -> Path:
    """``eval.output``, or ``<train.run_dir>/eval_<split>``."""
    return Path(cfg.eval.output or Path(cfg.train.run_dir) / f"eval_{cfg.eval.split}")


def _model(cfg: Config) -> ModelSource | None:
    """The model to predict with (default ``<run>/best.keras``), or None to score ``eval.predictions``."""
    model, predictions = cfg.eval.model, cfg.eval.predictions
    if model is not None and predictions is not None:
        raise ConfigError("give one of --model (predict now) or --predictions (score existing masks), not both")
    if predictions is not None:
        return None
    return open_model(model if model is not None else Path(cfg.train.run_dir) / "best.keras")


def _plan(cfg: Config, dataset: Path, model: ModelSource | None, mode: Mode | None, allow_missing: bool,
          progress: ProgressFn) -> Plan:  # fmt: skip
    """Predictions from the model, a PNG mask folder, or volumes on disk (:func:`volume_predictions`)."""
    predictions = cfg.eval.predictions
    volumes = volume_predictions(predictions, mode) if predictions is not None else None
    if volumes is not None:
        src = resolve_source(dataset, cfg)
        if src is None:
            raise ConfigError(
                "scoring predicted volumes needs their source: pass --source (or --h5) or set data.source"
            )
        expected = split_cases(dataset, cfg.eval.split)  # a prepared dataset names the split's cases
        return plan_volumes(volumes, open_configured(src, cfg), cfg, allow_missing, expected)
    return plan_dataset(cfg, dataset, model, predictions, progress)


def _baseline(c: CaseEval, cfg: Config, rule: str):
    mask = configured_baseline(c.pet, cfg.eval.baseline, rule)
    mask[~c.covered] = 0
    return mask


def _score(plan: Plan, cfg: Config, pp: Postprocessing, pool: OverlayPool) -> tuple[list, dict | None, list]:
    """Per-case rows, baseline rows by rule (headline rule first; None without PET), per-image rows;
    one case in memory at a time; ``pp``: the post-processing applied to each predicted volume."""
    e, hd, cc = cfg.eval.empty_policy, cfg.eval.hd95, cfg.eval.connectivity
    b = cfg.eval.baseline
    model_rows, image_rows = [], []
    base_rows: dict[str, list] = {b.mode: [], b.other: []}
    has_pet = True
    for c in plan.cases:
        pred = postprocess(c.pred, c.spacing, **pp.settings) if pp.active else c.pred
        model_rows.append(case_row(c.case, c.patient, pred, c.truth, c.spacing, e, hd, cc))
        if c.grid_truth is not None:  # 2D rows on the slicing grid (post-processed when it is the case's own grid)
            grid_pred = pred if c.grid_pred.shape == pred.shape else c.grid_pred
            rows = slice_rows(c.case, c.patient, c.slices, c.grid_truth, grid_pred, c.grid_spacing[1:], e, hd, cc)
            pool.offer(rows, c.pngs)
            image_rows += rows
        if c.pet is None:
            has_pet = False
        elif b.enabled:
            for rule, rows in base_rows.items():
                rows.append(case_row(c.case, c.patient, _baseline(c, cfg, rule), c.truth, c.spacing, e, hd, cc))
    return model_rows, (base_rows if has_pet and cfg.eval.baseline.enabled and model_rows else None), image_rows


def _score_images(plan: Plan, cfg: Config, pool: OverlayPool) -> list:
    """Per-image 2D rows of a dataset without manifest (pixel units), one image at a time."""
    rows = []
    for im in plan.images:
        _image, truth, pred = im.png
        metrics = case_metrics(pred, truth, (1.0, 1.0), cfg.eval.empty_policy, cfg.eval.hd95, cfg.eval.connectivity)
        row = {"image": im.name, "patient": im.patient, "z": "", **metrics}
        pool.offer([row], {im.name: im.png})
        rows.append(row)
    return rows


def evaluate(*, cfg: Config, force: bool = False, progress: ProgressFn = no_progress, mode: Mode | None = None,
             allow_missing: bool = False) -> EvalReport:  # fmt: skip
    """Score ``eval.split`` of ``data.dataset`` (or predicted volumes in ``eval.predictions``) into
    :func:`report_folder`. ``mode`` says how a predictions folder is read (None: by what it holds,
    :func:`~sts_seg.evaluate.volumes.volume_predictions`); ``allow_missing`` scores predicted
    volumes that cover only some cases of the source (the report lists the others)."""
    dataset, output = Path(cfg.data.dataset), report_folder(cfg)
    check_writable_dir(output, force, "evaluation folder")
    model = _model(cfg)
    pp = resolve_postprocess(cfg.postprocess, model)
    plan = _plan(cfg, dataset, model, mode, allow_missing, progress)
    notes = plan.notes
    pool = OverlayPool(cfg.eval.overlays)
    if plan.images is not None:  # a folder without manifest: 2D only
        per_image, per_patient, baseline, other = scores(_score_images(plan, cfg, pool)), None, None, None
    else:
        model_rows, base_rows, image_rows = _score(plan, cfg, pp, pool)
        per_patient = scores(model_rows)
        b = cfg.eval.baseline
        baseline = scores(base_rows[b.mode]) if base_rows is not None else None
        other = scores(base_rows[b.other]) if base_rows is not None else None
        per_image = scores(image_rows) if image_rows else None
        if pp.note:
            notes.append(pp.note)
        if not cfg.eval.baseline.enabled:
            notes.append("PET baseline disabled (eval.baseline.enabled: false)")
        elif base_rows is None:
            notes.append("PET baseline skipped: the source was not found; pass --source or set data.source")
    settings = {
        "empty_policy": cfg.eval.empty_policy,
        "hd95": cfg.eval.hd95,
        "baseline": cfg.eval.baseline.model_dump(),
        "postprocess": pp.settings,
        "postprocess_origin": pp.origin,
        "config": config_to_dict(cfg),
    }
    rows = per_patient.rows if per_patient else per_image.rows
    cases = sorted({r["case"] for r in rows}) if per_patient else sorted({r["patient"] for r in rows})
    report = EvalReport(
        output, plan.header["split"], plan.header, cases, per_patient, baseline, per_image, settings, notes, other
    )
    write_report(report, force, pool.overlays(per_image.rows if per_image else []))
    return report
