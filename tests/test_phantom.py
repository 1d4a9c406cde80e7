"""The synthetic PET/CT phantom (``stsseg synth``): Kaggle layout, determinism, and the image
properties the demo and the tests rely on (tumours present, low CT contrast, SUV ranges, hot
physiologic spots that are not tumour)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import ndimage

from sts_seg.errors import ConfigError
from sts_seg.io.h5 import GROUPS, validate_h5
from sts_seg.phantom import PhantomSpec, make_patient, make_phantom, synth
from sts_seg.phantom.patient import Patient, simulate
from sts_seg.phantom.tissue import Tissue
from sts_seg.phantom.uptake import SUV_RANGE

TINY = PhantomSpec(slices=(8, 16), size=(32, 48))


@pytest.fixture(scope="module")
def tiny() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return make_phantom(n_patients=4, seed=11, spec=TINY)


@pytest.fixture(scope="module")
def full() -> Patient:
    """One default-size patient whose scan reaches the pelvis (bladder in view)."""
    return simulate(np.random.default_rng([0, 0]), PhantomSpec(), pelvis=True)


def test_synth_writes_kaggle_layout(tmp_path: Path) -> None:
    out = tmp_path / "phantom.h5"
    calls: list[tuple[int, int, str]] = []
    shapes = synth(output=out, n_patients=3, seed=5, spec=TINY, progress=lambda d, t, p: calls.append((d, t, p)))
    ids = ["STS_001", "STS_002", "STS_003"]
    assert list(shapes) == ids
    assert calls == [(1, 3, "STS_001"), (2, 3, "STS_002"), (3, 3, "STS_003")]
    with h5py.File(out, "r") as f:
        assert sorted(f.keys()) == sorted(GROUPS)
        for group, dtype in zip(GROUPS, (np.int16, np.float32, np.uint8), strict=True):
            assert sorted(f[group].keys()) == ids
            for pid in ids:
                ds = f[group][pid]
                assert ds.dtype == dtype
                assert ds.ndim == 3
                assert ds.shape == shapes[pid]
        written = {pid: tuple(np.asarray(f[g][pid]) for g in GROUPS) for pid in ids}
    assert validate_h5(out) == shapes
    again = make_phantom(n_patients=3, seed=5, spec=TINY)
    for pid in ids:
        for a, b in zip(written[pid], again[pid], strict=True):
            np.testing.assert_array_equal(a, b)


def test_tiny_shapes_within_spec_and_varied(tiny: dict) -> None:
    shapes = []
    for ct, pet, label in tiny.values():
        assert ct.shape == pet.shape == label.shape
        z, y, x = ct.shape
        assert TINY.slices[0] <= z <= TINY.slices[1]
        assert TINY.size[0] <= y <= TINY.size[1]
        assert TINY.size[0] <= x <= TINY.size[1]
        shapes.append(ct.shape)
    assert len(set(shapes)) > 1


def test_tiny_patients_have_tumours(tiny: dict) -> None:
    for ct, pet, label in tiny.values():
        assert label.dtype == np.uint8
        assert set(np.unique(label)) == {0, 1}
        assert (label > 0).sum() > 0
        tumour_slices = np.flatnonzero(label.any(axis=(1, 2)))
        assert 0 < tumour_slices.size < label.shape[0]  # a z-range, not the whole scan
        assert SUV_RANGE[0] - 1e-3 <= pet[label > 0].max() <= SUV_RANGE[1] + 1e-3
        assert ct.dtype == np.int16
        assert pet.dtype == np.float32
        assert np.isfinite(pet).all()
        assert pet.min() >= 0


def test_deterministic_per_seed_and_patient() -> None:
    a = make_phantom(n_patients=3, seed=7, spec=TINY)
    b = make_phantom(n_patients=3, seed=7, spec=TINY)
    for pid in a:
        for x, y in zip(a[pid], b[pid], strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
    two = make_phantom(n_patients=2, seed=7, spec=TINY)
    for x, y in zip(two["STS_002"], a["STS_002"], strict=True):  # patient i ignores the count
        np.testing.assert_array_equal(x, y)
    other = make_phantom(n_patients=3, seed=8, spec=TINY)
    for pid in a:
        same_shape = other[pid][0].shape == a[pid][0].shape
        assert not (same_shape and np.array_equal(other[pid][1], a[pid][1]))


def test_make_patient_uses_only_the_given_generator() -> None:
    np.random.seed(1)
    first = make_patient(np.random.default_rng(42), TINY)
    np.random.seed(2)
    second = make_patient(np.random.default_rng(42), TINY)
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(x, y)


def test_bad_arguments_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="slices"):
        PhantomSpec(slices=(20, 10))
    with pytest.raises(ValueError, match="size"):
        PhantomSpec(size=(16, 20))
    with pytest.raises(ConfigError, match="seed"):
        make_phantom(n_patients=1, seed=-1, spec=TINY)
    with pytest.raises(ConfigError, match="patients"):
        synth(output=tmp_path / "x.h5", n_patients=0, spec=TINY)
    assert not (tmp_path / "x.h5").exists()


def test_default_size_shape(full: Patient) -> None:
    z, y, x = full.ct.shape
    assert 80 <= z <= 200
    assert 90 <= y <= 110
    assert 90 <= x <= 110
    assert full.label.sum() > 0


def test_ct_air_bone_and_low_tumour_contrast(full: Patient) -> None:
    ct = full.ct.astype(np.float32)
    corner = ct[:, :4, :4]  # anterior corners: air in front of the patient
    assert abs(float(np.median(corner)) + 1000) < 10
    assert ct.min() >= -1024
    bone = ct > 700
    assert bone.sum() > 100
    assert np.isin(full.tissue[bone], [Tissue.CORTEX, Tissue.SPONGY]).mean() > 0.9
    fat = ndimage.binary_erosion(full.tissue == Tissue.FAT, iterations=1)
    assert -130 < ct[fat].mean() < -60
    tumour = ndimage.binary_erosion(full.label > 0, iterations=1)
    muscle = ndimage.binary_erosion(full.tissue == Tissue.MUSCLE, iterations=1)
    assert tumour.sum() > 0
    assert muscle.sum() > 0
    assert abs(ct[tumour].mean() - ct[muscle].mean()) < 60  # hard to see on CT alone
    assert 0 < ct[tumour].mean() < 80


def test_pet_ranges(full: Patient) -> None:
    pet, label = full.pet, full.label > 0
    assert pet.dtype == np.float32
    assert np.isfinite(pet).all()
    assert pet.min() >= 0
    assert 3.0 <= pet[label].max() <= 15.0
    body = (full.ct > -500) & ~ndimage.binary_dilation(label, iterations=2)
    assert 0.3 <= float(np.median(pet[body])) <= 1.5
    muscle = ndimage.binary_erosion(full.tissue == Tissue.MUSCLE, iterations=1)
    assert 0.4 <= float(np.median(pet[muscle])) <= 1.2
    assert float(np.median(pet[full.ct < -900])) < 0.1  # air


def test_hot_spot_that_is_not_tumour(full: Patient) -> None:
    far = ~ndimage.binary_dilation(full.label > 0, iterations=3)
    hottest = np.unravel_index(np.argmax(np.where(far, full.pet, 0)), full.pet.shape)
    assert full.pet[hottest] > SUV_RANGE[0]  # as hot as a tumour can be
    near = full.tissue[tuple(slice(max(i - 2, 0), i + 3) for i in hottest)]
    assert np.isin(near, [Tissue.BLADDER, Tissue.BOWEL, Tissue.NODE]).any()
    threshold = full.pet >= 0.4 * full.pet.max()  # the PET-threshold baseline is fooled
    assert (threshold & far).any()
