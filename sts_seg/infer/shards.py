"""``--shard i/n``: the i-th of n interleaved shards of a sorted list, as nnU-Net's
``-part_id i -num_parts n`` does, so that any scheduler can spread a batch over machines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sts_seg.config.evaluate import parse_shard

T = TypeVar("T")


def shard_of(items: Sequence[T], shard: str | None) -> list[T]:
    """``sorted(items)[i::n]`` for ``shard == "i/n"``; all items (sorted) when ``shard`` is None."""
    ordered = sorted(items)  # type: ignore[type-var]
    if shard is None:
        return ordered
    i, n = parse_shard(shard)
    return ordered[i::n]
