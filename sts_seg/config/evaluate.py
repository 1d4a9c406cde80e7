"""Sections ``eval``, ``postprocess`` and ``infer``: scoring and prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sts_seg.config.base import Section, Split


class BaselineConfig(Section):
    """PET-threshold baselines: SUV >= fraction * SUVmax, or SUV >= a fixed value, largest 3D components kept.

    Both rules are always scored; ``mode`` names the headline one (the comparison, wins and p)."""

    enabled: bool = True
    """Score the non-learned baselines next to the model."""
    mode: Literal["fraction", "suv"] = "fraction"
    """Headline rule: `fraction` of the patient's SUVmax, or a fixed `suv` (`fixed` is accepted for `suv`)."""
    fraction: float = Field(0.4, gt=0, le=1)
    """Threshold = fraction * patient SUVmax (`fraction` rule)."""
    suv: float = Field(2.5, gt=0)
    """Threshold in SUV (`suv` rule; 2.5 is the usual PET oncology cut-off)."""
    keep_components: int = Field(1, ge=1)
    """Largest 3D connected components kept."""

    @field_validator("mode", mode="before")
    @classmethod
    def _fixed_is_suv(cls, v: object) -> object:
        return "suv" if v == "fixed" else v

    @property
    def other(self) -> Literal["fraction", "suv"]:
        """The rule that is not the headline one (scored next to it)."""
        return "suv" if self.mode == "fraction" else "fraction"

    def label(self, rule: str) -> str:
        """A short name of ``rule``: ``SUV>=2.5`` or ``40% SUVmax``."""
        return f"SUV>={self.suv:g}" if rule == "suv" else f"{self.fraction:.0%} SUVmax"


class EvalConfig(Section):
    """What ``stsseg evaluate`` scores and where it writes the report."""

    split: Split = "test"
    """Split to score."""
    model: Path | None = None
    """Model to predict with; default <train.run_dir>/best.keras; `--model` overrides."""
    predictions: Path | None = None
    """Score these predictions instead of a model: a mask folder or a label_data HDF5."""
    output: Path | None = None
    """Report folder; default <train.run_dir>/eval_<split>."""
    empty_policy: Literal["nan", "one", "zero"] = "nan"
    """Dice when truth and prediction are both empty: NaN (excluded), 1 or 0."""
    hd95: Literal["max_directed", "pooled"] = "max_directed"
    """HD95: max of the two directed 95th percentiles (MONAI) or the 95th percentile of both pooled (medpy, nnU-Net)."""
    connectivity: Literal[6, 18, 26] = 26
    """Lesion neighbourhood of the FP/FN volumes: 6 (faces), 18 (+edges; autoPET's scorer), 26 (+corners)."""
    batch_size: int = Field(16, ge=1)
    """Slices per prediction batch."""
    overlays: int = Field(3, ge=0)
    """Best and worst slices drawn as overlays."""
    baseline: BaselineConfig = BaselineConfig()
    """The PET-threshold baseline."""


class PostprocessConfig(Section):
    """3D clean-up of predicted volumes (``evaluate`` and ``infer`` volume mode), as nnU-Net does when CV says so.

    ``keep_largest``: keep only the N largest 3D connected components (26-connectivity);
    ``min_volume_ml``: drop components smaller than this. Decide on the validation split, not on test.
    What applies is decided once, in :func:`sts_seg.modelsource.resolve_postprocess`: this section
    (``mode: none``, or settings that change anything) > the model's own choice > none.
    """

    mode: Literal["auto", "none"] = "auto"
    """`auto`: the settings below if they change anything, else the model's own choice; `none`: no post-processing."""
    keep_largest: int | None = Field(None, ge=1)
    """Keep the N largest 3D components of a prediction; null = all."""
    min_volume_ml: float = Field(0.0, ge=0)
    """Drop predicted components smaller than this (mL)."""

    @model_validator(mode="after")
    def _none_means_none(self) -> PostprocessConfig:
        if self.mode == "none" and (self.keep_largest is not None or self.min_volume_ml > 0):
            raise ValueError("mode none contradicts keep_largest/min_volume_ml; drop one of them")
        return self

    @property
    def active(self) -> bool:
        """True when these settings change anything (never with ``mode: none``)."""
        return self.mode == "auto" and (self.keep_largest is not None or self.min_volume_ml > 0)

    @property
    def settings(self) -> dict[str, int | float | None]:
        """Keywords of :func:`~sts_seg.core.postprocess.postprocess` (a no-op with ``mode: none``)."""
        return {"keep_largest": self.keep_largest, "min_volume_ml": self.min_volume_ml}


def parse_shard(value: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``."""
    try:
        i, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise ValueError(f"a shard is i/n with whole numbers, e.g. 0/4 (got {value!r})") from None
    if not 0 <= i < n:
        raise ValueError(f"a shard i/n needs 0 <= i < n (got {value!r})")
    return i, n


class InferConfig(Section):
    """What ``stsseg infer`` predicts and writes."""

    model: Path | None = None
    """Model to predict with; default <train.run_dir>/best.keras; `--model` overrides."""
    input: Path | None = None
    """Folder mode: a folder of images; without it, volume mode reads `data.source`."""
    output: Path | None = None
    """Output folder: masks (folder mode) or one mask per case (volume mode); `--output` overrides."""
    cases: tuple[str, ...] | None = None
    """Volume mode: the cases (patients, for the HDF5) to predict; null = all."""
    batch_size: int = Field(16, ge=1)
    """Slices per prediction batch."""
    tta: Literal["none", "flips"] = "flips"
    """Test-time augmentation: `flips` (softmax averaged over horizontal, vertical and both flips) or `none`."""
    shard: str | None = None
    """`i/n`: predict only the i-th (0-based) of n interleaved shards of the sorted cases or images."""
    overlay: bool = False
    """Also write masks blended over the inputs."""
    overlay_alpha: float = Field(0.45, ge=0, le=1)
    """Opacity of the mask in overlays."""
    nifti: bool = False
    """Volume mode on the HDF5: also write <patient>.nii.gz with CT and PET copies (NIfTI sources always get NIfTI)."""

    @field_validator("shard")
    @classmethod
    def _shard(cls, v: str | None) -> str | None:
        if v is not None:
            parse_shard(v)
        return v
