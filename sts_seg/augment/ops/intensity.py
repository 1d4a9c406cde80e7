"""Intensity ops: change image grey levels only; the mask is returned unchanged.

Images are uint8 (or float on the 0..255 scale); uint8 results are rounded and saturated.
``copies`` gives that many offline outputs, each with its own random draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from sts_seg.augment.fields import gaussian_blur
from sts_seg.augment.ops.base import (
    NUM,
    Copies,
    NonEmpty,
    Op,
    Pair,
    Params,
    Shape,
    copies_variants,
    fmt_num,
    new_seed,
    pick,
)
from sts_seg.augment.warp import to_dtype_like

Gamma = Annotated[float, Field(gt=0, le=10)]
Sigma = Annotated[float, Field(gt=0, le=20)]


def gamma(image: np.ndarray, g: float) -> np.ndarray:
    """255 * (I / 255) ** g on every channel (g < 1 brightens)."""
    if image.dtype == np.uint8:
        lut = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** g), 0, 255).astype(np.uint8)
        return lut[image]
    x = np.clip(image.astype(np.float32), 0, 255)
    return to_dtype_like(255.0 * (x / 255.0) ** np.float32(g), image)


def brightness_contrast(image: np.ndarray, brightness: float, contrast: float) -> np.ndarray:
    """(I - mean) * contrast + mean + 255 * brightness; mean over all pixels and channels."""
    x = image.astype(np.float32)
    m = np.float32(x.mean())
    return to_dtype_like((x - m) * np.float32(contrast) + m + np.float32(255.0 * brightness), image)


def channel_scale(image: np.ndarray, channels: tuple[int, ...], factor: float) -> np.ndarray:
    """``I * factor`` on ``channels`` of an ``(H, W, C)`` image (channel 0 of an ``(H, W)`` one),
    the others untouched. On a PET channel whose window starts at SUV 0 this scales the SUV."""
    x = image.astype(np.float32)
    if x.ndim == 2:
        if any(c != 0 for c in channels):
            raise ValueError(f"channel_scale channels {list(channels)}: a grey image has only channel 0")
        return to_dtype_like(x * np.float32(factor), image)
    if max(channels) >= x.shape[-1]:
        raise ValueError(f"channel_scale channels {list(channels)}: the image has {x.shape[-1]} channel(s)")
    x[..., list(channels)] *= np.float32(factor)
    return to_dtype_like(x, image)


def gaussian_noise(image: np.ndarray, std: float, seed: int) -> np.ndarray:
    """Add N(0, std) grey levels, drawn independently per pixel and channel."""
    noise = np.random.default_rng(seed).standard_normal(image.shape, dtype=np.float32)
    return to_dtype_like(image.astype(np.float32) + np.float32(std) * noise, image)


@dataclass(frozen=True)
class GammaParams(Params):
    gamma: float


class GammaOp(Op):
    """Gamma curve 255 (I/255)^g (``gamma_<k>_<name>``)."""

    name: Literal["gamma"] = "gamma"
    range: tuple[Gamma, Gamma] = (0.7, 1.5)
    """[low, high] of g, drawn log-uniformly (0.7 as likely as 1/0.7)."""
    copies: Copies = 1
    summary = "gamma curve 255 (I/255)^g, g log-uniform in `range`"
    prefix = r"gamma_\d+_"
    geometric = False

    @model_validator(mode="after")
    def _ordered(self) -> GammaOp:
        if self.range[0] > self.range[1]:
            raise ValueError(f"range must be [low, high] with low <= high, got {list(self.range)}")
        return self

    def variants(self) -> list[tuple[str, Op]]:
        return copies_variants(self, "gamma")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        lo, hi = np.log(self.range[0]), np.log(self.range[1])
        return GammaParams(float(np.exp(rng.uniform(lo, hi))))

    def apply(self, image: np.ndarray, mask: np.ndarray, params: GammaParams) -> Pair:
        return gamma(image, params.gamma), mask


@dataclass(frozen=True)
class BrightnessContrastParams(Params):
    brightness: float
    contrast: float


class BrightnessContrast(Op):
    """Contrast about the mean and a brightness shift (``brightcontrast_<k>_<name>``)."""

    name: Literal["brightness_contrast"] = "brightness_contrast"
    brightness: float = Field(0.1, ge=0, le=1)
    """Shift drawn from U(-b, b), times 255."""
    contrast: float = Field(0.1, ge=0, lt=1)
    """Contrast factor drawn from U(1 - c, 1 + c)."""
    copies: Copies = 1
    summary = "contrast x U(1-c, 1+c) about the mean, brightness + U(-b, b) * 255"
    prefix = r"brightcontrast_\d+_"
    geometric = False

    def variants(self) -> list[tuple[str, Op]]:
        return copies_variants(self, "brightcontrast")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        b = float(rng.uniform(-self.brightness, self.brightness))
        c = float(rng.uniform(1.0 - self.contrast, 1.0 + self.contrast))
        return BrightnessContrastParams(b, c)

    def apply(self, image: np.ndarray, mask: np.ndarray, params: BrightnessContrastParams) -> Pair:
        return brightness_contrast(image, params.brightness, params.contrast), mask


@dataclass(frozen=True)
class ScaleParams(Params):
    factor: float


class ChannelScale(Op):
    """Multiply some channels by one factor (``scaled_<k>_<name>``): with the PET channel, the
    uptake (SUV) of tumour and organs alike, as scan timing, glucose and body habitus vary it."""

    name: Literal["channel_scale"] = "channel_scale"
    channels: Annotated[tuple[Annotated[int, Field(ge=0)], ...], NonEmpty] = (1,)
    """Channel indices to scale (the shipped configs' PET is channel 1)."""
    range: tuple[Gamma, Gamma] = (0.67, 1.5)
    """[low, high] of the factor, drawn log-uniformly."""
    copies: Copies = 1
    summary = "multiply `channels` by a factor log-uniform in `range` (PET: SUV scaling)"
    prefix = r"scaled_\d+_"
    geometric = False

    @model_validator(mode="after")
    def _ordered(self) -> ChannelScale:
        if self.range[0] > self.range[1]:
            raise ValueError(f"range must be [low, high] with low <= high, got {list(self.range)}")
        return self

    def variants(self) -> list[tuple[str, Op]]:
        return copies_variants(self, "scaled")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        lo, hi = np.log(self.range[0]), np.log(self.range[1])
        return ScaleParams(float(np.exp(rng.uniform(lo, hi))))

    def apply(self, image: np.ndarray, mask: np.ndarray, params: ScaleParams) -> Pair:
        return channel_scale(image, self.channels, params.factor), mask


@dataclass(frozen=True)
class NoiseParams(Params):
    std: float
    noise_seed: int


class GaussianNoise(Op):
    """Additive Gaussian noise (``noisy_<k>_<name>``)."""

    name: Literal["gaussian_noise"] = "gaussian_noise"
    std: float = Field(5.0, ge=0, le=255)
    """Standard deviation in grey levels."""
    copies: Copies = 1
    summary = "additive Gaussian noise, `std` grey levels"
    prefix = r"noisy_\d+_"
    geometric = False

    def variants(self) -> list[tuple[str, Op]]:
        return copies_variants(self, "noisy")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return NoiseParams(float(self.std), new_seed(rng))

    def apply(self, image: np.ndarray, mask: np.ndarray, params: NoiseParams) -> Pair:
        return gaussian_noise(image, params.std, params.noise_seed), mask


@dataclass(frozen=True)
class BlurParams(Params):
    sigma: float


class Blur(Op):
    """Gaussian blur (``blurred_<sigma>_<name>``)."""

    name: Literal["blur"] = "blur"
    sigmas: Annotated[tuple[Sigma, ...], NonEmpty] = (1.0,)
    """Blur sigmas in px; one output each."""
    summary = "Gaussian blur with each sigma (px)"
    prefix = rf"blurred_{NUM}_"
    geometric = False

    def variants(self) -> list[tuple[str, Op]]:
        return [(f"blurred_{fmt_num(s)}_", self.model_copy(update={"sigmas": (s,)})) for s in self.sigmas]

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return BlurParams(float(pick(rng, self.sigmas)))

    def apply(self, image: np.ndarray, mask: np.ndarray, params: BlurParams) -> Pair:
        return to_dtype_like(gaussian_blur(image, params.sigma), image), mask
