"""Validated configuration: one pydantic section per pipeline stage.

Every section forbids unknown keys, so a typo is an error, not a silently ignored setting.
``load_config(path, overrides, values)`` merges a YAML file over the defaults, applies
``--set dotted.key=value`` overrides and typed CLI values, and validates the result once.
"""

from sts_seg.config.augment import AugmentConfig
from sts_seg.config.base import SPLITS, Section, Split
from sts_seg.config.cv import CvConfig
from sts_seg.config.data import ChannelSpec, DataConfig, PrepareConfig, RgbClass, SelectConfig, SlicePolicy, SplitConfig
from sts_seg.config.evaluate import BaselineConfig, EvalConfig, InferConfig, PostprocessConfig
from sts_seg.config.load import (
    config_to_dict,
    dump_config,
    format_validation_error,
    load_config,
    parse_override,
    read_yaml,
)
from sts_seg.config.model import ModelConfig
from sts_seg.config.root import Config
from sts_seg.config.train import EarlyStoppingConfig, ReducerConfig, TrainConfig

__all__ = [
    "SPLITS",
    "AugmentConfig",
    "BaselineConfig",
    "ChannelSpec",
    "Config",
    "CvConfig",
    "DataConfig",
    "EarlyStoppingConfig",
    "EvalConfig",
    "InferConfig",
    "ModelConfig",
    "PostprocessConfig",
    "PrepareConfig",
    "ReducerConfig",
    "RgbClass",
    "Section",
    "SelectConfig",
    "SlicePolicy",
    "Split",
    "SplitConfig",
    "TrainConfig",
    "config_to_dict",
    "dump_config",
    "format_validation_error",
    "load_config",
    "parse_override",
    "read_yaml",
]
