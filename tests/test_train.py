"""``stsseg train``: the run directory, overwrite/resume rules, LR reduction, reproducibility,
image/mask pairing and mask decoding, ``--dry-run``.

One tiny model (48 px, 3 levels, base_filters 4) is trained once for the session (``_pipeline``);
the other runs here are 1-4 epochs of 2 steps.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from _pipeline import SIZE, cfg48, copy_tree, fit, overrides
from conftest import unet_parameters
from PIL import Image
from skimage.transform import resize
from typer.testing import CliRunner

from sts_seg.cli import app
from sts_seg.config import load_config
from sts_seg.core.rgb import ColourMap
from sts_seg.errors import ConfigError, DataError, OverwriteError
from sts_seg.io import png
from sts_seg.io.layout import Pair
from sts_seg.train.arrays import load_pairs
from sts_seg.train.plots import read_history

pytest_plugins = ["_pipeline"]
pytestmark = pytest.mark.tf

ROOT = Path(__file__).resolve().parents[1]
HISTORY_COLUMNS = {"epoch", "loss", "tumour_dice", "val_loss", "val_tumour_dice", "learning_rate"}
METRICS = ("loss", "tumour_dice", "val_loss", "val_tumour_dice")


def _header(path: Path) -> list[str]:
    with open(path, newline="") as fh:
        return next(csv.reader(fh))


def _digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> hex)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _load(path: Path):
    import keras

    import sts_seg.model.losses
    import sts_seg.train.epoch_metrics  # noqa: F401  (registers the custom objects)

    return keras.models.load_model(path)


def _opt_state(path: Path) -> tuple[int, float]:
    """(iterations, learning_rate) of the optimizer saved in a .keras file."""
    import keras

    model = _load(path)
    return (
        int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
    )


# =========================================================================== the run directory


def test_run_directory_holds_every_artefact(trained_run):
    run = trained_run.run_dir
    for name in ("best.keras", "last.keras", "history.csv", "config.yaml", "versions.json"):
        assert (run / name).is_file(), name
    assert (run / "plots" / "curves.png").is_file()
    assert (run / "previews" / "epoch_001.png").is_file()
    assert not (run / "previews" / "epoch_002.png").exists()  # 1 epoch -> 1 preview


def test_history_csv_has_one_row_per_epoch_with_the_headline_columns(trained_run, dataset48):
    path = trained_run.run_dir / "history.csv"
    assert set(_header(path)) >= HISTORY_COLUMNS
    rows = read_history(path)
    assert [r["epoch"] for r in rows] == [0.0]
    row = rows[0]
    assert row["learning_rate"] == pytest.approx(1e-3, rel=1e-6)  # the configured rate, no reduction yet
    assert 0.0 <= row["tumour_dice"] <= 1.0
    # the logged validation Dice is the pooled foreground Dice of last.keras on the valid slices
    images = np.stack([png.read_image(p) for p in sorted((dataset48 / "valid" / "images").iterdir())])
    masks = np.stack([png.read_mask(p) for p in sorted((dataset48 / "valid" / "masks").iterdir())]) > 0
    pred = np.argmax(_load(trained_run.run_dir / "last.keras").predict(images.astype(np.float32), verbose=0), -1) > 0
    hand = 2 * (pred & masks).sum() / (pred.sum() + masks.sum()) if pred.sum() + masks.sum() else 1.0
    assert row["val_tumour_dice"] == pytest.approx(hand, abs=1e-4)
    assert np.isfinite(row["loss"])
    assert row["loss"] > 0
    assert trained_run.epochs_run == 1
    assert trained_run.best_epoch == 1
    assert trained_run.best_value == pytest.approx(row["val_tumour_dice"])  # monitor: val_tumour_dice


def test_config_yaml_and_versions_json_describe_the_run(trained_run):
    import keras
    import tensorflow as tf

    import sts_seg

    run = trained_run.run_dir
    loaded = load_config(run / "config.yaml")  # the resolved config round-trips
    assert loaded == cfg48().updated({"data.dataset": loaded.data.dataset, "train.run_dir": run})
    v = json.loads((run / "versions.json").read_text())
    assert v["tensorflow"] == tf.__version__
    assert v["keras"] == keras.__version__
    assert v["numpy"] == np.__version__
    assert v["stsseg"] == sts_seg.__version__
    assert v["python"] == sys.version.split()[0]


def test_checkpoints_hold_the_configured_model(trained_run):
    expected = unet_parameters(base=4, levels=3)
    assert expected == 7794  # counted by hand: 292 + 944 + 3616 (encoder) + 2328 + 604 (decoder) + 10 (head)
    assert trained_run.parameters == expected
    best = _load(trained_run.run_dir / "best.keras")
    assert best.count_params() == expected
    assert tuple(best.input_shape) == (None, None, None, 3)  # fully convolutional
    assert tuple(best.output_shape) == (None, None, None, 2)
    # 1 epoch of 2 steps: the optimizer took exactly 2 steps
    assert _opt_state(trained_run.run_dir / "last.keras") == (2, pytest.approx(1e-3, rel=1e-6))


def test_preview_grid_is_input_truth_prediction_for_two_images(trained_run):
    # train.preview_images=2 rows of 3 tiles (input, truth, prediction), 48 px at scale 2, 2 px padding
    img = Image.open(trained_run.run_dir / "previews" / "epoch_001.png")
    assert img.mode == "RGB"
    assert img.size == (3 * (2 * SIZE + 2) + 2, 2 * (2 * SIZE + 2) + 2)
    curves = Image.open(trained_run.run_dir / "plots" / "curves.png")
    assert curves.size[0] > curves.size[1] > 100  # three panels side by side


# =========================================================================== overwrite / resume


def test_existing_run_is_refused_without_force_and_kept_intact(trained_run, dataset48):

    before = _digest(trained_run.run_dir)
    with pytest.raises(OverwriteError, match="--force"):
        fit(cfg48(), dataset48, trained_run.run_dir)
    assert _digest(trained_run.run_dir) == before


def test_resume_without_a_checkpoint_is_refused(dataset48, tmp_path):

    with pytest.raises(OverwriteError, match="nothing to resume"):
        fit(cfg48("train.epochs=2"), dataset48, tmp_path / "run", resume=True)


def test_resume_continues_epoch_optimizer_and_learning_rate(trained_run, dataset48, tmp_path):

    run = copy_tree(trained_run.run_dir, tmp_path / "run")
    iters0, lr0 = _opt_state(run / "last.keras")
    assert iters0 == 2
    first = read_history(run / "history.csv")
    # a different learning rate in the config must not replace the checkpoint's optimizer state
    res = fit(cfg48("train.epochs=2", "train.learning_rate=0.5"), dataset48, run, resume=True)
    rows = read_history(run / "history.csv")
    assert [r["epoch"] for r in rows] == [0.0, 1.0]
    assert rows[0] == first[0]  # the first epoch's row is kept (appended, not rewritten)
    assert rows[1]["learning_rate"] == pytest.approx(lr0, rel=1e-6)
    iters1, lr1 = _opt_state(run / "last.keras")
    assert iters1 == iters0 + 2  # one more epoch of 2 steps
    assert lr1 == pytest.approx(lr0, rel=1e-6)
    assert res.epochs_run == 2
    assert (run / "previews" / "epoch_002.png").is_file()  # epoch numbering continues


def test_resume_keeps_best_keras_when_the_resumed_epoch_is_worse(trained_run, dataset48, tmp_path):
    import keras

    run = copy_tree(trained_run.run_dir, tmp_path / "run")
    # sabotage the checkpoint to resume from: a huge tumour bias on the last layer makes every
    # pixel a confident (wrong) tumour prediction, so the resumed epoch's val_loss is far worse
    model = _load(run / "last.keras")
    head = model.get_layer("head")  # the 1x1 conv before the softmax
    kernel = keras.ops.convert_to_numpy(head.kernel)
    head.set_weights([np.zeros_like(kernel), np.array([-50.0, 50.0], np.float32)])
    model.save(run / "last.keras")
    best_before = hashlib.sha256((run / "best.keras").read_bytes()).hexdigest()
    fit(cfg48("train.epochs=2", "train.monitor=val_loss"), dataset48, run, resume=True)
    rows = read_history(run / "history.csv")
    assert rows[1]["val_loss"] > 10 * rows[0]["val_loss"]  # the resumed epoch really is worse
    assert hashlib.sha256((run / "best.keras").read_bytes()).hexdigest() == best_before


# =========================================================================== LR reduction

#: nothing improves: no normalisation layers (no moving statistics) and a learning rate of 1e-12
PLATEAU = (
    "model.normalization=none",
    "train.learning_rate=1e-12",
    "train.monitor=val_loss",
    "train.reducer.patience=1",
    "train.reducer.factor=0.5",
    "train.preview_images=0",
)


@pytest.fixture(scope="module")
def plateau_run(dataset48, tmp_path_factory):

    return fit(cfg48("train.epochs=3", *PLATEAU), dataset48, tmp_path_factory.mktemp("plateau") / "run")


def test_reduce_lr_on_plateau_halves_the_learning_rate(plateau_run):
    rows = read_history(plateau_run.run_dir / "history.csv")
    lrs = [r["learning_rate"] for r in rows]
    # (abs=0: pytest.approx's default absolute tolerance of 1e-12 would accept any of these rates)
    # val_loss is flat: epoch 0 sets the best, every later epoch is a plateau of patience 1, so
    # the rate is halved at the end of epochs 1 and 2; history logs the rate each epoch used.
    assert lrs == pytest.approx([1e-12, 1e-12, 5e-13], rel=1e-5, abs=0)
    assert rows[1]["val_loss"] == pytest.approx(rows[0]["val_loss"], rel=1e-5)  # really a plateau


@pytest.fixture(scope="module")
def plateau_straight(dataset48, tmp_path_factory):
    """5 uninterrupted plateau epochs with early stopping (patience 3): its history and state."""
    run = tmp_path_factory.mktemp("plateau5") / "run"
    fit(cfg48("train.epochs=5", *PLATEAU, *STOPPING), dataset48, run)
    return read_history(run / "history.csv"), json.loads((run / "train_state.json").read_text())


@pytest.fixture(scope="module")
def plateau_resumed(dataset48, tmp_path_factory):
    """The same run, stopped after 2 epochs and resumed to 5: its history and state."""
    run = tmp_path_factory.mktemp("plateau2") / "run"
    fit(cfg48("train.epochs=2", *PLATEAU, *STOPPING), dataset48, run)
    fit(cfg48("train.epochs=5", *PLATEAU, *STOPPING), dataset48, run, resume=True)
    return read_history(run / "history.csv"), json.loads((run / "train_state.json").read_text()), run


#: early stopping that counts the plateau epochs but does not fire within 5 epochs
STOPPING = ("train.early_stopping.enabled=true", "train.early_stopping.patience=5")


def test_resume_repeats_the_uninterrupted_run(plateau_straight, plateau_resumed):
    (a, state_a), (b, state_b, _run) = plateau_straight, plateau_resumed
    assert [r["epoch"] for r in b] == [0.0, 1.0, 2.0, 3.0, 4.0]
    for ra, rb in zip(a, b, strict=True):
        # the weights barely move (learning rate ~1e-12, no normalisation), so an epoch's loss is a
        # fingerprint of the batches and dropout masks it saw: a resumed epoch must see the same
        assert rb["loss"] == pytest.approx(ra["loss"], rel=1e-5)
        assert rb["val_loss"] == pytest.approx(ra["val_loss"], rel=1e-5)
        assert rb["learning_rate"] == pytest.approx(ra["learning_rate"], rel=1e-6, abs=0)
    assert len({round(r["loss"], 7) for r in a}) == 5  # the epochs really differ from each other
    assert state_b["reducer"] == state_a["reducer"]
    assert state_b["early_stopping"]["wait"] == state_a["early_stopping"]["wait"] == 4
    assert state_b["early_stopping"]["best_epoch"] == state_a["early_stopping"]["best_epoch"]


def test_resume_keeps_the_learning_rate_schedule(plateau_resumed):
    lrs = [r["learning_rate"] for r in plateau_resumed[0]]
    # epoch 0 sets the best, every later epoch is a plateau of patience 1: halved after epochs 1..3
    assert lrs == pytest.approx([1e-12, 1e-12, 5e-13, 2.5e-13, 1.25e-13], rel=1e-5, abs=0)


def test_resume_records_what_changed(plateau_resumed):
    changes = json.loads((plateau_resumed[2] / "config_changes.json").read_text())
    assert changes == [{"resumed_at_epoch": 2, "changes": {"train.epochs": [2, 5]}}]
    assert load_config(plateau_resumed[2] / "config.yaml").train.epochs == 5


def test_resume_refuses_another_architecture(trained_run, dataset48, tmp_path):
    run = copy_tree(trained_run.run_dir, tmp_path / "run")
    with pytest.raises(ConfigError, match=r"model\.base_filters is 8 but the run was trained with 4"):
        fit(cfg48("train.epochs=2", "model.base_filters=8"), dataset48, run, resume=True)


@pytest.mark.slow
def test_resumed_training_matches_uninterrupted_training(dataset48, tmp_path):
    """Real learning (lr 1e-3, batch norm, dropout): 3 epochs straight vs 1 + 2 resumed."""
    real = ("train.epochs=3", "train.steps_per_epoch=3", "train.preview_images=0")
    fit(cfg48(*real), dataset48, tmp_path / "a")
    fit(cfg48(*real[1:], "train.epochs=1"), dataset48, tmp_path / "b")
    fit(cfg48(*real), dataset48, tmp_path / "b", resume=True)
    a, b = read_history(tmp_path / "a" / "history.csv"), read_history(tmp_path / "b" / "history.csv")
    for ra, rb in zip(a, b, strict=True):
        for key in ("loss", "val_loss", "tumour_dice", "learning_rate"):
            assert rb[key] == pytest.approx(ra[key], rel=1e-4, abs=1e-6), key


# =========================================================================== reproducibility


def test_same_seed_and_config_give_the_same_history_cli(trained_run, dataset48, tmp_path):
    """A second run (through the CLI, with its progress callback) repeats the session run."""
    run = tmp_path / "again"
    args = ["train", "--dataset", str(dataset48), "--run", str(run)]
    for o in overrides():
        args += ["--set", o]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"parameters: {trained_run.parameters:,}; epochs run: 1" in result.stdout
    assert "val tumour Dice" in result.stderr  # the per-epoch progress line
    a, b = read_history(trained_run.run_dir / "history.csv"), read_history(run / "history.csv")
    assert len(a) == len(b) == 1
    for key in METRICS:
        assert b[0][key] == pytest.approx(a[0][key], rel=1e-4, abs=1e-7), key
    wa = _load(trained_run.run_dir / "last.keras").get_weights()
    wb = _load(run / "last.keras").get_weights()
    for x, y in zip(wa, wb, strict=True):
        np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-6)


# =========================================================================== pairing and masks


def test_image_without_mask_and_mask_without_image_are_listed(dataset48, tmp_path):

    ds = copy_tree(dataset48, tmp_path / "ds")
    shutil.copy(ds / "train" / "images" / "STS_003_5.png", ds / "train" / "images" / "STS_003_lonely.png")
    shutil.copy(ds / "train" / "masks" / "STS_004_2.png", ds / "train" / "masks" / "STS_004_orphan.png")
    with pytest.raises(DataError, match="2 image") as exc:
        fit(cfg48(), ds, tmp_path / "run")
    msg = str(exc.value)
    assert "STS_003_lonely" in msg
    assert "STS_004_orphan" in msg
    assert "train" in msg
    assert not (tmp_path / "run" / "best.keras").exists()


def test_a_single_unpaired_image_is_named(dataset48, tmp_path):
    from sts_seg.train.run import load_data

    ds = copy_tree(dataset48, tmp_path / "ds")
    (ds / "train" / "masks" / "STS_003_5.png").unlink()
    with pytest.raises(DataError, match=r"1 image\(s\)/mask\(s\) without a partner: STS_003_5"):
        load_data(cfg48(), ds)


def _labels(h: int, w: int) -> np.ndarray:
    lab = np.zeros((h, w), np.uint8)
    lab[3:9, 2:7] = 1
    lab[h - 2 :, w - 3 :] = 1
    return lab


def _write_mask_formats(folder: Path, lab: np.ndarray) -> list[Pair]:
    """The same labels as a palette, an RGB (black/yellow, with off colours) and an index PNG."""
    folder.mkdir()
    h, w = lab.shape
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    png.write_image(folder / "img.png", img)
    png.write_mask(folder / "palette.png", lab)
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[lab == 1] = (250, 245, 12)  # near yellow, as after lossy export
    rgb[lab == 0] = (6, 3, 0)  # near black
    Image.fromarray(rgb, "RGB").save(folder / "rgb.png")
    Image.fromarray(lab, "L").save(folder / "index.png")
    Image.fromarray(lab * 255, "L").save(folder / "index255.png")
    assert Image.open(folder / "palette.png").mode == "P"
    return [Pair(k, folder / "img.png", folder / f"{k}.png") for k in ("palette", "rgb", "index", "index255")]


@pytest.mark.parametrize(("shape", "size"), [((16, 16), 16), ((13, 19), 16)])
def test_palette_rgb_and_index_masks_decode_to_the_same_labels(tmp_path, shape, size):
    lab = _labels(*shape)
    pairs = _write_mask_formats(tmp_path / "m", lab)
    nearest = ColourMap(match="nearest")  # the off colours need the original's nearest-colour rule
    data = load_pairs(pairs, size=size, channels=3, num_classes=2, colours=nearest)
    # nearest resize only when the shape differs (skimage's order-0 resize as the oracle)
    expected = resize(lab, (size, size), order=0, preserve_range=True, anti_aliasing=False).astype(np.uint8)
    if shape == (size, size):
        np.testing.assert_array_equal(expected, lab)
    assert data.names == ["palette", "rgb", "index", "index255"]
    for name, m in zip(data.names, data.masks, strict=True):
        np.testing.assert_array_equal(m, expected, err_msg=name)
    assert data.images.shape == (4, size, size, 3)
    assert data.tumour.tolist() == [True] * 4


def test_rgb_masks_follow_the_configured_rgb_map(tmp_path):
    lab = _labels(16, 16)
    folder = tmp_path / "m"
    folder.mkdir()
    png.write_image(folder / "img.png", np.zeros((16, 16, 3), np.uint8))
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[lab == 1] = (255, 0, 0)
    Image.fromarray(rgb, "RGB").save(folder / "red.png")
    pair = [Pair("red", folder / "img.png", folder / "red.png")]
    red_map = ColourMap((((0, 0, 0), 0), ((255, 0, 0), 1)))
    data = load_pairs(pair, size=16, channels=3, num_classes=2, colours=red_map)
    np.testing.assert_array_equal(data.masks[0], lab)


def test_a_label_beyond_num_classes_names_the_mask(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    png.write_image(folder / "img.png", np.zeros((8, 8, 3), np.uint8))
    lab = np.zeros((8, 8), np.uint8)
    lab[2, 2] = 2
    png.write_mask(folder / "three.png", lab)
    with pytest.raises(DataError, match=r"three\.png: label 2 but model\.num_classes is 2"):
        load_pairs([Pair("three", folder / "img.png", folder / "three.png")], size=8, channels=3, num_classes=2)


# =========================================================================== --dry-run


def _params_line(stdout: str) -> int:
    found = re.findall(r"^parameters: (\d+)$", stdout, flags=re.MULTILINE)
    assert len(found) == 1, stdout
    return int(found[0])


def test_dry_run_prints_parameters_shapes_and_split_sizes(prepared48, tmp_path):
    run = tmp_path / "run"
    args = ["train", "--dry-run", "--dataset", str(prepared48.output), "--run", str(run)]
    for o in overrides():
        args += ["--set", o]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _params_line(result.stdout) == unet_parameters(base=4, levels=3)
    assert "input shape: (None, None, None, 3)" in result.stdout
    assert "output shape: (None, None, None, 2)" in result.stdout
    for split, n in prepared48.slices.items():
        assert f"{split}: {n} image/mask pairs" in result.stdout
    assert not run.exists()  # nothing trained, nothing written


def test_dry_run_without_a_dataset_warns_and_exits_0(tmp_path):
    missing = tmp_path / "no_dataset"
    args = ["train", "--dry-run", "--dataset", str(missing), "--set", "model.image_size=32"]
    args += ["--set", "model.num_layers=3", "--set", "model.base_filters=4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _params_line(result.stdout) == unet_parameters(base=4, levels=3)
    assert "warning" in result.stderr
    assert "no_dataset" in result.stderr
    assert "image/mask pairs" not in result.stdout


def test_dry_run_of_the_seed_config_has_the_original_parameter_count(tmp_path):
    # the parameter count does not depend on the image size; 128 is the smallest multiple of 2^7
    args = ["train", str(ROOT / "configs" / "seed_flexunet.yaml"), "--dry-run"]
    args += ["--dataset", str(tmp_path / "none"), "--set", "model.image_size=128"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _params_line(result.stdout) == 126_809_218
    assert "output shape: (None, None, None, 2)" in result.stdout  # fully convolutional
