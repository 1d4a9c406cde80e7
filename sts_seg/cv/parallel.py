"""Where folds run: one after another in this process (no Ray needed), or as Ray tasks on a
local Ray (``workers``) or an existing cluster (``address``), each in a fresh process
(``max_calls=1``) with TensorFlow's thread pools capped to the task's CPUs."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from sts_seg.errors import StsSegError
from sts_seg.runtime import require

Job = tuple[int, dict[str, list[str]]]  #: (fold index, fold definition)


def _ray():
    require("ray", "running folds on Ray (--workers/--address; drop them to run folds one after another)")
    import ray

    return ray


def run_sequential(fn: Callable[..., dict], jobs: Sequence[Job], cfg: dict, cv_dir: str,
                   on_done: Callable[[dict], None]) -> list[dict]:  # fmt: skip
    """Each fold in this process, in order."""
    out = []
    for k, fold in jobs:
        done = fn(cfg, fold, k, cv_dir, None)
        on_done(done)
        out.append(done)
    return out


def run_ray(fn: Callable[..., dict], jobs: Sequence[Job], cfg: dict, cv_dir: str, on_done: Callable[[dict], None],
            *, workers: int | None, address: str | None, cpus_per_fold: int = 1) -> list[dict]:  # fmt: skip
    """Folds as Ray tasks (``max_calls=1``: one fresh process per fold; ``cpus_per_fold`` CPUs and
    TensorFlow threads each). Starts a local Ray with ``workers`` CPUs unless one is running or
    ``address`` names a cluster; shuts down only what it started."""
    ray = _ray()
    started = False
    if not ray.is_initialized():
        env = {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}}
        level = logging.DEBUG if os.environ.get("STSSEG_DEBUG") == "1" else logging.ERROR
        kwargs: dict[str, Any] = {"runtime_env": env, "log_to_driver": False, "include_dashboard": False,
                                  "logging_level": level}  # fmt: skip
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=workers or 1, **kwargs)
        started = True
    try:
        # fn caps TensorFlow's pools to its last argument (sts_seg.cv.fold.cap_threads) before TF loads
        remote = ray.remote(num_cpus=cpus_per_fold, max_calls=1, max_retries=0)(fn)
        pending = {remote.remote(cfg, fold, k, cv_dir, cpus_per_fold): k for k, fold in jobs}
        results: dict[int, dict] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                k = pending.pop(ref)
                try:
                    results[k] = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    for other in pending:
                        ray.cancel(other, force=True)
                    cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                    if isinstance(cause, StsSegError):
                        raise cause from None
                    raise RuntimeError(f"fold {k} failed on Ray: {cause}") from None
                on_done(results[k])
        return [results[k] for k, _ in jobs]
    finally:
        if started:
            ray.shutdown()
