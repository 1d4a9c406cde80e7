"""Cross-validation: folds, statistics, post-processing choice, ensembles, test-time flips, shards,
and a 3-fold run end to end on a tiny phantom (the Ray run is in test_cv_ray.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_overrides

from sts_seg.cv.folds import Fold, check_folds, make_folds, read_folds
from sts_seg.cv.postprocess_choice import candidate_dice, candidates, choose
from sts_seg.cv.stats import bootstrap_ci, describe, paired
from sts_seg.errors import ConfigError, DataError
from sts_seg.infer.predictor import Predictor
from sts_seg.infer.shards import shard_of

PATIENTS = [f"P{i}" for i in range(7)]


# ---------------------------------------------------------------- folds


@pytest.mark.parametrize(("n", "k", "expect_k"), [(7, None, 7), (10, None, 10), (12, None, 5), (7, 3, 3)])
def test_folds_are_disjoint_and_test_every_patient_once(n: int, k: int | None, expect_k: int) -> None:
    ids = [f"S{i:02d}" for i in range(n)]
    folds = make_folds(ids, k, seed=5)
    assert len(folds) == expect_k
    tested = [p for f in folds for p in f.test]
    assert sorted(tested) == ids  # each patient tested exactly once
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for f in folds:
        assert not (set(f.train) & set(f.valid))
        assert not (set(f.train) & set(f.test))
        assert not (set(f.valid) & set(f.test))
        assert sorted((*f.train, *f.valid, *f.test)) == ids
        assert len(f.valid) == 1
    check_folds(folds, ids)
    assert make_folds(ids, k, seed=5) == folds  # seeded
    assert make_folds(ids, k, seed=6) != folds


def test_lopo_validation_patient_is_never_the_test_patient() -> None:
    for f in make_folds(PATIENTS):
        assert len(f.test) == 1
        assert f.test[0] not in f.valid
        assert len(f.train) == 5


@pytest.mark.parametrize(
    ("folds", "message"),
    [
        ([Fold(("P0",), ("P1",), ("P2",)), Fold(("P0",), ("P1",), ("P2",))], "tested in folds 0 and 1"),
        ([Fold(("P0",), ("P1",), ("P2",))], "tested in no fold"),
        ([Fold(("P0", "P2"), ("P1",), ("P2",))], "in both train and test"),
        ([Fold(("P0",), ("P9",), ("P1", "P2"))], "P9"),
        ([Fold((), ("P0",), ("P1", "P2"))], "needs at least one"),
    ],
)
def test_bad_folds_are_named(folds: list[Fold], message: str) -> None:
    with pytest.raises(DataError, match=message):
        check_folds(folds, ["P0", "P1", "P2"], "folds.json")


def test_too_few_patients_for_the_folds() -> None:
    with pytest.raises(ConfigError, match="cannot make 5 folds"):
        make_folds(["a", "b", "c"], 5)
    with pytest.raises(ConfigError, match="at least 2"):
        make_folds(PATIENTS, 1)


def test_unreadable_folds_file(tmp_path: Path) -> None:
    bad = tmp_path / "folds.json"
    bad.write_text('{"folds": [{"train": ["a"]}]}')
    with pytest.raises(DataError, match=r"folds\.json: not a folds file"):
        read_folds(bad)


# ---------------------------------------------------------------- statistics


def test_describe_and_bootstrap_against_hand_values() -> None:
    rng = np.random.default_rng(0)
    d = describe([0.5, 0.7, 0.9, float("nan")], rng=rng)
    assert d["n"] == 3
    assert d["mean"] == pytest.approx(0.7)
    assert d["sd"] == pytest.approx(0.2)
    assert d["median"] == pytest.approx(0.7)
    lo, hi = d["ci95"]
    assert 0.5 <= lo < 0.7 < hi <= 0.9
    assert bootstrap_ci([0.8] * 5, rng=rng) == pytest.approx((0.8, 0.8))  # no spread, no interval
    assert np.isnan(bootstrap_ci([], rng=rng)[0])


def test_paired_wilcoxon_exact_p_by_hand() -> None:
    # 7 positive differences, all distinct: the exact two-sided p is 2 / 2**7
    model = [0.9, 0.8, 0.85, 0.7, 0.75, 0.95, 0.6]
    base = [m - d for m, d in zip(model, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.05], strict=True)]
    p = paired(model, base, rng=np.random.default_rng(0))
    assert p["wilcoxon_p"] == pytest.approx(2 / 2**7)
    assert p["wilcoxon_n"] == 7
    assert p["wins"] == 7
    assert p["losses"] == 0
    assert p["difference"]["mean"] == pytest.approx(np.mean([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.05]))
    # a tie is dropped from the test and counted as a tie
    q = paired([0.5, *model], [0.5, *base], rng=np.random.default_rng(0))
    assert q["ties"] == 1
    assert q["wilcoxon_n"] == 7
    assert q["wilcoxon_p"] == pytest.approx(2 / 2**7)


# ---------------------------------------------------------------- post-processing chosen on OOF masks

SPACING = (5.0, 5.0, 5.0)  # 0.125 mL per voxel


def _box(shape: tuple[int, int, int], *boxes: tuple[slice, slice, slice]) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    for b in boxes:
        m[b] = 1
    return m


def test_postprocessing_is_chosen_where_the_answer_is_known() -> None:
    shape = (20, 20, 20)
    main = (slice(2, 8), slice(2, 8), slice(2, 8))  # 216 voxels = 27 mL
    second = (slice(12, 15), slice(12, 15), slice(12, 15))  # 27 voxels = 3.375 mL: a real second lesion
    speck = (slice(18, 19), slice(1, 2), slice(18, 19))  # 1 voxel = 0.125 mL: a false positive
    truth = _box(shape, main, second)
    pred = _box(shape, main, second, speck)
    options = candidates()
    table = candidate_dice([("A", pred, truth, SPACING)], options)
    # by hand: none 2*243/(244+243); keep_largest keeps only the main box: 2*216/(216+243);
    # 0.5-2 mL drop only the speck (Dice 1); 5 and 10 mL drop the second lesion too
    assert table["none"]["A"] == pytest.approx(2 * 243 / 487)
    assert table["keep_largest"]["A"] == pytest.approx(2 * 216 / 459)
    for v in ("0.5", "1", "2"):
        assert table[f"min_volume_{v}ml"]["A"] == pytest.approx(1.0)
    assert table["min_volume_5ml"]["A"] == pytest.approx(2 * 216 / 459)
    choice = choose(table, options)
    assert choice["chosen"] == "min_volume_0.5ml"  # the first of the tied best
    assert choice["settings"] == {"keep_largest": None, "min_volume_ml": 0.5}
    assert choice["gain"] == pytest.approx(1.0 - 2 * 243 / 487)


def test_postprocessing_that_only_hurts_is_not_kept() -> None:
    shape = (20, 20, 20)
    a, b = (slice(1, 6), slice(1, 6), slice(1, 6)), (slice(10, 16), slice(10, 16), slice(10, 16))
    truth = _box(shape, a, b)
    pred = truth.copy()
    options = candidates()
    choice = choose(candidate_dice([("A", pred, truth, SPACING)], options), options)
    assert choice["chosen"] == "none"
    assert choice["gain"] == 0.0
    assert choice["mean_dice"]["keep_largest"] < 1.0


# ---------------------------------------------------------------- ensembles and flips


class Ramp:
    """A stub network whose tumour probability is x / (W - 1): not flip-equivariant."""

    channels, divisor = 3, 1

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        w = batch.shape[2]
        fg = np.broadcast_to(np.arange(w, dtype=np.float32) / (w - 1), batch.shape[:3])
        return np.stack([1 - fg, fg], axis=-1)


def test_flip_tta_averages_flipped_predictions() -> None:
    images = np.zeros((2, 4, 6, 3), np.uint8)
    plain = Predictor([Ramp()], 8).probabilities(images)[..., 1]
    assert plain[0, 0] == pytest.approx(np.arange(6) / 5)
    flipped = Predictor([Ramp()], 8, tta="flips").probabilities(images)[..., 1]
    # none and vertical flips keep x / 5; horizontal and both give (5 - x) / 5: the mean is 0.5
    assert np.allclose(flipped, 0.5)


def _pointwise_model(seed: int):
    """A 1x1-convolution model: flip-equivariant by construction."""
    import keras

    inp = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 1, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed))(inp)
    out = keras.layers.Conv2D(2, 1, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
    return keras.Model(inp, out)


@pytest.mark.tf
def test_flip_tta_on_an_equivariant_model_changes_nothing() -> None:
    from sts_seg.infer.keras_net import KerasNetwork

    net = KerasNetwork(_pointwise_model(1))
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3)).astype(np.uint8)
    a = Predictor([net], 4).probabilities(images)
    b = Predictor([net], 4, tta="flips").probabilities(images)
    assert np.allclose(a, b, atol=1e-6)
    assert (Predictor([net], 4).labels(images) == Predictor([net], 4, tta="flips").labels(images)).all()


@pytest.mark.tf
def test_cv_folder_of_identical_models_predicts_like_one(tmp_path: Path) -> None:
    from sts_seg.config import load_config
    from sts_seg.cv.folds import write_folds
    from sts_seg.infer.loading import load_predictor
    from sts_seg.io.card import ModelCard, write_card

    model = _pointwise_model(2)
    cfg = load_config(None, ("model.image_size=32",))
    spec = cfg.slice_spec(32)
    folds = make_folds(["a", "b", "c", "d"], 2)
    write_folds(tmp_path / "folds.json", folds, {})
    for k in range(2):
        run = tmp_path / f"fold_{k}" / "run"
        run.mkdir(parents=True)
        model.save(run / "best.keras")
        write_card(run, ModelCard(spec, 2, (5.0, 5.0, 5.0)))
        (tmp_path / f"fold_{k}" / "fold.json").write_text("{}")
    single = tmp_path / "fold_0" / "run" / "best.keras"
    images = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    ens, _, _ = load_predictor(tmp_path, cfg, 4)
    one, _, _ = load_predictor(single, cfg, 4)
    assert len(ens.networks) == 2
    assert len(one.networks) == 1
    assert np.allclose(ens.probabilities(images), one.probabilities(images), atol=1e-7)
    (tmp_path / "fold_1" / "fold.json").unlink()
    from sts_seg.errors import ModelError

    with pytest.raises(ModelError, match="fold 1 is not finished"):
        load_predictor(tmp_path, cfg, 4)


# ---------------------------------------------------------------- shards


def test_shards_interleave_the_sorted_cases() -> None:
    cases = ["c", "a", "e", "b", "d"]
    assert shard_of(cases, "0/2") == ["a", "c", "e"]
    assert shard_of(cases, "1/2") == ["b", "d"]
    assert sorted(shard_of(cases, "0/3") + shard_of(cases, "1/3") + shard_of(cases, "2/3")) == sorted(cases)
    assert shard_of(cases, None) == sorted(cases)


@pytest.mark.parametrize("bad", ["2/2", "a/b", "1", "-1/3"])
def test_bad_shards_are_config_errors(bad: str) -> None:
    from sts_seg.config import load_config

    with pytest.raises(ConfigError, match="shard"):
        load_config(None, (f"infer.shard={bad}",))


# ---------------------------------------------------------------- end to end


def _cv_overrides() -> list[str]:
    return [*tiny_overrides(48, 3), "cv.folds=3"]


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory: pytest.TempPathFactory, tiny_h5: Path):
    """A 3-fold cv of the 4-patient tiny phantom at 48 px, 1 epoch per fold."""
    from sts_seg.config import load_config
    from sts_seg.cv.run import cross_validate

    root = tmp_path_factory.mktemp("cv")
    cfg = load_config(None, tuple(_cv_overrides()), {"data.source": tiny_h5})
    res = cross_validate(cfg=cfg, run_dir=root / "run")
    return cfg, root / "run", res


@pytest.mark.tf
def test_cv_folds_cover_every_patient_and_oof_has_one_row_each(cv_run) -> None:
    _cfg, run, res = cv_run
    folds = json.loads((run / "folds.json").read_text())["folds"]
    assert len(folds) == 3
    assert res.ran == [0, 1, 2]
    assert res.skipped == []
    tested = sorted(p for f in folds for p in f["test"])
    assert tested == ["STS_001", "STS_002", "STS_003", "STS_004"]
    with open(run / "cv" / "per_patient.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["case"] for r in rows) == tested
    for r in rows:  # scored by the fold that held the patient out, and whose training never saw it
        fold = folds[int(r["fold"])]
        assert r["case"] in fold["test"]
        assert r["case"] not in fold["train"] + fold["valid"]
        split = json.loads((run / f"fold_{r['fold']}" / "dataset" / "split.json").read_text())
        assert r["case"] not in split["train"] + split["valid"]
    summary = json.loads((run / "cv" / "summary.json").read_text())
    assert summary["cases"] == 4
    assert summary["model_vs_baseline"]["wilcoxon_n"] <= 4
    dice = [float(r["dice"]) for r in rows]
    assert summary["model"]["dice"]["mean"] == pytest.approx(np.mean(dice), abs=1e-5)
    decision = json.loads((run / "cv" / "postprocess.json").read_text())
    assert decision["chosen"] in decision["mean_dice"]
    assert set(decision["per_case"]["none"]) == set(tested)
    assert (run / "cv" / "per_patient.png").stat().st_size > 0


@pytest.mark.tf
def test_cv_reports_the_hd95_of_the_chosen_post_processing(cv_run, tiny_h5: Path) -> None:
    """``hd95_postprocessed_mm``: the fold's mask from predictions.h5, cleaned with the chosen
    settings, measured again here against the source label (spacing from the file)."""
    import h5py

    from sts_seg.core.postprocess import postprocess
    from sts_seg.metrics.surface import hd95

    cfg, run, _ = cv_run
    decision = json.loads((run / "cv" / "postprocess.json").read_text())
    with open(run / "cv" / "per_patient.csv") as fh:
        rows = list(csv.DictReader(fh))
    with h5py.File(tiny_h5) as src:
        for r in rows:
            pred_file = run / f"fold_{r['fold']}" / "predictions" / cfg.infer.tta / "predictions.h5"
            with h5py.File(pred_file) as f:
                pred = f["label_data"][r["case"]][()] > 0
            truth = src["label_data"][r["case"]][()] > 0
            cleaned = postprocess(pred, (5.0, 5.0, 5.0), **decision["settings"])
            want = hd95(cleaned, truth, (5.0, 5.0, 5.0), cfg.eval.hd95) if cleaned.any() and truth.any() else np.nan
            got = float(r["hd95_postprocessed_mm"]) if r["hd95_postprocessed_mm"] else np.nan
            assert got == pytest.approx(want, nan_ok=True, rel=1e-5)
            if decision["chosen"] == "none":
                assert r["hd95_postprocessed_mm"] == r["hd95_mm"]


@pytest.mark.tf
def test_cv_rerun_skips_finished_folds_and_reruns_an_unfinished_one(cv_run) -> None:
    from sts_seg.cv.run import cross_validate

    cfg, run, _ = cv_run
    stamp = (run / "fold_0" / "fold.json").stat().st_mtime_ns
    res = cross_validate(cfg=cfg, run_dir=run)
    assert res.ran == []
    assert res.skipped == [0, 1, 2]
    assert (run / "fold_0" / "fold.json").stat().st_mtime_ns == stamp
    (run / "fold_2" / "fold.json").unlink()  # as if killed while fold 2 ran
    res = cross_validate(cfg=cfg, run_dir=run)
    assert res.ran == [2]
    assert res.skipped == [0, 1]


@pytest.mark.tf
def test_cv_folder_is_a_model_for_infer_and_evaluate_refuses_its_own_patients(cv_run, runner, tiny_h5: Path,
                                                                               tmp_path: Path) -> None:  # fmt: skip
    from sts_seg.cli import app

    _cfg, run, _ = cv_run
    sets = [x for o in _cv_overrides() for x in ("--set", o)]
    out = tmp_path / "vol"
    r = runner.invoke(app, ["infer", "--source", str(tiny_h5), "--model", str(run), "--output", str(out),
                            "--tta", "flips", "--shard", "1/2", *sets])  # fmt: skip
    assert r.exit_code == 0, r.output
    import h5py

    with h5py.File(out / "predictions.h5") as f:
        assert sorted(f["label_data"]) == ["STS_002", "STS_004"]  # shard 1 of 2 of the sorted cases
    dataset = run / "fold_0" / "dataset"
    r = runner.invoke(app, ["evaluate", "--dataset", str(dataset), "--model", str(run), "--output",
                            str(tmp_path / "ev"), *sets])  # fmt: skip
    assert r.exit_code == 1
    assert "the fold ensemble trained on patient(s)" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.tf
def test_cv_cli_prints_the_table_and_a_bad_folds_file_is_one_line(cv_run, runner, tiny_h5: Path,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    from sts_seg.cli import app

    _cfg, run, _ = cv_run
    sets = [x for o in _cv_overrides() for x in ("--set", o)]
    r = runner.invoke(app, ["cv", "--source", str(tiny_h5), "--run", str(run), *sets])
    assert r.exit_code == 0, r.output
    assert "Wilcoxon" in r.stdout
    assert "STS_003" in r.stdout
    assert "kept" in r.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "folds.json").write_text(json.dumps({"folds": [{"train": ["STS_001"], "valid": ["STS_002"],
                                                           "test": ["STS_003"]}]}))  # fmt: skip
    sets = [x for o in tiny_overrides(48, 3) for x in ("--set", o)]  # no --folds: the file decides
    r = runner.invoke(app, ["cv", "--source", str(tiny_h5), "--run", str(bad), *sets])
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1
    assert "tested in no fold" in r.stderr


@pytest.mark.parametrize(
    "module", ["sts_seg.infer.loading", "sts_seg.modelsource", "sts_seg.cv.run", "sts_seg.evaluate", "sts_seg.infer"]
)
def test_each_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """No circular import, whichever module a command happens to import first."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.tf
def test_cv_without_the_flip_comparison_predicts_only_the_configured_variant(tiny_h5: Path, tmp_path: Path) -> None:
    from sts_seg.config import load_config
    from sts_seg.cv.fold import settings_hash
    from sts_seg.cv.run import cross_validate

    sets = (*tiny_overrides(48, 3), "cv.folds=2", "cv.compare_tta=false", "infer.tta=none")
    cfg = load_config(None, sets, {"data.source": tiny_h5})
    res = cross_validate(cfg=cfg, run_dir=tmp_path / "run")
    for k in (0, 1):
        assert sorted(p.name for p in (tmp_path / "run" / f"fold_{k}" / "predictions").iterdir()) == ["none"]
    assert res.report.summary["tta_effect"]["flips_vs_none"] is None
    assert len(res.report.rows) == 4
    # where folds run does not change what they compute: finished folds stay valid
    assert settings_hash(load_config(None, (*sets, "cv.workers=2"), {"data.source": tiny_h5})) == settings_hash(cfg)
    assert settings_hash(load_config(None, (*sets, "train.epochs=2"), {"data.source": tiny_h5})) != settings_hash(cfg)
