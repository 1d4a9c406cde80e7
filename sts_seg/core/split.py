"""Patient-level split (never by slice), and per-split slice selection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sts_seg.errors import ConfigError

SPLIT_NAMES = ("train", "valid", "test")


def split_patients(
    patients: Sequence[str],
    *,
    seed: int,
    fractions: tuple[float, float, float],
    explicit: Mapping[str, Sequence[str]] | None = None,
    source: str = "",
) -> dict[str, list[str]]:
    """``{"train": [...], "valid": [...], "test": [...]}``; ``explicit`` lists win over fractions.

    Fractions: a seeded permutation; counts are rounded, and every split with a non-zero
    fraction gets at least one patient when there are enough (7 patients -> 5/1/1).
    """
    ids = sorted(patients)
    if explicit is not None:
        listed = {name: list(explicit.get(name, ())) for name in SPLIT_NAMES}
        unknown = sorted({p for v in listed.values() for p in v} - set(ids))
        if unknown:
            raise ConfigError(
                f"split lists name patient(s) {', '.join(unknown)} that are not in {source or 'the file'}; "
                f"available: {', '.join(ids)}"
            )
        return listed
    n = len(ids)
    counts = [round(f * n) for f in fractions]
    for i in (1, 2):  # valid/test: at least one patient each if asked for
        if fractions[i] > 0 and counts[i] == 0 and n >= 3:
            counts[i] = 1
    counts[0] = n - counts[1] - counts[2]
    if counts[0] < 1:
        raise ConfigError(f"{source or 'data'}: {n} patient(s) are too few for split.fractions {tuple(fractions)}")
    order = [ids[i] for i in np.random.default_rng(seed).permutation(n)]
    out, start = {}, 0
    for name, c in zip(SPLIT_NAMES, counts, strict=True):
        out[name] = sorted(order[start : start + c])
        start += c
    return out


def select_slices(label: np.ndarray, policy: str, negative_ratio: float, rng: np.random.Generator) -> list[int]:
    """Slice indices z of a ``[z, y, x]`` label volume to export.

    ``labeled``: slices holding tumour (the original's choice); ``all``: every slice;
    ``labeled_plus_negatives``: tumour slices plus ``round(ratio * n_tumour)`` random others.
    """
    positive = np.flatnonzero(label.reshape(label.shape[0], -1).any(axis=1))
    if policy == "all":
        return list(range(label.shape[0]))
    if policy == "labeled":
        return positive.tolist()
    negatives = np.setdiff1d(np.arange(label.shape[0]), positive)
    k = min(len(negatives), round(negative_ratio * len(positive)))
    chosen = rng.choice(negatives, size=k, replace=False) if k else np.array([], dtype=int)
    return sorted(positive.tolist() + chosen.tolist())
