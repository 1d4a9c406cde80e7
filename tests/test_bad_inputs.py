"""Every broken input gets exit 1 and one line on stderr that names the file, patient or key, with
no traceback; the catalogue from the integrity issue, one test each."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from _cli import one_line_error
from _pipeline import cfg48, overrides
from PIL import Image

from sts_seg.cli import app
from sts_seg.io.h5 import write_kaggle_h5

pytest_plugins = ["_pipeline"]


def _sets(*extra: str) -> list[str]:
    out = []
    for o in (*overrides(), *extra):
        out += ["--set", o]
    return out


def _good(n: int = 3, shape: tuple[int, int, int] = (4, 24, 24)) -> dict:
    vols = {}
    for i in range(n):
        label = np.zeros(shape, np.uint8)
        label[1:3, 8:12, 8:12] = 1
        vols[f"P{i}"] = (np.full(shape, 40, np.int16), np.full(shape, 1.0 + i, np.float32), label)
    return vols


def _raw_h5(path: Path, vols: dict, chunked: bool = False) -> Path:
    with h5py.File(path, "w") as f:
        for g_i, g in enumerate(("ct_data", "pet_data", "label_data")):
            grp = f.create_group(g)
            for pid, arrays in vols.items():
                arr = arrays[g_i]
                kw = {"compression": "gzip", "chunks": (1, *arr.shape[1:])} if chunked and arr.ndim == 3 else {}
                grp.create_dataset(pid, data=arr, **kw)
    return path


def test_a_dataset_of_strings(runner, in_tmp):
    vols = _good()
    vols["P1"] = (np.array(["a", "b"], dtype="S1"), *vols["P1"][1:])
    _raw_h5(in_tmp / "s.h5", vols)
    res = runner.invoke(app, ["prepare", "--h5", "s.h5", "-o", "ds"])
    one_line_error(res, "s.h5", "ct_data/P1", "not numbers")
    assert not (in_tmp / "ds").exists()


def test_a_patient_with_zero_slices(runner, in_tmp):
    vols = _good()
    vols["P2"] = tuple(a[:0] for a in vols["P2"])
    write_kaggle_h5(in_tmp / "z.h5", vols)
    one_line_error(runner.invoke(app, ["prepare", "--h5", "z.h5", "-o", "ds"]), "z.h5", "ct_data/P2", "empty volume")


def _corrupt_chunk(path: Path, dataset: str) -> None:
    with h5py.File(path, "r") as f:
        info = f[dataset].id.get_chunk_info(1)
    raw = bytearray(path.read_bytes())
    raw[info.byte_offset : info.byte_offset + info.size] = bytes(range(256)) * (info.size // 256) + b"x" * (
        info.size % 256
    )
    path.write_bytes(bytes(raw))


def test_a_corrupt_compressed_chunk_in_prepare(runner, in_tmp):
    path = _raw_h5(in_tmp / "c.h5", _good(), chunked=True)
    _corrupt_chunk(path, "ct_data/P1")
    one_line_error(runner.invoke(app, ["prepare", "--h5", "c.h5", "-o", "ds"]), "c.h5", "ct_data/P1", "cannot read")
    assert not (in_tmp / "ds").exists()


@pytest.mark.tf
def test_a_corrupt_compressed_chunk_in_infer(runner, in_tmp, model_path):
    path = _raw_h5(in_tmp / "c.h5", _good(), chunked=True)
    _corrupt_chunk(path, "pet_data/P0")
    args = ["infer", "--h5", "c.h5", "--output", "out", "--model", str(model_path), *_sets()]
    one_line_error(runner.invoke(app, args), "c.h5", "pet_data/P0", "cannot read")
    assert not (in_tmp / "out").exists()


def test_a_corrupt_object_header_is_not_reported_as_missing(runner, in_tmp):
    path = _raw_h5(in_tmp / "o.h5", _good())
    with h5py.File(path, "r") as f:
        addr = h5py.h5o.get_info(f["pet_data/P0"].id).addr
    raw = bytearray(path.read_bytes())
    raw[addr : addr + 40] = b"\xde\xad\xbe\xef" * 10
    path.write_bytes(bytes(raw))
    err = one_line_error(runner.invoke(app, ["prepare", "--h5", "o.h5", "-o", "ds"]), "o.h5", "pet_data/P0")
    assert "cannot read" in err
    assert "not found" not in err


def test_label_data_stored_as_a_dataset(runner, in_tmp):
    with h5py.File(in_tmp / "l.h5", "w") as f:
        f.create_group("ct_data").create_dataset("P0", data=np.zeros((2, 8, 8)))
        f.create_group("pet_data").create_dataset("P0", data=np.zeros((2, 8, 8)))
        f.create_dataset("label_data", data=np.zeros((2, 8, 8)))
    err = one_line_error(
        runner.invoke(app, ["prepare", "--h5", "l.h5", "-o", "ds"]), "l.h5", "'label_data' is a dataset"
    )
    assert "missing" not in err


def test_a_config_that_is_not_utf8(runner, in_tmp):
    (in_tmp / "c.yaml").write_bytes(b"model:\n  name: \xff\xfe\n")
    one_line_error(runner.invoke(app, ["train", "c.yaml", "--dry-run"]), "c.yaml", "not UTF-8")


def test_a_corrupt_split_json(runner, in_tmp, dataset48):
    ds = shutil.copytree(dataset48, in_tmp / "ds")
    (ds / "split.json").write_text('{"train": [')
    preds = shutil.copytree(ds / "test" / "masks", in_tmp / "preds")
    args = ["evaluate", "--dataset", "ds", "--predictions", str(preds), "-o", "rep", *_sets()]
    one_line_error(runner.invoke(app, args), "split.json", "cannot read")
    assert not (in_tmp / "rep").exists()


def test_a_truncated_manifest(runner, in_tmp, dataset48):
    ds = shutil.copytree(dataset48, in_tmp / "ds")
    text = (ds / "manifest.csv").read_text()
    (ds / "manifest.csv").write_text(text[: len(text) // 2].rsplit(",", 3)[0] + "\n")
    preds = shutil.copytree(ds / "test" / "masks", in_tmp / "preds")
    args = ["evaluate", "--dataset", "ds", "--predictions", str(preds), "-o", "rep", *_sets()]
    one_line_error(runner.invoke(app, args), "manifest.csv", "damaged")


def test_an_output_inside_a_plain_file(runner, in_tmp, hand_h5):
    (in_tmp / "afile").write_text("x")
    res = runner.invoke(app, ["prepare", "--h5", str(hand_h5), "-o", "afile/ds"])
    one_line_error(res, "afile", "is a file, not a folder")
    assert (in_tmp / "afile").read_text() == "x"


def _bomb(path: Path) -> None:
    """A tiny PNG whose header claims 20000 x 20000 px (PIL's DecompressionBombError)."""
    Image.new("L", (4, 4)).save(path)
    raw = bytearray(path.read_bytes())
    raw[16:24] = struct.pack(">II", 20000, 20000)  # IHDR width, height
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))  # IHDR CRC
    path.write_bytes(bytes(raw))


