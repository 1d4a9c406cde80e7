"""``stsseg train --dry-run``: build the model and count the data, without training."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sts_seg.config import SPLITS, Config
from sts_seg.io.layout import list_pairs


@dataclass(frozen=True)
class DryRun:
    """Parameter count, input/output shapes, and image/mask pairs per split (None: no dataset yet)."""

    parameters: int
    input_shape: tuple
    output_shape: tuple
    pairs: dict[str, int] | None


def dry_run(*, cfg: Config) -> DryRun:
    """Build ``cfg.model`` and count the pairs of ``data.dataset`` (if it exists)."""
    from sts_seg.model import build_model

    model = build_model(cfg.model)
    dataset = Path(cfg.data.dataset)
    pairs = {s: len(list_pairs(dataset, s)) for s in SPLITS} if dataset.is_dir() else None
    return DryRun(model.count_params(), tuple(model.input_shape), tuple(model.output_shape), pairs)
