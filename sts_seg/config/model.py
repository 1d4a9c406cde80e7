"""Section ``model``: the FlexUNet knobs (the original's) plus normalisation and activation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sts_seg.config.base import Section


class ModelConfig(Section):
    """FlexUNet knobs (the original's) plus normalisation, kernel schedule and activation."""

    name: Literal["flexunet"] = "flexunet"
    """Architecture (the original's FlexUNet)."""
    image_size: int | Literal["auto"] = "auto"
    """Training canvas in px (a multiple of 2^(num_layers-1)); `auto`: the dataset's largest slice, rounded up."""
    image_channels: int = Field(3, ge=1)
    """Input channels (a grey PNG is repeated to 3)."""
    num_classes: int = Field(2, ge=2)
    """Output classes including background (2: background, tumour)."""
    base_filters: int = Field(16, ge=1)
    """Filters of level 0; level i has base_filters * 2^i."""
    base_kernels: tuple[int, int] = (3, 3)
    """Kernel of level 0; shrinks by 2 per level to 3 (`shrink`)."""
    kernel_schedule: Literal["shrink", "constant"] = "shrink"
    """`shrink` (the original: 2 less per level, floor 3) or `constant`."""
    num_layers: int = Field(5, ge=2, le=10, validate_default=True)
    """Encoder levels including the bridge (the original: 8)."""
    dropout_rate: float = Field(0.04, ge=0, lt=0.5)
    """Dropout at level i is dropout_rate * i."""
    dilation: tuple[int, int] = (1, 1)
    """Dilation of level 0; shrinks by 1 per level to 1."""
    normalization: Literal["none", "batch", "group"] = "batch"
    """After every conv: `batch` (momentum 0.9), `group` or `none` (the original)."""
    norm_groups: int = Field(8, ge=1)
    """Groups of `group` normalisation (must divide base_filters)."""
    activation: Literal["relu", "elu", "gelu", "swish", "mish", "leaky_relu"] = "relu"
    """Activation inside every convolution."""
    input_normalize: bool = True
    """Rescale 0..255 input to 0..1 inside the model."""
    foreground_prior: float | None = Field(0.01, gt=0, lt=0.5)
    """Initial softmax probability of each foreground class (head bias); null = zero bias."""

    @field_validator("image_size", mode="before")
    @classmethod
    def _auto_or_size(cls, v: object) -> object:
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 8):
            return v
        raise ValueError("must be auto or an integer number of pixels >= 8")

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
        if isinstance(size, int) and size % factor:
            ok = max(factor, round(size / factor) * factor)
            raise ValueError(
                f"image_size {size} cannot be halved {v - 1} times by {v} levels, "
                f"use an image_size that is a multiple of {factor} (e.g. {ok}) or fewer levels"
            )
        return v

    @property
    def divisor(self) -> int:
        """Input sides must be multiples of this: 2^(num_layers-1)."""
        return 2 ** (self.num_layers - 1)

    @model_validator(mode="after")
    def _groups_fit(self) -> ModelConfig:
        if self.normalization == "group" and self.base_filters % self.norm_groups:
            raise ValueError(f"base_filters {self.base_filters} is not divisible by norm_groups {self.norm_groups}")
        return self
