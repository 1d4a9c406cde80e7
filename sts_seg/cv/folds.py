"""Patient-level folds: seeded, written to ``folds.json`` before anything trains, editable.

Each fold names its ``train``, ``valid`` and ``test`` patients. The validation patients (for
checkpoints and early stopping) are drawn from the fold's training patients, never from its test
patients. Every patient is tested exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sts_seg.errors import ConfigError, DataError
from sts_seg.io.atomic import staged_file
from sts_seg.io.reading import read_json
from sts_seg.modelsource import FOLDS_FILE, Fold, read_folds

#: ``Fold``, ``FOLDS_FILE`` and ``read_folds`` live in :mod:`sts_seg.modelsource` (a cv folder is a
#: model, read below every stage); they are named here too, where folds are made
__all__ = ["FOLDS_FILE", "LOPO_MAX", "Fold", "check_folds", "default_k", "make_folds", "read_folds", "write_folds"]

#: at most this many patients: leave-one-patient-out by default
LOPO_MAX = 10


def default_k(n_patients: int) -> int:
    """Leave-one-patient-out up to :data:`LOPO_MAX` patients, otherwise 5 folds."""
    return n_patients if n_patients <= LOPO_MAX else 5


def make_folds(patients: Sequence[str], k: int | None = None, *, seed: int = 137, n_valid: int = 1) -> list[Fold]:
    """``k`` folds (default :func:`default_k`) over a seeded permutation of ``patients``.

    Test sets are interleaved chunks of the permutation (sizes differ by at most one); each fold's
    ``n_valid`` validation patients are drawn (seeded by ``[seed, fold]``) from its other patients.
    """
    ids = sorted(set(patients))
    n = len(ids)
    k = default_k(n) if k is None else k
    if k < 2:
        raise ConfigError(f"--folds must be at least 2 (got {k})")
    if n < k:
        raise ConfigError(f"{n} patient(s) cannot make {k} folds; use --folds {max(2, n)} or fewer")
    if n - -(-n // k) < n_valid + 1:
        raise ConfigError(f"{n} patients in {k} folds leave too few to train on and validate with {n_valid}")
    order = [ids[i] for i in np.random.default_rng(seed).permutation(n)]
    folds = []
    for f in range(k):
        test = sorted(order[f::k])
        rest = [p for p in ids if p not in test]
        pick = np.random.default_rng([seed, f]).choice(len(rest), size=n_valid, replace=False)
        valid = sorted(rest[i] for i in pick)
        train = sorted(p for p in rest if p not in valid)
        folds.append(Fold(tuple(train), tuple(valid), tuple(test)))
    return folds


def fixed_folds(path: Path, patients: Sequence[str], *, seed: int = 137, n_valid: int = 1) -> list[Fold]:
    """The folds of a fixed-folds file ``{"folds": [{"test": [...]}, ...]}`` (e.g. ``folds_5.json``).

    A fold without ``train`` trains on every other patient of ``patients``; one without ``valid``
    draws ``n_valid`` of those (seeded by ``[seed, fold]``, as :func:`make_folds`). A malformed
    file or a patient the source lacks is a DataError naming the file.
    """
    raw = read_json(path, "fixed-folds file", 'it needs {"folds": [{"test": [...]}, ...]}')
    entries = raw.get("folds") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) and "test" in e for e in entries):
        raise DataError(f'{path}: not a fixed-folds file; it needs {{"folds": [{{"test": [...]}}, ...]}}')
    ids = sorted(set(patients))
    folds = []
    for f, entry in enumerate(entries):
        test = sorted(str(p) for p in entry["test"])
        unknown = sorted(set(test) - set(ids))
        if unknown:
            raise DataError(f"{path}: fold {f} tests patient(s) {', '.join(unknown)} that are not in the source")
        rest = sorted(str(p) for p in entry["train"]) if "train" in entry else [p for p in ids if p not in test]
        if "valid" in entry:
            valid = sorted(str(p) for p in entry["valid"])
        else:
            if len(rest) < n_valid + 1:
                raise DataError(f"{path}: fold {f} leaves too few patients to train on and validate with {n_valid}")
            pick = np.random.default_rng([seed, f]).choice(len(rest), size=n_valid, replace=False)
            valid = sorted(rest[i] for i in pick)
        folds.append(Fold(tuple(p for p in rest if p not in valid), tuple(valid), tuple(test)))
    return folds


def check_folds(folds: Sequence[Fold], patients: Sequence[str], where: str = FOLDS_FILE) -> None:
    """Raise :class:`DataError` unless each fold is disjoint, non-empty, names known patients and
    every patient is tested exactly once."""
    known = set(patients)
    tested: dict[str, int] = {}
    for i, f in enumerate(folds):
        name = f"{where}: fold {i}"
        if not f.train or not f.valid or not f.test:
            raise DataError(f"{name} needs at least one train, one valid and one test patient")
        unknown = sorted((set(f.train) | set(f.valid) | set(f.test)) - known)
        if unknown:
            raise DataError(f"{name} names patient(s) {', '.join(unknown)} that are not in the source")
        for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
            both = sorted(set(getattr(f, a)) & set(getattr(f, b)))
            if both:
                raise DataError(f"{name}: patient(s) {', '.join(both)} are in both {a} and {b}")
        for p in f.test:
            if p in tested:
                raise DataError(f"{where}: patient {p} is tested in folds {tested[p]} and {i}; test each patient once")
            tested[p] = i
    missing = sorted(known - set(tested))
    if missing:
        raise DataError(f"{where}: patient(s) {', '.join(missing)} are tested in no fold; add them to a test list")


def write_folds(path: Path, folds: Sequence[Fold], meta: dict) -> None:
    """``folds.json``: ``{"meta": {...}, "folds": [{"train", "valid", "test"}, ...]}``, atomically."""
    with staged_file(path) as tmp:
        tmp.write_text(json.dumps({"meta": meta, "folds": [f.as_dict() for f in folds]}, indent=2) + "\n")
