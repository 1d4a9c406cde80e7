"""What a model path is, below every stage: ``infer``, ``evaluate``, ``export`` and ``cv`` ask
:func:`open_model`, never each other. No TensorFlow or ONNX Runtime here.

A model is given as

* a ``.keras`` file, with the ``stsseg.json`` that ``stsseg train`` writes beside it;
* a run folder (its ``best.keras``);
* a cv folder from ``stsseg cv`` (it holds ``folds.json``): every fold's ``run/best.keras``, a fold
  ensemble whose softmax is averaged, and the post-processing chosen on its out-of-fold predictions;
* an export from ``stsseg export``: its folder, or one network file in it, with ``stsseg.json``.

:class:`ModelSource` says which network files predict (:func:`sts_seg.infer.loading.load_predictor`
loads them), with which card, and which post-processing the model asks for itself;
:func:`resolve_postprocess` alone decides what is applied:

1. the config's ``postprocess`` section: ``mode: none`` applies none; settings that change anything
   (``keep_largest``, ``min_volume_ml``) apply as given;
2. else the model's own choice: a cv folder's ``cv/postprocess.json`` (without a report, its folds'
   ``stsseg.json``), an export's ``stsseg.json``, or the ``stsseg.json`` of a run folder or beside a
   ``.keras`` file (the training config's ``postprocess``); an export carries its model's choice, so
   the two give the same masks;
3. else none.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from sts_seg.config.evaluate import PostprocessConfig
from sts_seg.errors import DataError, ModelError
from sts_seg.io.card import CARD, ModelCard, card_beside, read_card
from sts_seg.io.reading import read_json

#: the files of a cv folder: its folds, each fold's completion record, the report folder and the
#: post-processing decision in it
FOLDS_FILE = "folds.json"
FOLD_DONE = "fold.json"
REPORT = "cv"
POSTPROCESS = "postprocess.json"
BEST = "best.keras"

Kind = Literal["keras", "run", "cv", "export"]


@dataclass(frozen=True)
class Fold:
    """One fold of a cv folder: disjoint, sorted patient lists."""

    train: tuple[str, ...]
    valid: tuple[str, ...]
    test: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in asdict(self).items()}


def read_folds(path: Path) -> list[Fold]:
    """The folds of a ``folds.json`` (as edited by a user, perhaps); one-line errors."""
    try:
        raw = json.loads(Path(path).read_text())
        return [Fold(*(tuple(sorted(str(p) for p in entry[k])) for k in ("train", "valid", "test")))
                for entry in raw["folds"]]  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"{path}: not a folds file ({exc.__class__.__name__}: {exc}); it needs "
            '{"folds": [{"train": [...], "valid": [...], "test": [...]}, ...]}; delete it to make new folds'
        ) from None


def fold_dir(cv_dir: Path, k: int) -> Path:
    return Path(cv_dir) / f"fold_{k}"


def is_cv_dir(path: Path) -> bool:
    """True when ``path`` is a folder written by ``stsseg cv`` (it holds ``folds.json``)."""
    return Path(path).is_dir() and (Path(path) / FOLDS_FILE).is_file()


@dataclass(frozen=True)
class ModelSource:
    """A model on disk. ``networks``: the ``.keras`` files (one, or one per fold) or the export's
    network files; ``network``: an export's ``stsseg.json`` ``network`` entry (format, input
    channels and divisor), None for Keras models; ``card``: the model card (None for a ``.keras``
    file without one); ``postprocess``: the settings the model asks for itself (None: none) and
    ``postprocess_origin`` where they were read; ``seen_patients``: the patients a cv folder's
    folds trained or validated on."""

    path: Path
    kind: Kind
    networks: tuple[Path, ...]
    card: ModelCard | None
    network: dict[str, Any] | None = None
    postprocess: dict[str, Any] | None = None
    postprocess_origin: str | None = None
    seen_patients: frozenset[str] = field(default_factory=frozenset)


def _settings(raw: Any, where: Path, fix: str) -> dict[str, Any] | None:
    """Post-processing settings read from a file, as :func:`postprocess` keywords; None when they
    change nothing."""
    try:
        pp = PostprocessConfig.model_validate(dict(raw or {}))
    except (ValidationError, TypeError, ValueError) as exc:
        raise ModelError(f"{where}: bad post-processing settings {raw!r} ({exc.__class__.__name__}); {fix}") from None
    return pp.settings if pp.active else None


def _exported(path: Path) -> tuple[Path, dict[str, Any], list[str]] | None:
    """``(folder, stsseg.json, network files)`` when ``path`` is an export or one of its network files."""
    folder = path if path.is_dir() else path.parent
    if not (folder / CARD).is_file() or (path.is_file() and path.suffix == ".keras"):
        return None
    doc = read_json(folder / CARD, "model card", "re-run 'stsseg export'")
    net = doc.get("network")
    if not isinstance(net, dict):
        return None  # a run folder's card
    return folder, doc, [path.name] if path.is_file() else [str(f) for f in net.get("files") or []]


def _cv(path: Path) -> ModelSource:
    folds = read_folds(path / FOLDS_FILE)
    nets = []
    for k in range(len(folds)):
        d = fold_dir(path, k)
        if not (d / FOLD_DONE).is_file() or not (d / "run" / BEST).is_file():
            raise ModelError(f"{path}: fold {k} is not finished; run 'stsseg cv --run {path}' again to finish it")
        nets.append(d / "run" / BEST)
    card = card_beside(nets[0])
    seen = frozenset(p for f in folds for p in (*f.train, *f.valid))
    decision = path / REPORT / POSTPROCESS
    if decision.is_file():
        try:
            raw = json.loads(decision.read_text())["settings"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"{decision}: unreadable ({exc}); rerun 'stsseg cv --run {path}' to rewrite the report"
            ) from None
        pp, origin = _settings(raw, decision, f"rerun 'stsseg cv --run {path}'"), f"from cross-validation ({decision})"
    else:
        pp = _settings(card.postprocess, nets[0].parent / CARD, "re-run 'stsseg train'") if card else None
        origin = f"from the fold models' {nets[0].parent / CARD} (no cv report yet)"
    return ModelSource(path, "cv", tuple(nets), card, None, pp, origin if pp else None, seen)


def _keras(path: Path, kind: Kind) -> ModelSource:
    card = card_beside(path)
    pp = _settings(card.postprocess, path.parent / CARD, "re-run 'stsseg train'") if card else None
    return ModelSource(path, kind, (path,), card, None, pp, f"from the model card {path.parent / CARD}" if pp else None)


def open_model(path: Path) -> ModelSource:
    """What ``path`` is (see the module docstring); a ModelError says what was expected."""
    path = Path(path)
    if is_cv_dir(path):
        return _cv(path)
    found = _exported(path)
    if found is not None:
        folder, doc, files = found
        card = read_card(folder / CARD)
        pp = _settings(doc.get("postprocess"), folder / CARD, "re-run 'stsseg export'")
        origin = f"from the export's {folder / CARD}" if pp else None
        return ModelSource(path, "export", tuple(folder / f for f in files), card, doc["network"], pp, origin)
    if path.is_dir():
        if (path / BEST).is_file():
            return _keras(path / BEST, "run")
        raise ModelError(
            f"{path}: no {BEST}, {FOLDS_FILE} or exported {CARD} in this folder; pass a run folder, a .keras file, "
            "a cv folder or an export"
        )
    if not path.is_file():
        raise ModelError(f"{path}: model file not found; train one with 'stsseg train' or pass --model")
    return _keras(path, "keras")


@dataclass(frozen=True)
class Postprocessing:
    """The post-processing applied: ``settings`` (keywords of
    :func:`~sts_seg.core.postprocess.postprocess`), ``origin`` (``config``, ``model`` or ``none``)
    and a ``note`` for the user when it is not plain none."""

    settings: dict[str, Any]
    origin: Literal["config", "model", "none"]
    note: str | None = None

    @property
    def active(self) -> bool:
        return self.settings["keep_largest"] is not None or self.settings["min_volume_ml"] > 0


def resolve_postprocess(config: PostprocessConfig, model: ModelSource | None) -> Postprocessing:
    """The one precedence (module docstring): the config's ``postprocess`` > the model's own > none."""
    own = model.postprocess if model is not None else None
    stored = f"{own} {model.postprocess_origin}" if own and model is not None else None
    if config.mode == "none":
        note = f"no post-processing (postprocess.mode: none), not the one stored with the model: {stored}"
        return Postprocessing(PostprocessConfig().settings, "config", note if stored else None)
    if config.active:
        mine = config.settings
        note = f"post-processing from the config: {mine}"
        if stored and own != mine:
            note += f", not the one stored with the model: {stored}"
        return Postprocessing(mine, "config", note)
    if own:
        return Postprocessing(own, "model", f"post-processing {model.postprocess_origin}: {own}")
    return Postprocessing(PostprocessConfig().settings, "none")
