"""The whole configuration: one section per pipeline stage, plus cross-section checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from sts_seg.config.augment import AugmentConfig
from sts_seg.config.base import Section
from sts_seg.config.cv import CvConfig
from sts_seg.config.data import DataConfig, PrepareConfig, SplitConfig
from sts_seg.config.evaluate import EvalConfig, InferConfig, PostprocessConfig
from sts_seg.config.model import ModelConfig
from sts_seg.config.train import TrainConfig
from sts_seg.core.slicing import SliceSpec


class Config(Section):
    """Every setting of every stage; a YAML file holds any subset of it."""

    data: DataConfig = DataConfig()
    """Inputs: source file and prepared dataset."""
    split: SplitConfig = SplitConfig()
    """Patient-level train/valid/test split."""
    prepare: PrepareConfig = PrepareConfig()
    """Volumes -> PNG slices."""
    augment: AugmentConfig = AugmentConfig()
    """Offline and on-the-fly augmentation."""
    model: ModelConfig = ModelConfig()
    """The UNet."""
    train: TrainConfig = TrainConfig()
    """Training."""
    eval: EvalConfig = EvalConfig()
    """Evaluation."""
    postprocess: PostprocessConfig = PostprocessConfig()
    """3D clean-up of predictions."""
    infer: InferConfig = InferConfig()
    """Inference."""
    cv: CvConfig = CvConfig()
    """Cross-validation."""

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
        for where, ops in (("online", self.augment.online), ("offline", self.augment.offline)):
            for i, op in enumerate(ops):
                bad = [c for c in getattr(op, "channels", ()) if c >= self.model.image_channels]
                if bad:
                    raise ValueError(
                        f"augment.{where}.{i}.{op.name}.channels {bad}: the model's input has "
                        f"{self.model.image_channels} channel(s) (0..{self.model.image_channels - 1})"
                    )
        patch = self.train.patch_size
        if patch is not None and patch % self.model.divisor:
            ok = max(self.model.divisor, round(patch / self.model.divisor) * self.model.divisor)
            raise ValueError(
                f"train.patch_size {patch} cannot be halved {self.model.num_layers - 1} times by the model's "
                f"{self.model.num_layers} levels; use a multiple of {self.model.divisor} (e.g. {ok}) "
                "or null (whole slices)"
            )
        return self

    def slice_spec(self, canvas: int) -> SliceSpec:
        """How ``prepare`` turns native slices into model inputs on a ``canvas`` px canvas."""
        p = self.prepare
        return SliceSpec(p.image_mode, p.windows, p.geometry, canvas, self.model.divisor)

    def updated(self, values: Mapping[str, Any]) -> Config:
        """A copy with dotted keys replaced (``{"data.dataset": Path("x")}``), validated again."""
        raw = self.model_dump()
        for dotted, value in values.items():
            node = raw
            *parents, last = dotted.split(".")
            for key in parents:
                node = node[key]
            if last not in node:
                raise KeyError(f"unknown config key {dotted!r}")
            node[last] = value
        return Config.model_validate(raw)
