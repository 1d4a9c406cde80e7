"""A model -> a :class:`~sts_seg.infer.predictor.Predictor` and the spec it was trained with.

What the model is (a ``.keras`` file, a run folder, a cv folder, an export) is
:func:`sts_seg.modelsource.open_model`'s answer; here its networks are loaded: Keras models
(a cv folder's fold models are averaged, a fold ensemble), or an ONNX export on ONNX Runtime
without importing TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

from sts_seg.config import Config
from sts_seg.core.slicing import SliceSpec
from sts_seg.errors import ModelError
from sts_seg.infer.predictor import Predictor
from sts_seg.io.card import ModelCard, card_beside
from sts_seg.modelsource import ModelSource, open_model
from sts_seg.runtime import require


def _export_predictor(source: ModelSource, batch_size: int, tta: str) -> Predictor:
    from sts_seg.infer.onnx_net import OnnxNetwork

    net = source.network or {}
    if net.get("format") != "onnx":
        raise ModelError(
            f"{source.path}: a {net.get('format')} export is for other runtimes; infer runs ONNX exports "
            "(stsseg export --format onnx) or .keras models"
        )
    channels, divisor = int(net["input"]["channels"]), int(net["input"]["divisor"])
    return Predictor([OnnxNetwork(f, channels, divisor) for f in source.networks], batch_size, tta)


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
    model: Path | ModelSource, cfg: Config, batch_size: int, tta: str = "none"
) -> tuple[Predictor, SliceSpec, ModelCard | None]:
    """The networks of ``model`` (a path or an opened source) as a predictor, the slice spec and the card."""
    source = model if isinstance(model, ModelSource) else open_model(model)
    if source.kind == "export":
        return _export_predictor(source, batch_size, tta), source.card.spec, source.card
    require("tensorflow", f"the Keras model {source.path}")
    from sts_seg.infer.keras_net import KerasNetwork

    files = source.networks
    nets = [KerasNetwork.from_path(p) for p in files]
    cards = [source.card, *(card_beside(p) for p in files[1:])]
    card = source.card
    spec = spec_for(card, cfg, Path(files[0]))
    for p, c, net in zip(files, cards, nets, strict=True):
        if (c.spec if c else spec) != spec or (c.policy if c else None) != (card.policy if card else None):
            raise ModelError(f"{p}: trained with other slicing settings than {files[0]}; an ensemble needs one spec")
        if net.channels != spec.channels and net.channels != 3:
            raise ModelError(f"{p}: the model takes {net.channels} channels but its spec renders {spec.channels}")
    return Predictor(nets, batch_size, tta), spec, card