@pytest.mark.tf
def test_a_decompression_bomb_is_reported_and_skipped(runner, in_tmp, dataset48, model_path):
    imgs = in_tmp / "imgs"
    shutil.copytree(dataset48 / "test" / "images", imgs)
    good = sorted(p.stem for p in imgs.iterdir())[:3]
    for p in imgs.iterdir():
        if p.stem not in good:
            p.unlink()
    _bomb(imgs / "bomb.png")
    res = runner.invoke(app, ["infer", "--input", "imgs", "--output", "out", "--model", str(model_path), *_sets()])
    assert res.exit_code == 1
    assert "bomb.png" in res.stderr
    assert "Traceback" not in res.output
    assert sorted(p.stem for p in (in_tmp / "out").glob("*.png")) == good


@pytest.mark.tf
def test_a_garbage_keras_file(runner, in_tmp, dataset48):
    (in_tmp / "junk.keras").write_bytes(b"\x00" * 100)
    args = ["infer", "--input", str(dataset48 / "test" / "images"), "--output", "out", "--model", "junk.keras"]
    err = one_line_error(runner.invoke(app, args), "junk.keras", "not a .keras file")
    assert "not found" not in err


def test_predictions_of_another_size_are_refused(runner, in_tmp, dataset48):
    preds = in_tmp / "preds"
    preds.mkdir()
    for p in (dataset48 / "test" / "masks").iterdir():
        Image.new("P", (40, 40)).save(preds / p.name)
    args = ["evaluate", "--dataset", str(dataset48), "--predictions", "preds", "-o", "rep", *_sets()]
    one_line_error(runner.invoke(app, args), "preds", "40x40 px", "48x48")


def _rgb_dataset(root: Path, colour: tuple[int, int, int]) -> Path:
    for split in ("train", "valid", "test"):
        for sub in ("images", "masks"):
            (root / split / sub).mkdir(parents=True)
        for k in range(2):
            Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(root / split / "images" / f"S{k}_{k}.png")
            m = np.zeros((16, 16, 3), np.uint8)
            m[4:8, 4:8] = (255, 255, 0)
            m[0, 0] = colour
            Image.fromarray(m).save(root / split / "masks" / f"S{k}_{k}.png")
    return root


@pytest.mark.tf
def test_an_rgb_mask_colour_that_is_not_in_the_map(runner, in_tmp):
    _rgb_dataset(in_tmp / "ds", (0, 0, 255))
    res = runner.invoke(app, ["train", "--dataset", "ds", "--run", "run", *_sets("model.image_size=16")])
    one_line_error(res, "S0_0.png", "(0, 0, 255)", "data.rgb_map", "rgb_match: nearest")
    assert not (in_tmp / "run").exists()


def test_the_original_nearest_colour_rule_is_an_explicit_option(in_tmp):
    from sts_seg.io.png import read_mask

    _rgb_dataset(in_tmp / "ds", (250, 240, 10))
    cfg = cfg48("data.rgb_match=nearest")
    mask = read_mask(in_tmp / "ds" / "train" / "masks" / "S0_0.png", cfg.data.colours)
    assert mask[0, 0] == 1  # nearest to yellow
    assert mask.sum() == 17


@pytest.mark.tf
def test_train_refuses_an_image_whose_mask_has_another_size(runner, in_tmp, dataset48):
    ds = shutil.copytree(dataset48, in_tmp / "ds")
    mask = next((ds / "train" / "masks").iterdir())
    Image.new("P", (40, 48)).save(mask)
    res = runner.invoke(app, ["train", "--dataset", "ds", "--run", "run", *_sets()])
    one_line_error(res, mask.name, "40x48")
