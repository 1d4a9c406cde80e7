"""The op registry: names -> ops, config validation, output names and on-the-fly use.

``validate_op`` is what the config models call, so its ValueError messages become config errors
(``augment.offline.0: augment op 'rotate': 'angles' must be ...``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sts_seg.augment import elastic, geometric, intensity
from sts_seg.augment.base import Op, Variant

REGISTRY: dict[str, Op] = {op.name: op for op in (*geometric.OPS, *elastic.OPS, *intensity.OPS)}


def available() -> str:
    """Comma-separated registered op names."""
    return ", ".join(REGISTRY)


def get_op(name: str) -> Op:
    """The op called ``name``; ValueError listing the available ones otherwise."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown augmentation op {name!r}; available: {available()}") from None


def resolve_params(name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of ``name`` overlaid with ``params``, validated (ValueError on any problem)."""
    return get_op(name).resolve(params)


def validate_op(name: str, params: Mapping[str, Any] | None = None) -> None:
    """Check an op config: known name, known keys, values in range. Raises ValueError."""
    if params is not None and not isinstance(params, Mapping):
        raise ValueError(f"augment op {name!r}: params must be a mapping, got {params!r}")
    resolve_params(name, params)


def variants(name: str, params: Mapping[str, Any] | None = None) -> list[Variant]:
    """Offline outputs of an op config: ``[(name_prefix, narrowed_params), ...]``."""
    op = get_op(name)
    return op.variants(op.resolve(params))


def is_augmented_name(name: str) -> bool:
    """True when a file name (or stem) starts with the output prefix of any registered op."""
    return any(op.matches(name) for op in REGISTRY.values())


def op_fields(cfg: Any) -> tuple[str, float, dict[str, Any]]:
    """``(name, p, params)`` of an ``AugmentOpConfig`` or a ``{name, p, params}`` mapping.

    ValueError when ``p`` is not a probability in [0, 1].
    """
    if isinstance(cfg, Mapping):
        name, p, params = cfg.get("name"), cfg.get("p", 1.0), cfg.get("params")
    else:
        name, p, params = cfg.name, cfg.p, cfg.params
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
        raise ValueError(f"augment op {name!r}: 'p' must be a number in [0, 1], got {p!r}")
    return name, float(p), dict(params or {})


def apply_online(
    image: np.ndarray, mask: np.ndarray, ops: Sequence[Any], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Apply each op (objects with ``.name/.p/.params`` or such dicts) with probability ``p``.

    Each applied op samples one random variant (angle, factor, field, ...) from ``rng``;
    image ``(H, W, C)`` and mask ``(H, W)`` come back with the same shapes and dtypes.
    """
    for cfg in ops:
        name, p, params = op_fields(cfg)
        if p < 1.0 and rng.random() >= p:
            continue
        op = get_op(name)
        sampled = op.sample(rng, mask.shape, op.resolve(params))
        image, mask = op.apply(image, mask, sampled)
    return image, mask
