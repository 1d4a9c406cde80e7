"""The cv entry point: folds, then each fold (skipping finished ones), then the report."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sts_seg.config import Config, config_to_dict
from sts_seg.cv.fold import is_done, read_done, run_fold, settings_hash
from sts_seg.cv.folds import check_folds, fixed_folds, make_folds, write_folds
from sts_seg.cv.report import CvReport, write_cv_report
from sts_seg.errors import ConfigError, OverwriteError
from sts_seg.modelsource import FOLDS_FILE, Fold, fold_dir, read_folds
from sts_seg.progress import ProgressFn, no_progress

__all__ = ["CvResult", "cross_validate"]


@dataclass
class CvResult:
    """The cv folder, its folds, which ran now (the rest were complete) and the report."""

    run_dir: Path
    folds: list[Fold]
    ran: list[int]
    skipped: list[int]
    report: CvReport


def _folds(cfg: Config, run_dir: Path, patients: list[str], k: int | None, source: str) -> list[Fold]:
    path = run_dir / FOLDS_FILE
    if path.is_file():
        folds = read_folds(path)
        if k is not None and k != len(folds):
            raise ConfigError(f"{path} has {len(folds)} folds but --folds is {k}; drop --folds, or use a new --run")
        fixed = cfg.cv.folds_file
        if fixed is not None and [f.test for f in fixed_folds(fixed, patients)] != [f.test for f in folds]:
            raise ConfigError(f"{path} tests other patients than cv.folds_file {fixed}; use a new --run or --force")
    else:
        c = cfg.cv
        if c.folds_file is not None:
            folds = fixed_folds(c.folds_file, patients, seed=c.seed, n_valid=c.valid_patients)
            if k is not None and k != len(folds):
                raise ConfigError(f"{c.folds_file} has {len(folds)} folds but --folds is {k}; drop --folds")
        else:
            folds = make_folds(patients, k, seed=c.seed, n_valid=c.valid_patients)
        meta = {"source": source, "seed": c.seed, "k": len(folds), "patients": patients,
                "folds_file": None if c.folds_file is None else str(c.folds_file)}  # fmt: skip
        write_folds(path, folds, meta)
    check_folds(folds, patients, str(path))
    return folds


def _prepare_run_dir(run_dir: Path, force: bool) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise OverwriteError(f"{run_dir}: exists and is not a folder; choose another --run")
    if force and run_dir.exists():
        shutil.rmtree(run_dir)
    elif run_dir.is_dir() and any(run_dir.iterdir()) and not (run_dir / FOLDS_FILE).is_file():
        raise OverwriteError(
            f"{run_dir}: exists and is not a cv folder (no {FOLDS_FILE}); choose another --run or pass --force"
        )
    run_dir.mkdir(parents=True, exist_ok=True)


def cross_validate(*, cfg: Config, run_dir: Path, force: bool = False,
                   progress: ProgressFn = no_progress) -> CvResult:  # fmt: skip
    """Run (or finish) the cross-validation of ``data.source`` into ``run_dir`` and report it.

    ``cfg.cv`` says how many folds and where they run; ``force`` starts over (the folder is
    removed), otherwise finished folds are kept and the rest run.
    """
    from sts_seg.cv.parallel import run_ray, run_sequential
    from sts_seg.prepare import source_for

    run_dir = Path(run_dir)
    source = source_for(cfg)
    patients = sorted({i.patient for i in source.infos()})
    _prepare_run_dir(run_dir, force)
    folds = _folds(cfg, run_dir, patients, cfg.cv.folds, str(source.path))
    digest = settings_hash(cfg)
    skipped = [k for k, f in enumerate(folds) if is_done(fold_dir(run_dir, k), f, digest)]
    jobs = [(k, f.as_dict()) for k, f in enumerate(folds) if k not in skipped]
    done_count = [len(skipped)]

    def on_done(done: dict) -> None:
        done_count[0] += 1
        progress(done_count[0], len(folds), f"fold {done['index']}")

    progress(len(skipped), len(folds), "folds")
    cfg_dict = config_to_dict(cfg)
    c = cfg.cv
    if jobs and (c.workers or c.address):
        run_ray(run_fold, jobs, cfg_dict, str(run_dir), on_done, workers=c.workers, address=c.address,
                cpus_per_fold=c.cpus_per_fold)  # fmt: skip
    elif jobs:
        run_sequential(run_fold, jobs, cfg_dict, str(run_dir), on_done)
    notes = [read_done(fold_dir(run_dir, k)) for k in range(len(folds))]
    report = write_cv_report(cfg, source, run_dir, folds, seed=cfg.cv.seed, fold_notes=notes)
    return CvResult(run_dir, folds, [k for k, _ in jobs], skipped, report)
