"""The model source (what a model path is) and the one post-processing precedence: the config's
``postprocess`` section > the model's own choice (cv report, export card, run card) > none.
No TensorFlow: the network files are never loaded here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sts_seg.config import load_config
from sts_seg.core.postprocess import postprocess
from sts_seg.core.slicing import SliceSpec
from sts_seg.errors import ConfigError, ModelError
from sts_seg.export import export_card
from sts_seg.io.card import ModelCard, write_card
from sts_seg.modelsource import Fold, open_model, resolve_postprocess

NONE = {"keep_largest": None, "min_volume_ml": 0.0}


def _spec() -> SliceSpec:
    return load_config(None, ("model.image_size=32",)).slice_spec(32)


def _run(folder: Path, pp: dict | None = None) -> Path:
    """A run folder: a (never loaded) best.keras and the card train writes, with ``pp``."""
    folder.mkdir(parents=True)
    (folder / "best.keras").write_bytes(b"PK\x05\x06" + bytes(18))
    write_card(folder, ModelCard(_spec(), 2, (5.0, 5.0, 5.0), dict(pp or NONE)))
    return folder


def _cv(folder: Path, settings: dict | None, k: int = 2, card_pp: dict | None = None) -> Path:
    folds = [Fold(("a",), ("b",), ("c",)), Fold(("c",), ("a",), ("b",))][:k]
    folder.mkdir(parents=True)
    (folder / "folds.json").write_text(json.dumps({"folds": [f.as_dict() for f in folds]}))
    for i in range(k):
        _run(folder / f"fold_{i}" / "run", card_pp)
        (folder / f"fold_{i}" / "fold.json").write_text("{}")
    if settings is not None:
        (folder / "cv").mkdir()
        (folder / "cv" / "postprocess.json").write_text(json.dumps({"chosen": "x", "settings": settings}))
    return folder


def _export(source, folder: Path, files: tuple[str, ...] = ("model.onnx",)) -> Path:
    """What ``stsseg export`` writes for ``source``, without converting anything (fake network files)."""
    folder.mkdir()
    for f in files:
        (folder / f).write_bytes(b"onnx")
    doc = export_card(source, "onnx", list(files), 3, 8, {"python": "x"})
    (folder / "stsseg.json").write_text(json.dumps(doc))
    return folder


def _pp(*sets: str):
    return load_config(None, sets).postprocess


# ---------------------------------------------------------------- what a path is


def test_each_kind_of_model_path(tmp_path: Path) -> None:
    run = _run(tmp_path / "run")
    m = open_model(run)
    assert (m.kind, m.networks) == ("run", (run / "best.keras",))
    assert m.card is not None
    assert m.card.spec == _spec()
    assert open_model(run / "best.keras").kind == "keras"
    cv = _cv(tmp_path / "cv", None)
    m = open_model(cv)
    assert m.kind == "cv"
    assert m.networks == (cv / "fold_0" / "run" / "best.keras", cv / "fold_1" / "run" / "best.keras")
    assert m.seen_patients == {"a", "b", "c"}  # fold 0 trains a, validates b; fold 1 trains c, validates a
    exp = _export(m, tmp_path / "exp", ("model_fold0.onnx", "model_fold1.onnx"))
    e = open_model(exp)
    assert (e.kind, e.networks) == ("export", (exp / "model_fold0.onnx", exp / "model_fold1.onnx"))
    assert e.network["input"] == {"name": "image", "layout": "NHWC", "dtype": "float32", "range": [0, 255],
                                  "channels": 3, "divisor": 8}  # fmt: skip
    assert open_model(exp / "model_fold1.onnx").networks == (exp / "model_fold1.onnx",)


def test_bad_model_paths_are_one_line_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model file not found"):
        open_model(tmp_path / "nowhere.keras")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"no best\.keras, folds\.json or exported stsseg\.json"):
        open_model(tmp_path / "empty")
    cv = _cv(tmp_path / "cv", None)
    (cv / "fold_1" / "fold.json").unlink()
    with pytest.raises(ModelError, match="fold 1 is not finished"):
        open_model(cv)
    cv2 = _cv(tmp_path / "cv2", {"keep_largest": 0})
    with pytest.raises(ModelError, match=r"cv2/cv/postprocess.json: bad post-processing settings"):
        open_model(cv2)


# ---------------------------------------------------------------- the precedence


def test_a_run_folder_and_its_export_resolve_to_the_same_postprocessing(tmp_path: Path) -> None:
    run = _run(tmp_path / "run", {"keep_largest": 1, "min_volume_ml": 0.0})
    model = open_model(run)
    exp = open_model(_export(model, tmp_path / "exp"))
    a, b = resolve_postprocess(_pp(), model), resolve_postprocess(_pp(), exp)
    assert a.settings == b.settings == {"keep_largest": 1, "min_volume_ml": 0.0}
    assert (a.origin, b.origin) == ("model", "model")
    assert "run/stsseg.json" in a.note
    assert "exp/stsseg.json" in b.note
    # the same masks: two components, the larger (3 voxels) kept by both
    vol = np.zeros((1, 1, 9), np.uint8)
    vol[0, 0, [0, 1, 2, 6]] = 1
    want = np.array([[[1, 1, 1, 0, 0, 0, 0, 0, 0]]], np.uint8)
    for pp in (a, b):
        assert np.array_equal(postprocess(vol, (1, 1, 1), **pp.settings), want)


def test_a_cv_choice_beats_its_fold_cards_and_reaches_the_export(tmp_path: Path) -> None:
    cv = open_model(_cv(tmp_path / "cv", {"keep_largest": None, "min_volume_ml": 2}, card_pp={"keep_largest": 1}))
    pp = resolve_postprocess(_pp(), cv)
    assert pp.settings == {"keep_largest": None, "min_volume_ml": 2.0}
    assert "cv/postprocess.json" in pp.note
    assert resolve_postprocess(_pp(), open_model(_export(cv, tmp_path / "exp"))).settings == pp.settings
    no_report = open_model(_cv(tmp_path / "cv2", None, card_pp={"keep_largest": 1, "min_volume_ml": 0.0}))
    assert resolve_postprocess(_pp(), no_report).settings == {"keep_largest": 1, "min_volume_ml": 0.0}


def test_none_in_the_config_overrides_a_cv_choice(tmp_path: Path) -> None:
    cv = open_model(_cv(tmp_path / "cv", {"keep_largest": 1, "min_volume_ml": 0}))
    pp = resolve_postprocess(_pp("postprocess.mode=none"), cv)
    assert (pp.settings, pp.origin, pp.active) == (NONE, "config", False)
    assert "postprocess.mode: none" in pp.note
    assert "cv/postprocess.json" in pp.note
    alone = resolve_postprocess(_pp("postprocess.mode=none"), None)
    assert (alone.settings, alone.origin, alone.note) == (NONE, "config", None)


def test_config_settings_override_the_model_and_say_so(tmp_path: Path) -> None:
    run = open_model(_run(tmp_path / "run", {"keep_largest": 1, "min_volume_ml": 0.0}))
    pp = resolve_postprocess(_pp("postprocess.min_volume_ml=3"), run)
    assert (pp.settings, pp.origin) == ({"keep_largest": None, "min_volume_ml": 3.0}, "config")
    assert "not the one stored with the model" in pp.note
    same = resolve_postprocess(_pp("postprocess.keep_largest=1"), run)
    assert "not the one" not in same.note  # the config asks for what the model stored


def test_nothing_anywhere_is_none_without_a_note(tmp_path: Path) -> None:
    for model in (None, open_model(_run(tmp_path / "run")), open_model(_cv(tmp_path / "cv", NONE))):
        pp = resolve_postprocess(_pp(), model)
        assert (pp.settings, pp.origin, pp.note) == (NONE, "none", None)


def test_mode_none_with_settings_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="mode none contradicts"):
        load_config(None, ("postprocess.mode=none", "postprocess.keep_largest=1"))
    assert _pp("postprocess.mode=none").settings == NONE
