"""The run's model card (``stsseg.json``): the dataset's slice spec, spacing and post-processing,
so ``infer``, ``evaluate`` and ``export`` use the model as it was trained."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sts_seg.config import Config, config_to_dict
from sts_seg.core.slicing import SliceSpec
from sts_seg.io.card import ModelCard, write_card
from sts_seg.io.reading import read_json

SPEC = "spec.json"  # written by prepare


def dataset_spec(dataset: Path) -> SliceSpec | None:
    """The slice spec ``prepare`` recorded for ``dataset`` (None for a dataset it did not make)."""
    path = Path(dataset) / SPEC
    return SliceSpec.from_dict(read_json(path, "dataset spec", "re-run 'stsseg prepare'")) if path.is_file() else None


def _spec(cfg: Config, dataset: Path, canvas: int) -> SliceSpec:
    return dataset_spec(dataset) or cfg.slice_spec(canvas)


def _policy(dataset: Path) -> object:
    path = Path(dataset) / SPEC
    return read_json(path, "dataset spec").get("spacing_policy", "native") if path.is_file() else "native"


def write_run_card(run: Path, cfg: Config, dataset: Path, canvas: int) -> Path:
    """``run/stsseg.json`` for the model trained on ``dataset``."""
    from sts_seg.train.compile import versions

    spacing = None
    text = repr(sorted(config_to_dict(cfg).items())).encode()
    provenance = {"config_sha256": hashlib.sha256(text).hexdigest(), "dataset": str(dataset), "versions": versions()}
    card = ModelCard(
        spec=_spec(cfg, dataset, canvas),
        num_classes=cfg.model.num_classes,
        spacing_mm=tuple(spacing or cfg.data.spacing_mm),  # type: ignore[arg-type]
        postprocess=cfg.postprocess.settings,
        provenance=provenance,
        spacing_policy=_policy(dataset),
    )
    return write_card(run, card)
