"""One cross-validation fold, run with the existing stages into ``<cv>/fold_<k>/``:

``dataset/`` (prepare, then the optional offline augment), ``run/`` (train), and
``predictions/none`` and ``predictions/flips`` (masks of the fold's test cases on their own grids,
without and with test-time flips). ``fold.json`` is written last: a fold that has one matching its
definition and settings is complete and is skipped on rerun; any other fold is run again from
scratch, so a crash or kill costs at most the fold that was running.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from sts_seg.config import Config, config_to_dict
from sts_seg.io.atomic import staged_file
from sts_seg.modelsource import FOLD_DONE as DONE
from sts_seg.modelsource import Fold, fold_dir
from sts_seg.runtime import import_tensorflow

#: test-time-augmentation variants predicted by every fold (both are scored, to measure flips)
TTA_VARIANTS = ("none", "flips")


def tta_variants(cfg: Config) -> tuple[str, ...]:
    """Both variants with ``cv.compare_tta`` (the default), else only ``infer.tta``."""
    return TTA_VARIANTS if cfg.cv.compare_tta else (cfg.infer.tta,)


#: the settings that do not change what a fold computes (where outputs go and run, how it is reported)
_NOT_HASHED = (
    "data.dataset",
    "train.run_dir",
    "eval",
    "infer",
    "cv.workers",
    "cv.address",
    "cv.cpus_per_fold",
    "cv.folds_file",
)  # fmt: skip  (the folds themselves are in folds.json and each fold.json)


def settings_hash(cfg: Config) -> str:
    """sha256 of the settings that decide a fold's numbers (paths and report options left out)."""
    d = config_to_dict(cfg)
    for key in _NOT_HASHED:
        section, _, field = key.partition(".")
        if field:
            d[section].pop(field, None)
        else:
            d.pop(section, None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def fold_config(cfg: Config, fold: Fold, directory: Path) -> Config:
    """``cfg`` with the fold's explicit split and its own dataset and run folders."""
    d = config_to_dict(cfg)
    d["split"].update(train=list(fold.train), valid=list(fold.valid), test=list(fold.test))
    d["data"]["dataset"] = str(directory / "dataset")
    d["train"]["run_dir"] = str(directory / "run")
    return Config.model_validate(d)


def is_done(directory: Path, fold: Fold, digest: str) -> bool:
    """True when ``fold.json`` records this fold definition and these settings."""
    try:
        done = json.loads((Path(directory) / DONE).read_text())
    except (OSError, ValueError):
        return False
    return done.get("fold") == fold.as_dict() and done.get("settings_sha256") == digest


def read_done(directory: Path) -> dict[str, Any]:
    return json.loads((Path(directory) / DONE).read_text())


def cap_threads(threads: int | None) -> None:
    """Cap TensorFlow's thread pools (before TensorFlow runs anything in this process)."""
    if not threads:
        return
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    tf = import_tensorflow()

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # the runtime is already up (an in-process rerun): keep its pools
        pass


def run_fold(cfg_dict: dict[str, Any], fold_dict: dict[str, list[str]], k: int, cv_dir: str,
             threads: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Run fold ``k`` (plain arguments, so that it can be a Ray task) and return its ``fold.json``."""
    cap_threads(threads)
    from sts_seg.augment.offline import augment
    from sts_seg.infer.loading import load_predictor
    from sts_seg.infer.volumes import VolumeSettings, infer_source
    from sts_seg.prepare import prepare, source_for
    from sts_seg.train.run import train

    t0 = time.perf_counter()
    cfg, fold = Config.model_validate(cfg_dict), Fold(**{key: tuple(v) for key, v in fold_dict.items()})
    directory = fold_dir(Path(cv_dir), k)
    directory.mkdir(parents=True, exist_ok=True)
    fcfg = fold_config(cfg, fold, directory)
    prep = prepare(cfg=fcfg, force=True)
    if fcfg.augment.offline:
        augment(cfg=fcfg, force=True)
    t_train = time.perf_counter()
    res = train(cfg=fcfg, force=True)
    t_pred = time.perf_counter()
    source = source_for(fcfg)
    test_cases = [i.case_id for i in source.infos() if i.patient in set(fold.test)]
    model = directory / "run" / "best.keras"
    for tta in tta_variants(cfg):
        predictor, spec, card = load_predictor(model, fcfg, fcfg.infer.batch_size, tta)
        settings = VolumeSettings(spec, card.policy if card else "native", None)  # raw: cv chooses post-processing
        infer_source(predictor, source, directory / "predictions" / tta, settings=settings, cases=test_cases,
                     force=True)  # fmt: skip
    done = {
        "fold": fold.as_dict(),
        "index": k,
        "settings_sha256": settings_hash(cfg),
        "test_cases": test_cases,
        "slices": sum(prep.slices.values()),
        "epochs_run": res.epochs_run,
        "best_epoch": res.best_epoch,
        "best_value": res.best_value,
        "monitor": res.monitor,
        "parameters": res.parameters,
        "seconds": {"prepare": t_train - t0, "train": t_pred - t_train, "predict": time.perf_counter() - t_pred},
        "threads": threads,
        "pid": os.getpid(),
    }
    with staged_file(directory / DONE) as tmp:
        tmp.write_text(json.dumps(done, indent=2) + "\n")
    return done
