"""Folds as Ray tasks on a 2-node loopback cluster (``ray.cluster_utils.Cluster``, never
``ray start``) give the sequential run's results, bit for bit, at the same TensorFlow threads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_overrides

pytestmark = [pytest.mark.tf, pytest.mark.slow]
OVERRIDES = [*tiny_overrides(48, 3), "train.epochs=2", "cv.folds=2"]


@pytest.fixture(scope="module")
def two_node_cluster():
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every node on 127.0.0.1
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    ray.init(address=c.address, log_to_driver=False)
    c.wait_for_nodes()
    yield c
    ray.shutdown()
    c.shutdown()


def _weights(path: Path) -> list[np.ndarray]:
    import keras

    return keras.models.load_model(path, compile=False).get_weights()


def test_ray_folds_match_the_sequential_run(two_node_cluster, tiny_h5: Path, tmp_path: Path) -> None:
    import h5py
    import ray

    from sts_seg.config import load_config
    from sts_seg.cv.run import cross_validate

    cfg = load_config(None, (*OVERRIDES, "cv.workers=2"), {"data.source": tiny_h5})
    res = cross_validate(cfg=cfg, run_dir=tmp_path / "ray")
    assert res.ran == [0, 1]
    pids = [f["pid"] for f in res.report.summary["folds"]]
    assert len(set(pids)) == 2
    assert os.getpid() not in pids
    assert all(f["threads"] == 1 for f in res.report.summary["folds"])
    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2
    # the reference: the same folds one after another, in one process with 1 TensorFlow thread
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    sets = [x for o in OVERRIDES for x in ("--set", o)]
    cmd = [sys.executable, "-m", "sts_seg", "cv", "--source", str(tiny_h5), "--run", str(tmp_path / "seq"), *sets]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for k in (0, 1):
        a, b = tmp_path / "ray" / f"fold_{k}", tmp_path / "seq" / f"fold_{k}"
        assert (a / "run" / "history.csv").read_text() == (b / "run" / "history.csv").read_text()
        for x, y in zip(_weights(a / "run" / "last.keras"), _weights(b / "run" / "last.keras"), strict=True):
            assert np.array_equal(x, y)
        with (
            h5py.File(a / "predictions/flips/predictions.h5") as fa,
            h5py.File(b / "predictions/flips/predictions.h5") as fb,
        ):
            assert sorted(fa["label_data"]) == sorted(fb["label_data"])
            for p in fa["label_data"]:
                assert np.array_equal(fa["label_data"][p][()], fb["label_data"][p][()])
    ray_rows = (tmp_path / "ray" / "cv" / "per_patient.csv").read_text()
    assert ray_rows == (tmp_path / "seq" / "cv" / "per_patient.csv").read_text()
