"""stsseg export: ONNX plus stsseg.json; ONNX Runtime inference without TensorFlow, equal to Keras."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.tf
pytest.importorskip("onnxruntime")
if importlib.util.find_spec("tf2onnx") is None:  # not imported here: it imports TensorFlow
    pytest.skip("needs tf2onnx: pip install 'stsseg[export]'", allow_module_level=True)


def _random_run(folder: Path, seed: int = 0, size: int = 48, calibrate: np.ndarray | None = None) -> Path:
    """A run folder with an untrained 3-level UNet; with ``calibrate`` images, the head's bias is
    shifted so that about half of their pixels come out as tumour (a mask worth comparing)."""
    import keras

    from sts_seg.config import load_config
    from sts_seg.io.card import ModelCard, write_card
    from sts_seg.model import build_model

    keras.utils.set_random_seed(seed)
    cfg = load_config(None, (f"model.image_size={size}", "model.num_layers=3", "model.base_filters=4"))
    folder.mkdir(parents=True)
    model = build_model(cfg.model)
    if calibrate is not None:
        p = model.predict(calibrate.astype(np.float32), verbose=0)
        logit = np.log(np.clip(p[..., 1], 1e-7, 1)) - np.log(np.clip(p[..., 0], 1e-7, 1))
        head = next(layer for layer in reversed(model.layers) if layer.get_weights())
        kernel, bias = head.get_weights()
        bias[1] -= float(np.median(logit))
        head.set_weights([kernel, bias])
    model.save(folder / "best.keras")
    write_card(folder, ModelCard(cfg.slice_spec(size), 2, (5.0, 5.0, 5.0)))
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_h5: Path) -> tuple[Path, Path]:
    from sts_seg.config import load_config
    from sts_seg.core.slicing import volume_images
    from sts_seg.export import export_model
    from sts_seg.io.h5 import read_volume

    root = tmp_path_factory.mktemp("export")
    vol = read_volume(tiny_h5, "STS_001")
    images, _ = volume_images(vol.ct, vol.pet, load_config(None, ()).slice_spec(48))
    run = _random_run(root / "run", calibrate=images)
    export_model(model=run, output=root / "onnx")
    return run, root / "onnx"


def test_export_writes_the_network_and_its_preprocessing(exported) -> None:
    from sts_seg.io.card import read_card

    run, out = exported
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx", "stsseg.json"]
    doc = json.loads((out / "stsseg.json").read_text())
    assert doc["network"]["format"] == "onnx"
    assert doc["network"]["files"] == ["model.onnx"]
    assert doc["network"]["input"] == {"name": "image", "layout": "NHWC", "dtype": "float32", "range": [0, 255],
                                       "channels": 3, "divisor": 4}  # fmt: skip
    assert read_card(out / "stsseg.json").spec == read_card(run / "stsseg.json").spec
    assert doc["provenance"]["exported_from"] == [str(run / "best.keras")]
    assert doc["provenance"]["export_versions"]["tensorflow"]


@pytest.mark.parametrize("shape", [(32, 32), (48, 48), (64, 112), (112, 80)])
def test_onnx_matches_keras_at_several_sizes(exported, shape: tuple[int, int]) -> None:
    """Conv2DTranspose with dynamic sizes has a history of wrong ONNX shapes: check several."""
    from sts_seg.infer.keras_net import KerasNetwork
    from sts_seg.infer.onnx_net import OnnxNetwork

    run, out = exported
    x = np.random.default_rng(1).uniform(0, 255, (3, *shape, 3)).astype(np.float32)
    a = KerasNetwork.from_path(run / "best.keras").probabilities(x)
    b = OnnxNetwork(out / "model.onnx", 3, 4).probabilities(x)
    assert a.shape == b.shape == (3, *shape, 2)
    assert np.abs(a - b).max() < 1e-4


def test_onnx_volume_masks_match_keras(exported, tiny_h5: Path, tmp_path: Path) -> None:
    """The parity target: >= 99.9 % identical voxels and per-patient Dice equal to 3 decimals."""
    from sts_seg.config import load_config
    from sts_seg.infer import infer
    from sts_seg.io import h5
    from sts_seg.metrics.overlap import confusion_counts, dice

    run, out = exported
    masks = {}
    for name, model in (("keras", run / "best.keras"), ("onnx", out)):
        cfg = load_config(None, (), {"data.source": tiny_h5, "infer.model": model, "infer.output": tmp_path / name})
        infer(cfg=cfg)
        masks[name] = h5.read_labels(tmp_path / name / h5.PREDICTIONS, None)
    truth = h5.read_labels(tiny_h5, None)
    total = same = 0
    for pid, a in masks["keras"].items():
        b = masks["onnx"][pid]
        total, same = total + a.size, same + int((a == b).sum())
        assert 0 < a.mean() < 1  # random weights: a non-trivial mask, so the comparison means something
        da, db = dice(confusion_counts(a, truth[pid]), "one"), dice(confusion_counts(b, truth[pid]), "one")
        assert round(da, 3) == round(db, 3)
    assert same / total >= 0.999


def test_onnx_inference_never_imports_tensorflow(exported, tiny_h5: Path, tmp_path: Path) -> None:
    _, out = exported
    code = (
        "import sys\nfrom sts_seg.cli import app\n"
        f"app(['infer', '--model', {str(out)!r}, '--source', {str(tiny_h5)!r}, '--output', {str(tmp_path / 'o')!r}],"
        " standalone_mode=False)\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"
    assert (tmp_path / "o" / "predictions.h5").is_file()


def test_cv_folder_exports_every_fold_and_the_ensemble_matches(tmp_path: Path) -> None:
    from sts_seg.config import load_config
    from sts_seg.cv.folds import make_folds, write_folds
    from sts_seg.export import export_model
    from sts_seg.infer.loading import load_predictor

    cvdir = tmp_path / "cv"
    write_folds(cvdir / "folds.json", make_folds(["a", "b", "c", "d"], 2), {})
    for k in range(2):
        _random_run(cvdir / f"fold_{k}" / "run", seed=k)
        (cvdir / f"fold_{k}" / "fold.json").write_text("{}")
    (cvdir / "cv").mkdir()
    (cvdir / "cv" / "postprocess.json").write_text(json.dumps({"settings": {"keep_largest": 1, "min_volume_ml": 0}}))
    res = export_model(model=cvdir, output=tmp_path / "exp")
    assert res.files == ["model_fold0.onnx", "model_fold1.onnx"]
    assert res.card["postprocess"] == {"keep_largest": 1, "min_volume_ml": 0}
    cfg = load_config(None, ())
    x = np.random.default_rng(2).integers(0, 256, (2, 48, 48, 3)).astype(np.uint8)
    keras_ens, _, _ = load_predictor(cvdir, cfg, 4)
    onnx_ens, _, _ = load_predictor(tmp_path / "exp", cfg, 4)
    assert len(onnx_ens.networks) == 2
    assert np.abs(keras_ens.probabilities(x) - onnx_ens.probabilities(x)).max() < 1e-4
    from sts_seg.modelsource import open_model, resolve_postprocess

    pp = resolve_postprocess(cfg.postprocess, open_model(tmp_path / "exp"))
    assert pp.settings == {"keep_largest": 1, "min_volume_ml": 0}
    assert "stsseg.json" in pp.note
    assert resolve_postprocess(cfg.postprocess, open_model(cvdir)).settings == pp.settings  # model = its export
    mine = load_config(None, ("postprocess.min_volume_ml=3",))
    pp = resolve_postprocess(mine.postprocess, open_model(tmp_path / "exp"))  # the config wins, and says so
    assert pp.settings == {"keep_largest": None, "min_volume_ml": 3.0}
    assert "not the one stored with the model" in pp.note
    pp = resolve_postprocess(mine.postprocess, open_model(cvdir))
    assert pp.settings["min_volume_ml"] == 3.0
    assert "not the one stored with the model" in pp.note


def test_export_errors_are_one_line(runner, tmp_path: Path, exported) -> None:
    from sts_seg.cli import app

    run, out = exported
    empty = tmp_path / "empty"
    empty.mkdir()
    r = runner.invoke(app, ["export", str(empty), "--output", str(tmp_path / "x")])
    assert r.exit_code == 1
    assert "no best.keras" in r.stderr
    r = runner.invoke(app, ["export", str(run), "--output", str(out)])
    assert r.exit_code == 1
    assert "--force" in r.stderr
    r = runner.invoke(app, ["export", str(run), "--output", str(tmp_path / "y"), "--format", "tflite2"])
    assert r.exit_code == 1
    assert "unknown" in r.stderr


def test_litert_export_has_no_flex_ops_and_matches_keras(exported, tmp_path: Path) -> None:
    """SELECT_TF_OPS would turn an op without a builtin into a Flex op, which needs TF's delegate."""
    import warnings

    import tensorflow as tf

    from sts_seg.export import export_model
    from sts_seg.infer.keras_net import KerasNetwork

    run, _ = exported
    res = export_model(model=run, output=tmp_path / "lite", fmt="litert")
    assert res.files == ["model.tflite"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = tf.lite.Interpreter(model_path=str(tmp_path / "lite" / "model.tflite"))
    d = it.get_input_details()[0]
    it.resize_tensor_input(d["index"], [2, 48, 64, 3])
    it.allocate_tensors()
    x = np.random.default_rng(3).uniform(0, 255, (2, 48, 64, 3)).astype(np.float32)
    it.set_tensor(d["index"], x)
    it.invoke()
    y = it.get_tensor(it.get_output_details()[0]["index"])
    ops = {o["op_name"] for o in it._get_ops_details()}
    assert not any(op.startswith("Flex") for op in ops), ops
    assert np.abs(y - KerasNetwork.from_path(run / "best.keras").probabilities(x)).max() < 1e-4


@pytest.mark.parametrize("backend", ["keras", "onnx"])
def test_no_tensorflow_banners_on_stderr(exported, tmp_path: Path, backend: str) -> None:
    """absl / oneDNN / CPU-feature banners stay off stderr even without TF_CPP_MIN_LOG_LEVEL set, and
    with oneDNN forced on (the default on CPUs with AVX-512, where TensorFlow then prints its banner)."""
    import os

    from sts_seg.io import png

    run, out = exported
    images = tmp_path / "images"
    images.mkdir()
    png.write_image(images / "a.png", np.zeros((40, 40, 3), np.uint8))
    model = run / "best.keras" if backend == "keras" else out
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | {"TF_ENABLE_ONEDNN_OPTS": "1"}
    cmd = [sys.executable, "-m", "sts_seg", "infer", "--model", str(model), "--input", str(images), "--output",
           str(tmp_path / "masks")]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for banner in ("absl", "oneDNN", "cpu_feature_guard", "I0000", "W0000"):
        assert banner not in done.stderr
    assert (tmp_path / "masks" / "a.png").is_file()


def test_a_mixed_bfloat16_model_is_exported_as_float32(tmp_path: Path) -> None:
    import keras

    from sts_seg.config import load_config
    from sts_seg.export import export_model
    from sts_seg.infer.onnx_net import OnnxNetwork
    from sts_seg.io.card import ModelCard, write_card
    from sts_seg.model import build_model

    cfg = load_config(None, ("model.image_size=48", "model.num_layers=3", "model.base_filters=4"))
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        model = build_model(cfg.model)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in model.layers}
    (tmp_path / "run").mkdir()
    model.save(tmp_path / "run" / "best.keras")
    write_card(tmp_path / "run", ModelCard(cfg.slice_spec(48), 2, (5.0, 5.0, 5.0)))
    export_model(model=tmp_path / "run", output=tmp_path / "onnx")
    x = np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 3)).astype(np.float32)
    onnx = OnnxNetwork(tmp_path / "onnx" / "model.onnx", 3, 4).probabilities(x)
    bf16 = np.asarray(model(x), np.float32)
    assert onnx.dtype == np.float32
    assert np.abs(onnx - bf16).max() < 0.05  # the same network, without bf16 rounding
    assert np.abs(onnx - bf16).max() > 0  # computed in float32, not in bf16
