"""FlexUNet builder: schedules (no TF), shapes, seed parameter count, variants, .keras files."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

from sts_seg.config import ModelConfig
from sts_seg.errors import ConfigError
from sts_seg.model import build_model
from sts_seg.model.unet import (
    dilation_schedule,
    dropout_schedule,
    filters_schedule,
    kernel_schedule,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEED = {
    "image_size": 128,
    "base_filters": 16,
    "base_kernels": (11, 11),
    "num_layers": 8,
    "dropout_rate": 0.04,
    "dilation": (1, 1),
    "normalization": "none",
    "num_classes": 2,
    "image_channels": 3,
}
SEED_PARAMS = 126_809_218


def small(**kw: object) -> ModelConfig:
    base: dict[str, object] = {"image_size": 32, "base_filters": 8, "num_layers": 3}
    base.update(kw)
    return ModelConfig(**base)


def conv_params(cin: int, k: int, f: int) -> int:
    return cin * k * k * f + f


# ----------------------------------------------------------------------------- pure schedules


def test_kernel_schedule_seed() -> None:
    enc, dec = kernel_schedule(ModelConfig(**SEED))
    assert enc == [11, 9, 7, 5, 3, 3, 3, 3]
    assert dec == [3, 3, 3, 5, 7, 9, 11]


def test_kernel_schedule_constant_and_small_bases() -> None:
    cfg = ModelConfig(**{**SEED, "kernel_schedule": "constant"})
    assert kernel_schedule(cfg) == ([11] * 8, [11] * 7)
    cfg = ModelConfig(image_size=64, base_kernels=(5, 5), num_layers=4)
    assert kernel_schedule(cfg) == ([5, 3, 3, 3], [3, 3, 5])
    cfg = ModelConfig(image_size=64, base_kernels=(1, 1), num_layers=3)
    assert kernel_schedule(cfg) == ([1, 1, 1], [1, 1])


def test_dilation_schedule() -> None:
    cfg = ModelConfig(image_size=64, dilation=(3, 3), num_layers=5)
    assert dilation_schedule(cfg) == ([3, 2, 1, 1, 1], [1, 1, 2, 3])
    assert dilation_schedule(ModelConfig(**SEED)) == ([1] * 8, [1] * 7)


def test_filter_and_dropout_ramps() -> None:
    cfg = ModelConfig(**SEED)
    assert filters_schedule(cfg) == [16, 32, 64, 128, 256, 512, 1024, 2048]
    assert dropout_schedule(cfg) == pytest.approx([0.04 * i for i in range(8)])


def test_non_square_kernels_refused() -> None:
    with pytest.raises(ConfigError, match="square"):
        build_model(small(base_kernels=(3, 5)))


def test_unknown_model_name_lists_available() -> None:
    from sts_seg.config import load_config

    with pytest.raises(ConfigError, match=r"model\.name: Input should be 'flexunet' \(got 'resnet'\)"):
        load_config(None, ["model.name=resnet"])


def test_importing_model_package_does_not_import_tensorflow() -> None:
    code = "import sys, sts_seg.model; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ----------------------------------------------------------------------------- TF: seed network


@pytest.fixture(scope="module")
def seed_model():
    import keras

    model = build_model(ModelConfig(**SEED))
    yield model
    del model
    keras.backend.clear_session()
    gc.collect()


@pytest.mark.tf
def test_seed_parameter_count_exact(seed_model) -> None:
    assert seed_model.count_params() == SEED_PARAMS
    assert sum(int(np.prod(w.shape)) for w in seed_model.trainable_weights) == SEED_PARAMS


@pytest.mark.tf
def test_seed_layer_sequence(seed_model) -> None:
    import keras

    layer = seed_model.get_layer
    # encoder kernels/filters follow the schedules, bridge has no pooling
    kernels = [11, 9, 7, 5, 3, 3, 3]
    filters = filters_schedule(ModelConfig(**SEED))[:7]
    for i, (k, f) in enumerate(zip(kernels, filters, strict=True)):
        conv = layer(f"enc{i}_conv1")
        assert conv.kernel_size == (k, k)
        assert conv.filters == f
        assert conv.get_config()["kernel_initializer"]["class_name"] == "HeNormal"
        assert layer(f"enc{i}_pool").pool_size == (2, 2)
    assert layer("bridge_conv2").filters == 2048
    assert layer("bridge_conv2").output.shape == (None, None, None, 2048)  # fully convolutional
    assert seed_model.compute_output_shape((1, 512, 512, 3)) == (1, 512, 512, 2)
    with pytest.raises(ValueError, match="bridge_pool"):
        layer("bridge_pool")
    # decoder: transposed conv 2x2 s2, concat of 2F channels, mirrored kernels
    for j, k in enumerate([3, 3, 3, 5, 7, 9, 11]):
        f = 16 * 2 ** (6 - j)
        assert layer(f"dec{j}_up").strides == (2, 2)
        assert layer(f"dec{j}_concat").output.shape[-1] == 2 * f
        assert layer(f"dec{j}_conv1").kernel_size == (k, k)
        assert layer(f"dec{j}_conv2").filters == f
    assert layer("head").kernel_size == (1, 1)
    assert isinstance(seed_model.layers[1], keras.layers.Rescaling)


@pytest.mark.tf
def test_seed_dropout_ramp(seed_model) -> None:
    for i in range(7):
        assert seed_model.get_layer(f"enc{i}_drop").rate == pytest.approx(0.04 * i)
    assert seed_model.get_layer("bridge_drop").rate == pytest.approx(0.28)
    for j in range(7):
        assert seed_model.get_layer(f"dec{j}_drop").rate == pytest.approx(0.04 * (6 - j))


# ----------------------------------------------------------------------------- TF: small nets


@pytest.mark.tf
@pytest.mark.parametrize(("num_layers", "size"), [(2, 32), (3, 32), (4, 64), (5, 64)])
def test_output_shape_and_softmax(num_layers: int, size: int) -> None:
    cfg = small(num_layers=num_layers, image_size=size, num_classes=3)
    model = build_model(cfg)
    x = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (2, size, size, 3)
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
    assert (y >= 0).all()


@pytest.mark.tf
def test_one_model_predicts_any_multiple_of_the_divisor() -> None:
    model = build_model(small(num_layers=3))
    for h, w in ((32, 32), (48, 64), (8, 12)):
        x = np.zeros((1, h, w, 3), np.float32)
        assert model.predict(x, verbose=0).shape == (1, h, w, 2)


@pytest.mark.tf
def test_builder_returns_uncompiled_model() -> None:
    model = build_model(small())
    assert not model.compiled
    assert getattr(model, "optimizer", None) is None


@pytest.mark.tf
def test_small_param_count_by_hand() -> None:
    # 2 levels, F=8, k=3, no norm, 3 -> 2 classes: enc0, bridge(16), up, dec0, head
    model = build_model(small(num_layers=2, normalization="none"))
    expected = (
        conv_params(3, 3, 8)
        + conv_params(8, 3, 8)
        + conv_params(8, 3, 16)
        + conv_params(16, 3, 16)
        + (16 * 4 * 8 + 8)
        + conv_params(16, 3, 8)
        + conv_params(8, 3, 8)
        + conv_params(8, 1, 2)
    )
    assert model.count_params() == expected


@pytest.mark.tf
@pytest.mark.parametrize(
    ("norm", "per_channel", "layer_cls"),
    [
        ("batch", 4, "BatchNormalization"),
        ("group", 2, "GroupNormalization"),
    ],
)
def test_normalisation_variants(norm: str, per_channel: int, layer_cls: str) -> None:
    plain = build_model(small(normalization="none")).count_params()
    model = build_model(small(normalization=norm, norm_groups=4))
    # one norm after each of the two convs per block: 3 encoder levels + 2 decoder steps
    convs = [8, 16, 32, 16, 8]
    assert model.count_params() == plain + per_channel * 2 * sum(convs)
    norms = [ly for ly in model.layers if type(ly).__name__ == layer_cls]
    assert len(norms) == 2 * len(convs)
    # conv (activation inside) -> norm -> dropout, as the original
    assert model.get_layer("enc1_norm1").input is model.get_layer("enc1_conv1").output
    assert model.get_layer("enc1_drop").input is model.get_layer("enc1_norm1").output
    if norm == "group":
        assert model.get_layer("enc0_norm1").groups == 4


@pytest.mark.tf
def test_activation_and_input_normalize_options() -> None:
    model = build_model(small(activation="gelu", input_normalize=False))
    assert model.get_layer("enc0_conv1").get_config()["activation"] == "gelu"
    assert "rescale" not in [ly.name for ly in model.layers]


@pytest.mark.tf
def test_mixed_bfloat16_output_is_float32() -> None:
    import keras

    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        model = build_model(small())
        assert model.get_layer("head").compute_dtype == "bfloat16"
        y = model(np.zeros((1, 32, 32, 3), "float32"))
        assert keras.backend.standardize_dtype(y.dtype) == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.tf
def test_keras_file_round_trip(tmp_path) -> None:
    import keras

    from sts_seg.model.losses import CrossEntropyDice
    from sts_seg.train.epoch_metrics import SeedPixelAgreement, TumourDice

    keras.utils.set_random_seed(3)
    model = build_model(small(normalization="batch"))
    model.compile(
        optimizer="adam",
        loss=CrossEntropyDice(class_weights=(1.0, 4.0)),
        metrics=[TumourDice(), SeedPixelAgreement()],
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 2, (4, 32, 32)), 2).astype("float32")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects: registered classes
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.loss, CrossEntropyDice)
    assert loaded.loss.class_weights == [1.0, 4.0]
    a = model.evaluate(x, y, verbose=0, return_dict=True)
    b = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert set(b) >= {"loss", "tumour_dice", "seed_pixel_agreement"}
    for key in ("loss", "tumour_dice", "seed_pixel_agreement"):
        assert b[key] == pytest.approx(a[key], rel=1e-6)


@pytest.mark.tf
@pytest.mark.parametrize(("num_classes", "prior"), [(2, 0.01), (3, 0.05)])
def test_head_bias_starts_at_the_foreground_prior(num_classes: int, prior: float) -> None:
    """softmax(head bias) = (1 - k·prior, prior, ..., prior): the initial guess is mostly background."""
    model = build_model(small(num_classes=num_classes, foreground_prior=prior))
    bias = np.asarray(model.get_layer("head").bias)
    probs = np.exp(bias) / np.exp(bias).sum()
    expected = [1 - (num_classes - 1) * prior] + [prior] * (num_classes - 1)
    np.testing.assert_allclose(probs, expected, rtol=1e-6)


@pytest.mark.tf
def test_no_prior_keeps_zero_head_bias() -> None:
    model = build_model(small(foreground_prior=None))
    assert not np.asarray(model.get_layer("head").bias).any()
