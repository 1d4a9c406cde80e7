"""Statistics of per-patient scores for a tiny cohort: mean ± sd, a percentile bootstrap CI of the
mean, and a paired comparison (differences and a two-sided Wilcoxon signed-rank test, with n)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: bootstrap resamples of the per-patient mean
N_BOOT = 10_000


def bootstrap_ci(values: Sequence[float], *, rng: np.random.Generator, n_boot: int = N_BOOT,
                 level: float = 0.95) -> tuple[float, float]:  # fmt: skip
    """Percentile bootstrap CI of the mean of ``values`` (NaNs dropped); ``(nan, nan)`` if empty."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return float("nan"), float("nan")
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def describe(values: Sequence[float], *, rng: np.random.Generator) -> dict[str, Any]:
    """``{"n", "mean", "sd" (ddof=1), "median", "ci95": [lo, hi]}`` of the non-NaN ``values``."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return {"n": 0, "mean": None, "sd": None, "median": None, "ci95": [None, None]}
    sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {"n": len(v), "mean": float(v.mean()), "sd": sd, "median": float(np.median(v)),
            "ci95": list(bootstrap_ci(v, rng=rng))}  # fmt: skip


def paired(model: Sequence[float], baseline: Sequence[float], *, rng: np.random.Generator) -> dict[str, Any]:
    """Model minus baseline on the patients both scored: the differences, their summary, wins and
    losses, and the two-sided Wilcoxon signed-rank p-value (scipy; zero differences dropped, as
    ``zero_method="wilcox"``), stated with the n it was computed on."""
    from scipy.stats import wilcoxon

    a, b = np.asarray(model, dtype=float), np.asarray(baseline, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    d = a[keep] - b[keep]
    nonzero = int(np.count_nonzero(d))
    p = float(wilcoxon(d, zero_method="wilcox").pvalue) if nonzero else float("nan")
    return {
        "differences": [float(x) for x in d],
        "difference": describe(d, rng=rng),
        "wins": int((d > 0).sum()),
        "losses": int((d < 0).sum()),
        "ties": int((d == 0).sum()),
        "wilcoxon_p": p,
        "wilcoxon_n": nonzero,
    }
