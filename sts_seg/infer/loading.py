"""A model path -> a :class:`~sts_seg.infer.predictor.Predictor` and the spec it was trained with.

The path is a ``.keras`` file (with ``stsseg.json`` beside it); a cv folder from ``stsseg cv``
(every fold model is loaded and their softmax averaged, a fold ensemble, and the post-processing
chosen on the out-of-fold predictions applies); or an ONNX export from ``stsseg export`` (its
folder, or one ``.onnx`` file in it), run on ONNX Runtime without importing TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sts_seg.config import Config, PostprocessConfig
from sts_seg.core.slicing import SliceSpec
from sts_seg.cv.ensemble import chosen_postprocess, fold_models, is_cv_dir
from sts_seg.errors import ModelError
from sts_seg.infer.predictor import Predictor
from sts_seg.io.card import CARD, ModelCard, card_beside, read_card
from sts_seg.io.reading import read_json
from sts_seg.runtime import require


def exported(model_path: Path) -> tuple[Path, dict[str, Any], list[str]] | None:
    """``(folder, stsseg.json, network files)`` when ``model_path`` is an export (its folder or
    one of its network files), else None."""
    path = Path(model_path)
    folder = path if path.is_dir() else path.parent
    card = folder / CARD
    if not card.is_file() or (path.is_file() and path.suffix == ".keras"):
        return None
    doc = read_json(card, "model card", "re-run 'stsseg export'")
    net = doc.get("network")
    if not isinstance(net, dict):
        return None
    files = [path.name] if path.is_file() else list(net.get("files") or [])
    return folder, doc, files


def _export_predictor(folder: Path, doc: dict[str, Any], files: list[str], batch_size: int, tta: str):
    from sts_seg.infer.onnx_net import OnnxNetwork

    net = doc["network"]
    if net.get("format") != "onnx":
        raise ModelError(
            f"{folder}: a {net.get('format')} export is for other runtimes; infer runs ONNX exports "
            "(stsseg export --format onnx) or .keras models"
        )
    channels, divisor = int(net["input"]["channels"]), int(net["input"]["divisor"])
    nets = [OnnxNetwork(folder / f, channels, divisor) for f in files]
    return Predictor(nets, batch_size, tta), read_card(folder / CARD)


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


def model_files(model_path: Path) -> list[Path]:
    """The ``.keras`` files behind ``model_path``: itself, or every fold model of a cv folder."""
    return fold_models(model_path) if is_cv_dir(model_path) else [Path(model_path)]


def load_predictor(
    model_path: Path, cfg: Config, batch_size: int, tta: str = "none"
) -> tuple[Predictor, SliceSpec, ModelCard | None]:
    """The model(s) at ``model_path`` as a predictor, the slice spec and the card (if any)."""
    found = exported(model_path)
    if found is not None:
        predictor, card = _export_predictor(*found, batch_size, tta)
        return predictor, card.spec, card
    require("tensorflow", f"the Keras model {model_path}")
    from sts_seg.infer.keras_net import KerasNetwork

    files = model_files(model_path)
    nets = [KerasNetwork.from_path(p) for p in files]
    cards = [card_beside(p) for p in files]
    card = cards[0]
    spec = spec_for(card, cfg, Path(files[0]))
    for p, c, net in zip(files, cards, nets, strict=True):
        if (c.spec if c else spec) != spec or (c.policy if c else None) != (card.policy if card else None):
            raise ModelError(f"{p}: trained with other slicing settings than {files[0]}; an ensemble needs one spec")
        if net.channels != spec.channels and net.channels != 3:
            raise ModelError(f"{p}: the model takes {net.channels} channels but its spec renders {spec.channels}")
    return Predictor(nets, batch_size, tta), spec, card


def postprocess_for(cfg: Config, model_path: Path | None) -> tuple[dict[str, Any], str | None]:
    """The 3D post-processing to apply: the config's when it sets any, else the one a cv folder
    chose on its out-of-fold predictions, else none; and a note saying which."""
    if cfg.postprocess.active:
        mine = cfg.postprocess.model_dump()
        if model_path is not None and (exported(model_path) is not None or is_cv_dir(model_path)):
            return mine, f"post-processing from the config ({mine}), not the one stored with the model {model_path}"
        return mine, None
    found = exported(model_path) if model_path is not None else None
    if found is not None:
        pp = dict(found[1].get("postprocess") or {})
        if PostprocessConfig(**pp).active:
            return pp, f"post-processing from the export's stsseg.json: {pp}"
        return cfg.postprocess.model_dump(), None
    if model_path is not None and is_cv_dir(model_path):
        chosen = chosen_postprocess(model_path)
        if chosen is not None:
            return chosen, f"post-processing chosen by cross-validation ({model_path}/cv/postprocess.json): {chosen}"
    return cfg.postprocess.model_dump(), None
