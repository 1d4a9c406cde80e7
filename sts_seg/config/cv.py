"""Section ``cv``: patient-level cross-validation (``stsseg cv``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from sts_seg.config.base import Section


class CvConfig(Section):
    """Folds by patient; where they run. Folds are written to `<run>/folds.json` before training."""

    folds: int | None = Field(None, ge=2)
    """Number of folds; null = leave-one-patient-out up to 10 patients, else 5. `--folds` overrides."""
    folds_file: Path | None = None
    """Fixed folds: a JSON `{"folds": [{"test": [...]}, ...]}` (train/valid optional; valid drawn from train), e.g.
    `folds_5.json` of the real set, so results stay paired across recipes and tools; null = seeded folds."""
    seed: int = 137
    """Seed of the fold assignment, the validation picks and the bootstrap."""
    valid_patients: int = Field(1, ge=1)
    """Validation patients per fold (checkpoints, early stopping), drawn from its training patients."""
    workers: int | None = Field(None, ge=1)
    """Folds run at once as Ray tasks on a local Ray (needs `stsseg[ray]`); null = one after another, in-process."""
    address: str | None = None
    """An existing Ray cluster to run the folds on (`ray.init(address=...)`); `--address` overrides."""
    cpus_per_fold: int = Field(1, ge=1)
    """CPUs (and TensorFlow threads) per fold when folds run on Ray."""
    compare_tta: bool = True
    """Predict every fold's test cases with and without flips (to measure them); false: only with `infer.tta`."""
