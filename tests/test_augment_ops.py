"""Augmentation ops: joint image/mask invariants, identities, determinism, registry checks."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy.ndimage import gaussian_filter

from sts_seg.augment import fields
from sts_seg.augment.online import apply_online
from sts_seg.augment.ops import OPS, AugmentOp, is_augmented_name
from sts_seg.augment.ops.elastic import distortion_field
from sts_seg.augment.ops.intensity import ScaleParams
from sts_seg.augment.warp import warp_image, warp_mask
from sts_seg.config import load_config
from sts_seg.errors import ConfigError

GEOMETRIC = sorted(n for n, cls in OPS.items() if cls.geometric)
_OP = TypeAdapter(AugmentOp)


def make(name: str, **fields_):
    """The validated op ``name`` with ``fields_`` (the config form)."""
    return _OP.validate_python({"name": name, **fields_})


def variants(name: str, params: dict | None = None) -> list:
    return make(name, **(params or {})).variants()


RANDOM_OPS = ["distort", "elastic", "gamma", "brightness_contrast", "gaussian_noise"]
#: stronger than the 512 px defaults, so 48 px test images really move
STRONG = {
    "rotate": {"angles": [90, 33, -145]},
    "distort": {"sizes": [0.06], "sigma": 6, "ref_size": None},
    "elastic": {"alpha": 60, "sigma": 4, "ref_size": None},
    "zoom": {"factors": [1.3, 0.7]},
    "shrink": {"factors": [0.6]},
    "shear": {"shears": [0.3]},
}


def blob_mask(size: int = 48, labels: tuple[int, ...] = (1,)) -> np.ndarray:
    """Filled ellipse + rectangle (+ a small square per extra label) on background 0."""
    yy, xx = np.mgrid[:size, :size]
    mask = np.zeros((size, size), np.uint8)
    mask[((yy - 0.55 * size) / 0.25 / size) ** 2 + ((xx - 0.5 * size) / 0.3 / size) ** 2 < 1] = labels[0]
    mask[size // 8 : size // 3, size // 8 : size // 2] = labels[-1]
    for k, lab in enumerate(labels[1:-1]):
        mask[size // 2 + 2 * k : size // 2 + 2 * k + 4, 3 : 3 + 5] = lab
    return mask


def colour_image(mask: np.ndarray) -> np.ndarray:
    """3 identical channels whose pixels ARE the mask's colours (label 1 -> 255)."""
    return np.repeat((mask.astype(np.uint8) * 255)[..., None], 3, axis=2)


def run_op(name: str, image: np.ndarray, mask: np.ndarray, params: dict, seed: int = 0, which: int = 0):
    _tag, op = variants(name, params)[which]
    return op.apply(image, mask, op.sample(np.random.default_rng(seed), mask.shape))


