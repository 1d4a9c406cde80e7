"""A finished cv folder as one model: its fold models (an ensemble whose softmax is averaged) and
the post-processing chosen on its out-of-fold predictions (``cv/postprocess.json``). No
TensorFlow here; :func:`sts_seg.infer.loading.load_predictor` loads the networks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sts_seg.cv.fold import DONE, POSTPROCESS, REPORT, fold_dir
from sts_seg.cv.folds import FOLDS_FILE, read_folds
from sts_seg.errors import ModelError


def is_cv_dir(path: Path) -> bool:
    """True when ``path`` is a folder written by ``stsseg cv`` (it holds ``folds.json``)."""
    return Path(path).is_dir() and (Path(path) / FOLDS_FILE).is_file()


def fold_models(cv_dir: Path) -> list[Path]:
    """``fold_<k>/run/best.keras`` of every fold, in fold order; every fold must be finished."""
    cv_dir = Path(cv_dir)
    folds = read_folds(cv_dir / FOLDS_FILE)
    paths = []
    for k in range(len(folds)):
        d = fold_dir(cv_dir, k)
        if not (d / DONE).is_file() or not (d / "run" / "best.keras").is_file():
            raise ModelError(f"{cv_dir}: fold {k} is not finished; run 'stsseg cv --run {cv_dir}' again to finish it")
        paths.append(d / "run" / "best.keras")
    return paths


def chosen_postprocess(cv_dir: Path) -> dict[str, Any] | None:
    """The post-processing settings ``cv/postprocess.json`` chose, or None without a report."""
    path = Path(cv_dir) / REPORT / POSTPROCESS
    if not path.is_file():
        return None
    try:
        return dict(json.loads(path.read_text())["settings"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"{path}: unreadable ({exc}); rerun 'stsseg cv --run {cv_dir}' to rewrite the report"
        ) from None
