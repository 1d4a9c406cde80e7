"""Sections ``data``, ``split`` and ``prepare``: where the data lives and how it becomes slices."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sts_seg.config.base import SPLITS, Section
from sts_seg.core.rgb import DEFAULT_RGB_MAP, ColourMap


class RgbClass(Section):
    """One entry of an RGB mask colour map (the original project's ``rgb_map``)."""

    color: tuple[int, int, int]
    """Mask colour as [r, g, b], each 0..255."""
    label: int = Field(ge=0)
    """Class index of that colour (0 = background)."""

    @field_validator("color")
    @classmethod
    def _byte_range(cls, v: tuple[int, int, int]) -> tuple[int, int, int]:
        if any(not 0 <= c <= 255 for c in v):
            raise ValueError("colour components must be in 0..255")
        return v


class DataConfig(Section):
    """Where the data lives: the ``source`` (a Kaggle-layout HDF5 or a folder of NIfTI cases) and
    the prepared PNG ``dataset``."""

    source: Path | None = None
    """A Kaggle HDF5, a folder (autoPET, nnU-Net raw, HECKTOR, folders, dicom) or a case list; `--source` overrides."""
    layout: Literal["auto", "kaggle_h5", "autopet", "nnunet", "hecktor", "folders", "caselist", "dicom"] = "auto"
    """Source layout; `auto` tells it from what is on disk (`folders` only when `data.files` is set)."""
    files: dict[Literal["ct", "pet", "label"], str] | None = None
    """`folders`: file name or glob of each role in a case folder ({ct: CT.nii.gz, pet: PET.nii.gz}); label optional."""
    reference: Literal["ct", "pet"] = "ct"
    """`folders`, `caselist`, `dicom`: the grid results are written and scored on; the other image is resampled."""
    roi: str | None = None
    """`dicom`: the label's RTSTRUCT ROI, a name or a regex; null = the single ROI on the reference series."""
    foreground_labels: tuple[int, ...] | None = None
    """Label values that count as tumour; null = every value > 0."""
    background_labels: tuple[int, ...] = ()
    """Label values that count as background when `foreground_labels` is set (e.g. HECKTOR nodes: [2])."""
    channels: dict[Literal["ct", "pet"], int] | None = None
    """nnU-Net raw: channel numbers of CT and PET (e.g. {ct: 0, pet: 1}); null = from dataset.json channel_names."""
    patient_pattern: str | None = None
    """Regex whose first group is the patient id of a case id; null = the case id (nnU-Net raw: autoPET names first)."""
    dataset: Path = Path("data/sts")
    """Prepared PNG dataset folder; `--dataset`/`--output` override."""
    spacing_mm: tuple[float, float, float] = (5.0, 5.0, 5.0)
    """Voxel spacing (z, y, x) in mm of the Kaggle file, which stores none; NIfTI headers give their own."""
    rgb_map: tuple[RgbClass, ...] = tuple(RgbClass(color=c, label=lab) for c, lab in DEFAULT_RGB_MAP)
    """Colour -> class for RGB masks (the original's format)."""
    rgb_match: Literal["exact", "nearest"] = "exact"
    """RGB mask colours: `exact` refuses a colour not in `rgb_map`; `nearest` maps it to the nearest (the original)."""

    @model_validator(mode="before")
    @classmethod
    def _h5_alias(cls, raw: object) -> object:
        """``data.h5`` (the 0.1 name) is ``data.source``."""
        if isinstance(raw, dict) and "h5" in raw:
            raw = dict(raw)
            h5 = raw.pop("h5")
            if raw.get("source") not in (None, h5) and h5 is not None:
                raise ValueError("give data.source or data.h5 (its old name), not both")
            raw["source"] = raw.get("source") or h5
        return raw

    @field_validator("channels")
    @classmethod
    def _both_channels(cls, v: dict | None) -> dict | None:
        if v is not None and set(v) != {"ct", "pet"}:
            raise ValueError("give both channel numbers, e.g. {ct: 0, pet: 1}")
        return v

    @field_validator("files")
    @classmethod
    def _image_files(cls, v: dict | None) -> dict | None:
        if v is not None and not {"ct", "pet"} <= set(v):
            raise ValueError("give at least the ct and pet file names, e.g. {ct: CT.nii.gz, pet: PET.nii.gz}")
        if v is not None and any(not str(name).strip() for name in v.values()):
            raise ValueError("file names must not be empty")
        return v

    @field_validator("spacing_mm")
    @classmethod
    def _positive_spacing(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(s <= 0 for s in v):
            raise ValueError("voxel spacing must be positive (z, y, x in mm)")
        return v

    @property
    def colours(self) -> ColourMap:
        """``rgb_map`` and ``rgb_match`` as the readers take them."""
        return ColourMap(tuple((tuple(c.color), c.label) for c in self.rgb_map), self.rgb_match)  # type: ignore[arg-type]


class SplitConfig(Section):
    """Patient-level split: seeded fractions, or explicit patient lists (which win)."""

    seed: int = 137
    """Seed of the patient permutation."""
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    """train/valid/test fractions of patients (7 patients -> 5/1/1)."""
    train: tuple[str, ...] | None = None
    """Explicit train patients (give all three lists, or none)."""
    valid: tuple[str, ...] | None = None
    """Explicit validation patients (checkpoints, LR reduction, early stopping)."""
    test: tuple[str, ...] | None = None
    """Explicit test patients (held out, scored by `evaluate`)."""

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

    @property
    def explicit(self) -> dict[str, list[str]] | None:
        """The explicit lists by split name, or None when the split is drawn from fractions."""
        if self.train is None:
            return None
        return {name: list(getattr(self, name) or ()) for name in SPLITS}


class ChannelSpec(Section):
    """One image channel: a modality clipped to ``window`` (HU or SUV) and scaled to 0..255."""

    modality: Literal["ct", "pet"]
    """Source volume of the channel: `ct` (HU) or `pet` (SUV)."""
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


class SelectConfig(Section):
    """Which slices each split exports. Valid/test keep every slice so volumes can be restacked."""

    train: SlicePolicy = "labeled_plus_negatives"
    """Slices of train patients: `labeled` (tumour only), `all`, or `labeled_plus_negatives`."""
    valid: SlicePolicy = "all"
    """Slices of validation patients (`all` keeps whole volumes)."""
    test: SlicePolicy = "all"
    """Slices of test patients (`all` keeps whole volumes for 3D scores)."""


class PrepareConfig(Section):
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
    """Slice selection per split."""
    negative_ratio: float = Field(1.0, ge=0)
    """Tumour-free slices per tumour slice for `labeled_plus_negatives`."""
    seed: int = 137
    """Seed of the negative-slice sampling."""
    spacing_mm: Literal["auto", "native"] | tuple[float, float, float] = "auto"
    """Slicing grid: `native`, `[z, y, x]` mm, or `auto` (the HDF5 native; NIfTI 4 mm in-plane, z kept)."""
    workers: int = Field(2, ge=1)
    """Threads that render and encode slices (1: everything in order in one thread)."""

    @field_validator("channels")
    @classmethod
    def _channel_count(cls, v: tuple[ChannelSpec, ...]) -> tuple[ChannelSpec, ...]:
        if len(v) not in (1, 3):
            raise ValueError(f"give 1 or 3 channels (grey or RGB PNG), got {len(v)}")
        return v

    @property
    def windows(self) -> tuple[tuple[str, float, float], ...]:
        """Channels as plain ``(modality, low, high)`` tuples, the form the core takes."""
        return tuple((c.modality, float(c.window[0]), float(c.window[1])) for c in self.channels)