def near_edge(mask: np.ndarray) -> np.ndarray:
    """Pixels within 1 px (8-neighbourhood) of a label change."""
    p = np.pad(mask, 1, mode="edge")
    h, w = mask.shape
    edge = np.zeros(mask.shape, bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            edge |= p[dy : dy + h, dx : dx + w] != mask
    return edge


def all_variants(name: str, params: dict) -> list[int]:
    return list(range(len(variants(name, params))))


# --------------------------------------------------------------------------- joint transform


@pytest.mark.parametrize("name", GEOMETRIC)
def test_image_and_mask_move_together(name: str) -> None:
    mask = blob_mask()
    params = STRONG.get(name, {})
    for which in all_variants(name, params)[:3]:
        img, m = run_op(name, colour_image(mask), mask, params, seed=which, which=which)
        seen = img[..., 0] >= 128
        assert (seen == (m > 0)).mean() >= 0.99, (name, which)
        assert not ((seen != (m > 0)) & ~near_edge(m) & ~near_edge(seen.astype(np.uint8))).any()
        assert 0 < m.sum() < m.size


@pytest.mark.parametrize("name", GEOMETRIC)
def test_masks_never_gain_labels_and_channels_move_identically(name: str) -> None:
    mask = blob_mask(labels=(1, 3, 1))
    rng = np.random.default_rng(5)
    grey = rng.integers(0, 256, mask.shape, dtype=np.uint8)
    image = np.stack([grey, grey, grey], axis=2)
    params = STRONG.get(name, {})
    for which in all_variants(name, params)[:3]:
        img, m = run_op(name, image, mask, params, which=which)
        assert set(np.unique(m).tolist()) <= {0, 1, 3}
        assert m.dtype == np.uint8
        assert img.dtype == np.uint8
        assert img.shape == image.shape
        assert np.array_equal(img[..., 0], img[..., 1])
        assert np.array_equal(img[..., 0], img[..., 2])


def test_borders_fill_with_background() -> None:
    image, mask = np.full((32, 32, 3), 200, np.uint8), np.ones((32, 32), np.uint8)
    img, m = run_op("rotate", image, mask, {"angles": [45]})
    assert (img[0, 0] == 0).all()
    assert m[0, 0] == 0
    assert m[16, 16] == 1
    assert (img[16, 16] == 200).all()
    img, m = run_op("shrink", image, mask, {"factors": [0.5]})
    assert (img[:4] == 0).all()
    assert (m[:4] == 0).all()
    assert (img[16, 16] == 200).all()


def test_image_bilinear_mask_nearest() -> None:
    ramp = np.tile(np.array([0, 100, 200, 250], np.uint8), (2, 1))
    ys, xs = np.zeros((1, 3), np.float32), np.array([[0.5, 1.5, 2.2]], np.float32)
    assert warp_image(ramp, ys, xs).tolist() == [[50, 150, 210]]
    labels = np.tile(np.array([0, 1, 3, 1], np.uint8), (2, 1))
    assert warp_mask(labels, ys, xs + 0.2).tolist() == [[1, 3, 3]]  # 0.7, 1.7, 2.4 -> 1, 2, 2
    # half a pixel outside blends with 0; further out is 0
    assert warp_image(ramp, np.zeros((1, 2), np.float32), np.array([[3.5, 4.6]], np.float32)).tolist() == [[125, 0]]


# --------------------------------------------------------------------------- identities


def test_hflip_twice_and_rotate_four_times_are_identity() -> None:
    mask = blob_mask(40, labels=(1, 3, 1))
    image = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    i, m = image, mask
    for _ in range(2):
        i, m = run_op("hflip", i, m, {})
    assert np.array_equal(i, image)
    assert np.array_equal(m, mask)
    i, m = image, mask
    for _ in range(4):
        i, m = run_op("rotate", i, m, {"angles": [90]})
        assert not np.array_equal(m, mask) or _ == 3
    assert np.array_equal(i, image)
    assert np.array_equal(m, mask)


def test_rotate_90_is_counter_clockwise_about_true_centre() -> None:
    mask = blob_mask(36, labels=(1, 3, 1))
    image = np.random.default_rng(2).integers(0, 256, (36, 36, 1), dtype=np.uint8)
    i, m = run_op("rotate", image, mask, {"angles": [90]})
    assert np.array_equal(m, np.rot90(mask))
    assert np.array_equal(i, np.rot90(image))
    i, m = run_op("rotate", image, mask, {"angles": [180]})
    assert np.array_equal(m, mask[::-1, ::-1])


def test_zero_strength_distort_and_elastic_are_identity() -> None:
    mask, image = blob_mask(), colour_image(blob_mask())
    op = make("distort")
    s = op.sample(np.random.default_rng(0), mask.shape)
    i, m = op.apply(image, mask, replace(s, max_px=0.0))
    assert np.array_equal(i, image)
    assert np.array_equal(m, mask)
    i, m = run_op("elastic", image, mask, {"alpha": 0})
    assert np.array_equal(i, image)
    assert np.array_equal(m, mask)


@pytest.mark.parametrize("name", RANDOM_OPS)
def test_same_seed_same_bytes_different_seed_different(name: str) -> None:
    mask = blob_mask()
    image = np.random.default_rng(3).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    params = STRONG.get(name, {})
    a = run_op(name, image, mask, params, seed=11)
    b = run_op(name, image, mask, params, seed=11)
    c = run_op(name, image, mask, params, seed=12)
    assert a[0].tobytes() == b[0].tobytes()
    assert a[1].tobytes() == b[1].tobytes()
    assert a[0].tobytes() != c[0].tobytes()


def test_distort_field_is_one_field_scaled_to_size() -> None:
    dy, dx = distortion_field(7, (64, 64), sigma_px=10.0, max_px=3.0)
    assert dy.shape == dx.shape == (64, 64)
    assert dy.max() == pytest.approx(3.0, rel=1e-5)
    assert dx.max() == pytest.approx(3.0, rel=1e-5)
    op = make("distort", sizes=[0.02])
    s = op.sample(np.random.default_rng(0), (512, 512))
    assert s.max_px == pytest.approx(10.24)
    assert s.sigma_px == 40
    s = op.sample(np.random.default_rng(0), (128, 128))
    assert s.max_px == pytest.approx(2.56)
    assert s.sigma_px == 10


# --------------------------------------------------------------------------- fields


@pytest.mark.parametrize(
    ("shape", "sigma", "order"), [((37, 50), 3.0, (0, 1)), ((40, 33), 2.5, (1, 0)), ((9, 7), 3.9, (0, 0))]
)
def test_full_resolution_field_equals_scipy(shape, sigma, order) -> None:
    noise = np.random.default_rng(0).standard_normal(shape)
    ours = fields.filter_noise(noise, shape, sigma, order)
    assert np.allclose(ours, gaussian_filter(noise, sigma, order=order, mode="reflect"), atol=1e-6)


def test_coarse_field_has_full_resolution_statistics() -> None:
    ours, ref = [], []
    for i in range(12):
        rng = np.random.default_rng(i)
        ours.append(fields.smooth_noise(rng, (96, 96), 16.0, kind="uniform")[24:-24, 24:-24].std())
        ref.append(gaussian_filter(rng.uniform(-1, 1, (96, 96)), 16.0)[24:-24, 24:-24].std())
    assert fields.noise_shape((96, 96), 16.0) == (25, 25)
    assert 0.8 < np.mean(ours) / np.mean(ref) < 1.25


# --------------------------------------------------------------------------- registry


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_runs_with_defaults_and_names_its_outputs(name: str) -> None:
    vs = variants(name, {})
    assert vs
    assert len({tag for tag, _ in vs}) == len(vs)
    mask = blob_mask(32)
    # channel_scale's default is the PET channel (1) of an RGB image; the rest run on grey
    image = colour_image(mask) if name == "channel_scale" else colour_image(mask)[..., :1]
    for tag, op in vs:
        assert op.matches(tag + "STS_002_010")
        assert is_augmented_name(tag + "STS_002_010.png")
        sampled = op.sample(np.random.default_rng(0), mask.shape)
        assert len(json.dumps(sampled.as_dict())) < 400
        img, m = op.apply(image, mask, sampled)
        assert img.shape == image.shape
        assert img.dtype == np.uint8
        assert m.shape == mask.shape
        if not op.geometric:
            assert m is mask
    img, m = apply_online(image, mask, [make(name)], np.random.default_rng(0))
    assert img.shape == image.shape
    assert m.shape == mask.shape


def test_variant_names_follow_the_original() -> None:
    assert [t for t, _ in variants("hflip")] == ["hflipped_"]
    assert [t for t, _ in variants("rotate")] == ["rotated_90_", "rotated_180_", "rotated_270_"]
    assert [t for t, _ in variants("distort")] == [
        f"distorted_{s}_rsigma0.5_sigma40_" for s in ("0.01", "0.02", "0.03")
    ]
    assert [t for t, _ in variants("elastic", {"copies": 2})] == ["elastic_1300_40_0_", "elastic_1300_40_1_"]
    assert [t for t, _ in variants("pincushion")][-1] == "pincdistorted_1005_0.3_-0.3_"
    assert len(variants("barrel", {"cumulative_outputs": False})) == 1


def test_is_augmented_name() -> None:
    assert is_augmented_name("distorted_0.02_rsigma0.5_sigma40_STS_005_110.png")
    assert is_augmented_name("rotated_270_STS_005_110")
    for plain in ("STS_005_110.png", "rotated.png", "gamma_ray.png", "hflip_x.png", "sheared.png"):
        assert not is_augmented_name(plain)


def test_unknown_op_lists_available() -> None:
    with pytest.raises(ValidationError, match=r"'rotat' .* expected tags: .*'rotate'"):
        make("rotat")


@pytest.mark.parametrize(
    ("name", "params", "loc", "needle"),
    [
        ("rotate", {"angle": 90}, "rotate.angle", "Extra inputs are not permitted"),
        ("rotate", {"angles": []}, "rotate.angles", "give at least one value"),
        ("distort", {"sizes": [0.6]}, "distort.sizes.0", "less than 0.5"),
        ("distort", {"sizes": [0.0]}, "distort.sizes.0", "greater than 0"),
        ("distort", {"sigma": -1}, "distort.sigma", "greater than 0"),
        ("elastic", {"sigma": -2}, "elastic.sigma", "greater than 0"),
        ("elastic", {"copies": 0}, "elastic.copies", "greater than or equal to 1"),
        ("elastic", {"ref_size": 0}, "elastic.ref_size", "greater than or equal to 1"),
        ("zoom", {"factors": "big"}, "zoom.factors", "valid tuple"),
        ("shrink", {"factors": [1.2]}, "shrink.factors.0", "less than 1"),
        ("shear", {"axis": "z"}, "shear.axis", "'y' or 'x'"),
        ("barrel", {"centers": [[0.3]]}, "barrel.centers.0.1", "Field required"),
        ("pincushion", {"amounts": [2]}, "pincushion.amounts.0", "less than or equal to 1"),
        ("gamma", {"range": [1.5, 0.7]}, "gamma", "low <= high"),
        ("brightness_contrast", {"contrast": 1.5}, "brightness_contrast.contrast", "less than 1"),
        ("gaussian_noise", {"std": -1}, "gaussian_noise.std", "greater than or equal to 0"),
        ("blur", {"sigmas": [0]}, "blur.sigmas.0", "greater than 0"),
        ("hflip", {"x": 1}, "hflip.x", "Extra inputs are not permitted"),
    ],
)
def test_bad_params_are_rejected_with_their_path(name: str, params: dict, loc: str, needle: str) -> None:
    with pytest.raises(ValidationError) as exc:
        make(name, **params)
    errors = [(".".join(str(x) for x in e["loc"]), e["msg"]) for e in exc.value.errors()]
    assert any(where == loc and needle in msg for where, msg in errors), errors


def test_config_surfaces_op_errors(tmp_path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("augment:\n  offline:\n    - name: distort\n      sizes: [0.7]\n")
    with pytest.raises(ConfigError, match=r"augment\.offline\.0\.distort\.sizes\.0: Input should be less than 0.5"):
        load_config(cfg_file)
    cfg_file.write_text("augment:\n  online:\n    - name: hflip\n      p: 1.5\n")
    with pytest.raises(ConfigError, match=r"augment\.online\.0\.hflip\.p"):
        load_config(cfg_file)
    cfg_file.write_text("augment:\n  offline:\n    - name: flop\n")
    with pytest.raises(ConfigError, match="'hflip', 'vflip'"):
        load_config(cfg_file)


def test_set_values_are_typed_inside_op_fields() -> None:
    """A YAML 1.1 string such as 1e-3 becomes a number in a typed op field."""
    cfg = load_config(None, ["augment.online=[{name: gaussian_noise, std: 1e-3}]"])
    assert cfg.augment.online[0].std == pytest.approx(0.001)


def test_apply_online_probability_and_determinism() -> None:
    mask = blob_mask()
    image = colour_image(mask)
    ops = [make("rotate", p=0.5, angles=[90, 180]), make("elastic", p=0.0)]
    outs = [apply_online(image, mask, ops, np.random.default_rng(s)) for s in range(8)]
    again = [apply_online(image, mask, ops, np.random.default_rng(s)) for s in range(8)]
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(outs, again, strict=True))
    kinds = {a[1].tobytes() for a in outs}
    assert mask.tobytes() in kinds
    assert len(kinds) >= 2
    i, m = apply_online(image, mask, [make("distort", p=0.0)], np.random.default_rng(0))
    assert i is image
    assert m is mask


def test_channel_scale_scales_only_its_channels_by_hand() -> None:
    image = np.zeros((2, 3, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 40, 100, 200
    out, _ = make("channel_scale", channels=[1], range=[1.5, 1.5]).apply(image, image[..., 0], ScaleParams(1.5))
    assert (out[..., 0] == 40).all()
    assert (out[..., 1] == 150).all()  # 100 * 1.5
    assert (out[..., 2] == 200).all()
    out, _ = make("channel_scale", channels=[1, 2]).apply(image, image[..., 0], ScaleParams(1.5))
    assert (out[..., 2] == 255).all()  # 300 saturates
    lo_hi = [make("channel_scale", range=[0.5, 2.0]).sample(np.random.default_rng(s), (3, 3)).factor
             for s in range(2000)]  # fmt: skip
    assert min(lo_hi) >= 0.5
    assert max(lo_hi) <= 2.0
    assert abs(np.mean(np.log(lo_hi))) < 0.05  # log-uniform on [log 0.5, log 2]: mean 0
    with pytest.raises(ValueError, match=r"channel_scale channels \[3\]: the image has 3 channel"):
        make("channel_scale", channels=[3]).apply(image, image[..., 0], ScaleParams(1.5))


def test_a_channel_the_model_does_not_have_is_a_config_error() -> None:
    from sts_seg.config import load_config
    from sts_seg.errors import ConfigError

    with pytest.raises(ConfigError, match=r"augment.online.0.channel_scale.channels \[3\]: the model's input has 3"):
        load_config(None, ["augment.online=[{name: channel_scale, channels: [3]}]"])
