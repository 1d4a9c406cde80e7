"""A model path -> a :class:`~sts_seg.infer.predictor.Predictor` and the spec it was trained with."""

from __future__ import annotations

from pathlib import Path

from sts_seg.config import Config
from sts_seg.core.slicing import SliceSpec
from sts_seg.errors import ModelError
from sts_seg.infer.predictor import Predictor
from sts_seg.io.card import ModelCard, card_beside


def spec_for(card: ModelCard | None, cfg: Config, model_path: Path) -> SliceSpec:
    """The model's own spec (``stsseg.json`` beside it), else one built from the config."""
    if card is not None:
        return card.spec
    if cfg.model.image_size == "auto":
        raise ModelError(
            f"{model_path}: no stsseg.json beside the model to say how it was trained; "
            "set model.image_size (and the prepare settings) to the ones it was trained with"
        )
    return cfg.slice_spec(int(cfg.model.image_size))


def load_predictor(
    model_path: Path, cfg: Config, batch_size: int, tta: str = "none"
) -> tuple[Predictor, SliceSpec, ModelCard | None]:
    """The Keras model at ``model_path`` as a predictor, its slice spec and its card (if any)."""
    from sts_seg.infer.keras_net import KerasNetwork

    net = KerasNetwork.from_path(model_path)
    card = card_beside(model_path)
    spec = spec_for(card, cfg, Path(model_path))
    if net.channels != spec.channels and net.channels != 3:
        raise ModelError(f"{model_path}: the model takes {net.channels} channels but its spec renders {spec.channels}")
    return Predictor([net], batch_size, tta), spec, card
