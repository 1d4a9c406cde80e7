"""Validated configuration: one pydantic model per pipeline section.

Every section forbids unknown keys, so a typo is an error, not a silently ignored setting.
``load_config(path, overrides)`` merges a YAML file over the packaged defaults, applies
``--set dotted.key=value`` overrides and validates the result once.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from sts_seg.errors import ConfigError

Split = Literal["train", "valid", "test"]
SPLITS: tuple[Split, ...] = ("train", "valid", "test")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class RgbClass(_Section):
    """One entry of an RGB mask colour map (the original project's ``rgb_map``)."""

    color: tuple[int, int, int]
    label: int = Field(ge=0)

    @field_validator("color")
    @classmethod
    def _byte_range(cls, v: tuple[int, int, int]) -> tuple[int, int, int]:
        if any(not 0 <= c <= 255 for c in v):
            raise ValueError("colour components must be in 0..255")
        return v


class DataConfig(_Section):
    """Where the data lives. ``h5`` is the Kaggle-layout source; ``dataset`` the prepared PNG tree."""

    h5: Path | None = None
    """Kaggle-layout HDF5 source (ct_data/pet_data/label_data); `--h5` overrides."""
    dataset: Path = Path("data/sts")
    """Prepared PNG dataset folder; `--dataset`/`--output` override."""
    spacing_mm: tuple[float, float, float] = (5.0, 5.0, 5.0)
    """Voxel spacing (z, y, x) in mm; 5 mm isotropic in the Kaggle file."""
    rgb_map: tuple[RgbClass, ...] = (
        RgbClass(color=(0, 0, 0), label=0),
        RgbClass(color=(255, 255, 0), label=1),
    )
    """Colour -> class for RGB masks (the original's format)."""

    @field_validator("spacing_mm")
    @classmethod
    def _positive_spacing(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(s <= 0 for s in v):
            raise ValueError("voxel spacing must be positive (z, y, x in mm)")
        return v


class SplitConfig(_Section):
    """Patient-level split: seeded fractions, or explicit patient lists (which win)."""

    seed: int = 137
    """Seed of the patient permutation."""
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    """train/valid/test fractions of patients (7 patients -> 5/1/1)."""
    train: tuple[str, ...] | None = None
    """Explicit train patients (give all three lists, or none)."""
    valid: tuple[str, ...] | None = None
    test: tuple[str, ...] | None = None

    @field_validator("fractions")
    @classmethod
    def _sum_to_one(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(f < 0 for f in v):
            raise ValueError("split fractions must be non-negative")
        if not math.isclose(sum(v), 1.0, abs_tol=1e-6):
            raise ValueError(f"train/valid/test fractions must sum to 1, they sum to {sum(v):g}")
        return v

    @model_validator(mode="after")
    def _explicit_lists(self) -> SplitConfig:
        lists = [x for x in (self.train, self.valid, self.test) if x is not None]
        if lists and len(lists) != 3:
            raise ValueError("give all three of split.train/valid/test, or none of them")
        seen: dict[str, str] = {}
        for name in SPLITS:
            for pid in getattr(self, name) or ():
                if pid in seen:
                    raise ValueError(f"patient {pid} is listed in both {seen[pid]} and {name}")
                seen[pid] = name
        return self


class ChannelSpec(_Section):
    """One image channel: a modality clipped to ``window`` (HU or SUV) and scaled to 0..255."""

    modality: Literal["ct", "pet"]
    window: tuple[float, float]
    """Clip range (HU or SUV) mapped linearly to 0..255."""

    @field_validator("window")
    @classmethod
    def _non_empty(cls, v: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        lo, hi = v
        if not hi > lo:
            name = info.data.get("modality", "")
            raise ValueError(f"{name} window is empty: upper {hi:g} must exceed lower {lo:g}".strip())
        return v


SlicePolicy = Literal["labeled", "all", "labeled_plus_negatives"]


class SelectConfig(_Section):
    """Which slices each split exports. Valid/test keep every slice so volumes can be restacked."""

    train: SlicePolicy = "labeled_plus_negatives"
    valid: SlicePolicy = "all"
    test: SlicePolicy = "all"


class PrepareConfig(_Section):
    """HDF5 volumes -> 2D PNG slices. Image size comes from ``model.image_size``."""

    image_mode: Literal["channels", "seed_sum"] = "channels"
    """`channels` (one modality window per channel) or `seed_sum` (the original's grey CT+PET sum, parity only)."""
    channels: tuple[ChannelSpec, ...] = (
        ChannelSpec(modality="ct", window=(-160.0, 240.0)),
        ChannelSpec(modality="pet", window=(0.0, 10.0)),
        ChannelSpec(modality="ct", window=(-1000.0, 1000.0)),
    )
    """The PNG's channels, each a modality and a window (1 or 3)."""
    geometry: Literal["pad", "resize"] = "pad"
    """`pad` (centre on the canvas, exact inverse) or `resize` (resample)."""
    select: SelectConfig = SelectConfig()
    negative_ratio: float = Field(1.0, ge=0)
    """Tumour-free slices per tumour slice for `labeled_plus_negatives`."""
    seed: int = 137
    """Seed of the negative-slice sampling."""

    @field_validator("channels")
    @classmethod
    def _channel_count(cls, v: tuple[ChannelSpec, ...]) -> tuple[ChannelSpec, ...]:
        if len(v) not in (1, 3):
            raise ValueError(f"give 1 or 3 channels (grey or RGB PNG), got {len(v)}")
        return v


class AugmentOpConfig(_Section):
    """One named augmentation operation and its parameters (checked by the op registry)."""

    name: str
    p: float = Field(1.0, ge=0, le=1)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_op(self) -> AugmentOpConfig:
        from sts_seg.augment.registry import validate_op

        validate_op(self.name, self.params)
        return self


class AugmentConfig(_Section):
    """``offline``: files written by ``stsseg augment``; ``online``: random ops during training."""

    seed: int = 137
    offline: tuple[AugmentOpConfig, ...] = ()
    """Ops written to disk by `stsseg augment` (train split only)."""
    online: tuple[AugmentOpConfig, ...] = ()
    """Ops applied on the fly during training, each with probability `p`."""


class ModelConfig(_Section):
    """FlexUNet knobs (the original's) plus normalisation, kernel schedule and activation."""

    name: Literal["flexunet"] = "flexunet"
    image_size: int = Field(128, ge=8)
    """Square input size in px; divisible by 2^(num_layers-1)."""
    image_channels: int = Field(3, ge=1)
    """Input channels (a grey PNG is repeated to 3)."""
    num_classes: int = Field(2, ge=2)
    base_filters: int = Field(16, ge=1)
    """Filters of level 0; level i has base_filters * 2^i."""
    base_kernels: tuple[int, int] = (3, 3)
    """Kernel of level 0; shrinks by 2 per level to 3 (`shrink`)."""
    kernel_schedule: Literal["shrink", "constant"] = "shrink"
    num_layers: int = Field(5, ge=2, le=10, validate_default=True)
    """Encoder levels including the bridge (the original: 8)."""
    dropout_rate: float = Field(0.04, ge=0, lt=0.5)
    """Dropout at level i is dropout_rate * i."""
    dilation: tuple[int, int] = (1, 1)
    """Dilation of level 0; shrinks by 1 per level to 1."""
    normalization: Literal["none", "batch", "group"] = "batch"
    """After every conv: `batch` (momentum 0.9), `group` or `none` (the original)."""
    norm_groups: int = Field(8, ge=1)
    activation: Literal["relu", "elu", "gelu", "swish", "mish", "leaky_relu"] = "relu"
    input_normalize: bool = True
    """Rescale 0..255 input to 0..1 inside the model."""
    foreground_prior: float | None = Field(0.01, gt=0, lt=0.5)
    """Initial softmax probability of each foreground class (head bias); null = zero bias."""

    @field_validator("base_kernels")
    @classmethod
    def _odd_kernels(cls, v: tuple[int, int]) -> tuple[int, int]:
        if any(k < 1 or k % 2 == 0 for k in v):
            raise ValueError("kernel sizes must be odd and >= 1")
        return v

    @field_validator("dilation")
    @classmethod
    def _square_dilation(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] != v[1] or v[0] < 1:
            raise ValueError("dilation must be two equal integers >= 1")
        return v

    @field_validator("num_layers")
    @classmethod
    def _size_halves(cls, v: int, info: ValidationInfo) -> int:
        size = info.data.get("image_size")
        factor = 2 ** (v - 1)
        if size is not None and size % factor:
            ok = max(factor, round(size / factor) * factor)
            raise ValueError(
                f"image_size {size} cannot be halved {v - 1} times by {v} levels, "
                f"use an image_size that is a multiple of {factor} (e.g. {ok}) or fewer levels"
            )
        return v

    @model_validator(mode="after")
    def _groups_fit(self) -> ModelConfig:
        if self.normalization == "group" and self.base_filters % self.norm_groups:
            raise ValueError(f"base_filters {self.base_filters} is not divisible by norm_groups {self.norm_groups}")
        return self


class ReducerConfig(_Section):
    enabled: bool = True
    factor: float = Field(0.5, gt=0, lt=1)
    patience: int = Field(4, ge=1)
    min_lr: float = Field(0.0, ge=0)


class EarlyStoppingConfig(_Section):
    enabled: bool = True
    patience: int = Field(10, ge=1)
    restore_best: bool = True


class TrainConfig(_Section):
    run_dir: Path = Path("runs/sts")
    epochs: int = Field(60, ge=1)
    batch_size: int = Field(8, ge=1)
    steps_per_epoch: int | None = Field(None, ge=1)
    """Batches per epoch; default: one pass over the train slices."""
    seed: int = 137
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    clipvalue: float | None = Field(None, gt=0)
    """Gradient value clipping (the original: 0.5)."""
    loss: Literal["ce", "dice", "ce_dice", "focal", "focal_dice"] = "ce_dice"
    """`ce` (the original), `dice`, `ce_dice`, `focal`, `focal_dice`."""
    class_weights: tuple[float, ...] | None = None
    focal_gamma: float = Field(2.0, ge=0)
    monitor: Literal["val_loss", "val_tumour_dice"] = "val_tumour_dice"
    """Metric for checkpoints, LR reduction and early stopping."""
    reducer: ReducerConfig = ReducerConfig()
    early_stopping: EarlyStoppingConfig = EarlyStoppingConfig()
    tumour_fraction: float | None = Field(None, gt=0, lt=1)
    """Fraction of sampled slices that hold tumour; null = uniform."""
    cache: bool = True
    """Cache the validation stream in memory."""
    preview_images: int = Field(4, ge=0)
    """Validation slices in the per-epoch preview grid."""
    precision: Literal["float32", "mixed_bfloat16"] = "float32"
    """`mixed_bfloat16` is faster on CPUs with AVX512-BF16."""
    deterministic: bool = False
    """TensorFlow op determinism (slower)."""
    log_seed_metric: bool = True
    """Also log the original's `dice_coef_multiclass` as `seed_pixel_agreement`."""


class BaselineConfig(_Section):
    """PET-threshold baseline: SUV >= max(fraction * SUVmax, suv), largest 3D components kept."""

    enabled: bool = True
    mode: Literal["fraction", "fixed"] = "fraction"
    fraction: float = Field(0.4, gt=0, le=1)
    """Threshold = fraction * patient SUVmax (`fraction` mode)."""
    suv: float = Field(2.5, gt=0)
    """Threshold in SUV (`fixed` mode)."""
    keep_components: int = Field(1, ge=1)
    """Largest 3D connected components kept."""


class EvalConfig(_Section):
    split: Split = "test"
    output: Path | None = None
    """Report folder; default <train.run_dir>/eval_<split>."""
    empty_policy: Literal["nan", "one", "zero"] = "nan"
    """Dice when truth and prediction are both empty: NaN (excluded), 1 or 0."""
    batch_size: int = Field(16, ge=1)
    overlays: int = Field(3, ge=0)
    """Best and worst slices drawn as overlays."""
    baseline: BaselineConfig = BaselineConfig()


class PostprocessConfig(_Section):
    """3D clean-up of predicted volumes (evaluate and ``infer --h5``), as nnU-Net does when CV says so.

    ``keep_largest``: keep only the N largest 3D connected components (26-connectivity);
    ``min_volume_ml``: drop components smaller than this. Decide on the validation split, not on test.
    """

    keep_largest: int | None = Field(None, ge=1)
    """Keep the N largest 3D components of a prediction; null = all."""
    min_volume_ml: float = Field(0.0, ge=0)
    """Drop predicted components smaller than this (mL)."""


class InferConfig(_Section):
    batch_size: int = Field(16, ge=1)
    overlay: bool = False
    """Also write masks blended over the inputs."""
    overlay_alpha: float = Field(0.45, ge=0, le=1)
    nifti: bool = False
    """Volume mode: also write NIfTI files."""


class Config(_Section):
    data: DataConfig = DataConfig()
    split: SplitConfig = SplitConfig()
    prepare: PrepareConfig = PrepareConfig()
    augment: AugmentConfig = AugmentConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    postprocess: PostprocessConfig = PostprocessConfig()
    infer: InferConfig = InferConfig()

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        n_img = 1 if self.prepare.image_mode == "seed_sum" else len(self.prepare.channels)
        # a grey PNG is read as 3 identical channels when the model wants 3 (the original's way)
        if self.model.image_channels not in (n_img, 3):
            raise ValueError(
                f"model.image_channels {self.model.image_channels} does not match the "
                f"{n_img} channel(s) that prepare writes; set model.image_channels: {n_img}"
            )
        if self.train.class_weights is not None and (len(self.train.class_weights) != self.model.num_classes):
            raise ValueError(
                f"train.class_weights has {len(self.train.class_weights)} entries but "
                f"model.num_classes is {self.model.num_classes}"
            )
        return self


# --------------------------------------------------------------------------- loading


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = raw
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: '{key}' is not a section; check the key path")
        node = child
    node[keys[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``"train.epochs=3"`` -> ``("train.epochs", 3)``; the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected dotted.key=value, e.g. --set train.epochs=3")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text!r}: value is not valid YAML ({exc.__class__.__name__})") from None


def format_validation_error(exc: ValidationError, source: str) -> str:
    """Every problem as ``dotted.path: message (got VALUE)``, joined into one line."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        got_txt = "" if isinstance(got, dict) else f" (got {got!r})"
        parts.append(f"{loc}: {msg}{got_txt}")
    n = len(parts)
    return f"{source}: {n} problem{'s' * (n != 1)}: " + " | ".join(parts)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing or malformed file is a ConfigError naming it."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; pass an existing YAML file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML; fix the syntax") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections (data:, model:, ...)")
    return raw


def load_config(path: Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load ``path`` (or the defaults), apply ``--set`` overrides, validate once."""
    raw = read_yaml(Path(path)) if path is not None else {}
    for text in overrides:
        _set_dotted(raw, *parse_override(text))
    source = str(path) if path is not None else "config"
    if overrides:
        source += " + --set"
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """A plain, YAML-safe dict (paths as strings, tuples as lists)."""
    return cfg.model_dump(mode="json")


def dump_config(cfg: Config, path: Path) -> None:
    """Write the resolved config as YAML (what a run actually used)."""
    path.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
