"""``stsseg evaluate``: per-case 3D tumour metrics on each case's own grid (the headline),
per-image 2D metrics, and the PET-threshold baseline scored by the same code on the same slices.

:func:`evaluate` plans (``gather`` / ``volumes``: what to score, one case at a time), scores
(``score``, pure) and writes (``report``). Memory holds one case's volumes at a time.
"""

from __future__ import annotations

from pathlib import Path

from sts_seg.config import Config, PostprocessConfig, config_to_dict
from sts_seg.core.postprocess import postprocess
from sts_seg.errors import ConfigError
from sts_seg.evaluate.baseline import configured_baseline
from sts_seg.evaluate.gather import CaseEval, Plan, open_configured, plan_dataset, resolve_source
from sts_seg.evaluate.report import EvalReport, Overlay, write_report
from sts_seg.evaluate.score import case_row, pick_overlays, score_slices, scores, slice_rows
from sts_seg.evaluate.volumes import plan_volumes, volume_predictions
from sts_seg.io.atomic import check_writable_dir
from sts_seg.progress import ProgressFn, no_progress

__all__ = ["EvalReport", "evaluate", "report_folder"]


def report_folder(cfg: Config) -> Path:
    """``eval.output``, or ``<train.run_dir>/eval_<split>``."""
    return Path(cfg.eval.output or Path(cfg.train.run_dir) / f"eval_{cfg.eval.split}")


def _plan(cfg: Config, dataset: Path, progress: ProgressFn) -> Plan:
    """Predictions from a model (default ``<run>/best.keras``), a PNG mask folder, or volumes on
    disk (told apart by what is on disk, not by names)."""
    model, predictions = cfg.eval.model, cfg.eval.predictions
    if model is not None and predictions is not None:
        raise ConfigError("give one of --model (predict now) or --predictions (score existing masks), not both")
    volumes = volume_predictions(predictions) if predictions is not None else None
    if volumes is not None:
        src = resolve_source(dataset, cfg)
        if src is None:
            raise ConfigError(
                "scoring predicted volumes needs their source: pass --source (or --h5) or set data.source"
            )
        return plan_volumes(volumes, open_configured(src, cfg), cfg)
    if predictions is None and model is None:
        model = Path(cfg.train.run_dir) / "best.keras"
    return plan_dataset(cfg, dataset, model, predictions, progress)


def _postprocess(cfg: Config) -> tuple[dict, str | None]:
    from sts_seg.infer.loading import postprocess_for

    return postprocess_for(cfg, cfg.eval.model)


def _baseline(c: CaseEval, cfg: Config):
    mask = configured_baseline(c.pet, cfg.eval.baseline)
    mask[~c.covered] = 0
    return mask


def _score(plan: Plan, cfg: Config, pp: dict) -> tuple[list, list | None, list]:
    """Per-case rows, baseline rows (None without PET), per-image rows; one case in memory at a time;
    ``pp``: the post-processing settings applied to each predicted volume."""
    e, hd = cfg.eval.empty_policy, cfg.eval.hd95
    active = PostprocessConfig(**pp).active
    model_rows, base_rows, image_rows = [], [], []
    has_pet = True
    for c in plan.cases:
        pred = postprocess(c.pred, c.spacing, **pp) if active else c.pred
        model_rows.append(case_row(c.case, c.patient, pred, c.truth, c.spacing, e, hd))
        if (
            c.grid_truth is not None
        ):  # 2D rows on the slicing grid (the post-processed volume when it is the case's own)
            grid_pred = pred if c.grid_pred.shape == pred.shape else c.grid_pred
            image_rows += slice_rows(c.case, c.patient, c.slices, c.grid_truth, grid_pred, c.grid_spacing[1:], e, hd)
        if c.pet is None:
            has_pet = False
        elif cfg.eval.baseline.enabled:
            base_rows.append(case_row(c.case, c.patient, _baseline(c, cfg), c.truth, c.spacing, e, hd))
    return model_rows, (base_rows if has_pet and cfg.eval.baseline.enabled and model_rows else None), image_rows


def evaluate(*, cfg: Config, force: bool = False, progress: ProgressFn = no_progress) -> EvalReport:
    """Score ``eval.split`` of ``data.dataset`` (or predicted volumes in ``eval.predictions``) into
    :func:`report_folder`."""
    dataset, output = Path(cfg.data.dataset), report_folder(cfg)
    check_writable_dir(output, force, "evaluation folder")
    plan = _plan(cfg, dataset, progress)
    notes = plan.notes
    pp, pp_note = _postprocess(cfg)
    if plan.records:  # a folder without manifest: 2D only
        per_image = score_slices(plan.records, plan.truth_slices, plan.pred_slices, (1.0, 1.0), cfg.eval.empty_policy,
                                 cfg.eval.hd95)  # fmt: skip
        per_patient = baseline = None
    else:
        model_rows, base_rows, image_rows = _score(plan, cfg, pp)
        per_patient = scores(model_rows)
        baseline = scores(base_rows) if base_rows is not None else None
        per_image = scores(image_rows) if image_rows else None
        if pp_note:
            notes.append(pp_note)
        elif cfg.postprocess.active:
            notes.append(f"post-processing applied to the 3D predictions: {pp}")
        if not cfg.eval.baseline.enabled:
            notes.append("PET baseline disabled (eval.baseline.enabled: false)")
        elif base_rows is None:
            notes.append("PET baseline skipped: the source was not found; pass --source or set data.source")
    settings = {
        "empty_policy": cfg.eval.empty_policy,
        "hd95": cfg.eval.hd95,
        "baseline": cfg.eval.baseline.model_dump(),
        "postprocess": pp,
        "config": config_to_dict(cfg),
    }
    cases = sorted({r["case"] for r in per_patient.rows}) if per_patient else sorted({p for _, p, _ in plan.records})
    report = EvalReport(
        output, plan.header["split"], plan.header, cases, per_patient, baseline, per_image, settings, notes
    )
    write_report(report, force, _overlays(plan, per_image.rows if per_image else [], cfg.eval.overlays))
    return report


def _overlays(plan: Plan, per_image_rows: list[dict], n: int) -> list[Overlay]:
    if not plan.images:
        return []
    picks = pick_overlays(per_image_rows, n)
    return [(tag, name, plan.images[name], plan.truth_slices[name], plan.pred_slices[name]) for tag, name in picks]
