"""``stsseg augment``: write augmented copies of the TRAIN split next to the originals.

Works on any ``{train,valid,test}/{images,masks}`` tree (``stsseg prepare`` output or the
original project's released dataset, whose masks are black/yellow RGB). Only ``train`` is read
and written; ``valid`` and ``test`` are never opened. Sources are the train pairs whose names are
not augmented names, so an augmented file is never augmented again.

Determinism: every (source, output) pair draws from
``np.random.default_rng([seed, crc32(source), crc32(output prefix)])``, so a run is reproducible
for a seed, independent of op order, and running it twice rewrites the same bytes.

Atomicity: outputs and the manifest are staged in ``<dataset>/.augment-staging-*``; only when all
are written are the previous augmented files replaced (new ones renamed in, stale ones removed)
and ``augment_manifest.csv`` swapped in. A failure leaves the dataset as it was.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sts_seg.augment.ops import Op, is_augmented_name
from sts_seg.config import Config
from sts_seg.core.rgb import DEFAULT_RGB_MAP, RgbMap
from sts_seg.errors import ConfigError, DataError, OverwriteError
from sts_seg.io import png
from sts_seg.io.layout import Pair, list_images
from sts_seg.progress import ProgressFn, no_progress

MANIFEST_NAME = "augment_manifest.csv"
MANIFEST_COLUMNS = ("output", "source", "op", "variant", "params")
STAGING_PREFIX = ".augment-staging-"


@dataclass(frozen=True)
class AugmentResult:
    """What a run did. ``replaced``: augmented images of an earlier run removed or overwritten;
    ``untouched``: the other splits present (never opened)."""

    dataset: Path
    sources: int
    outputs: int
    per_op: dict[str, int]
    replaced: int
    manifest: Path
    untouched: tuple[str, ...]


@dataclass(frozen=True)
class _Task:
    pair: Pair
    tag: str
    op: Op  #: narrowed to this output's variant


def _resolve_ops(ops: Sequence[Op]) -> list[tuple[Op, list[tuple[str, Op]]]]:
    """``[(op, variants)]``; two entries writing the same names -> ConfigError."""
    plan, seen = [], {}
    for i, op in enumerate(ops):
        variants = op.variants()
        for tag, _ in variants:
            if tag in seen:
                raise ConfigError(
                    f"augment.offline.{i}: outputs '{tag}<name>' are also made by entry "
                    f"{seen[tag]}; remove one of the two entries"
                )
            seen[tag] = i
        plan.append((op, variants))
    return plan


def _seed_key(seed: int, *texts: str) -> list[int]:
    return [seed % 2**64, *(zlib.crc32(t.encode()) for t in texts)]


def _train_dirs(dataset: Path) -> tuple[Path, Path]:
    if not dataset.is_dir():
        raise DataError(f"{dataset}: dataset folder not found; run 'stsseg prepare' or pass --dataset DIR")
    images, masks = dataset / "train" / "images", dataset / "train" / "masks"
    for d in (images, masks):
        if not d.is_dir():
            raise DataError(
                f"{d}: folder not found; augment needs {dataset}/train/{{images,masks}} "
                "(run 'stsseg prepare' or point --dataset at a {train,valid,test} tree)"
            )
    return images, masks


def _recorded_outputs(path: Path) -> set[str]:
    """Output names an existing ``augment_manifest.csv`` records (empty if missing or corrupt)."""
    try:
        with path.open(newline="") as fh:
            reader = csv.reader(fh)
            if tuple(next(reader, ())) != MANIFEST_COLUMNS:
                return set()
            return {row[0] for row in reader if row}
    except (OSError, UnicodeDecodeError, csv.Error):
        return set()


def _scan(images_dir: Path, masks_dir: Path) -> tuple[list[Pair], list[Path]]:
    """Source pairs (non-augmented names) and every augmented file already in train."""
    images, masks = list_images(images_dir), list_images(masks_dir)
    previous = [p for d in (images, masks) for n, p in d.items() if is_augmented_name(n)]
    src_img = {n: p for n, p in images.items() if not is_augmented_name(n)}
    src_mask = {n: p for n, p in masks.items() if not is_augmented_name(n)}
    lonely = sorted(set(src_img) ^ set(src_mask))
    if lonely:
        shown = ", ".join(lonely[:5]) + (f" and {len(lonely) - 5} more" if len(lonely) > 5 else "")
        raise DataError(
            f"{images_dir.parent}: {len(lonely)} image(s)/mask(s) without a partner: {shown}; add or remove them"
        )
    return [Pair(n, src_img[n], src_mask[n]) for n in sorted(src_img)], previous


def _plan(sources: list[Pair], plan: list, seed: int) -> list[_Task]:
    tasks = []
    for pair in sources:
        for i, (op, variants) in enumerate(plan):
            if op.p < 1.0 and np.random.default_rng(_seed_key(seed, pair.name, f"p{i}")).random() >= op.p:
                continue
            tasks.extend(_Task(pair, tag, narrowed) for tag, narrowed in variants)
    return tasks


def _read_pair(pair: Pair, rgb_map: RgbMap) -> tuple[np.ndarray, np.ndarray]:
    image, mask = png.read_image(pair.image), png.read_mask(pair.mask, rgb_map)
    if image.shape[:2] != mask.shape:
        raise DataError(
            f"{pair.image}: image is {image.shape[1]}x{image.shape[0]} px but its mask "
            f"{pair.mask.name} is {mask.shape[1]}x{mask.shape[0]}; re-export one of them"
        )
    return image, mask


def _write_outputs(tasks: list[_Task], stage: Path, seed: int, rgb: RgbMap, progress: ProgressFn) -> list:
    """Write every task's image/mask into ``stage/{images,masks}``; return manifest rows."""
    rows, cache = [], (None, None, None)
    for k, t in enumerate(tasks):
        if cache[0] != t.pair.name:
            cache = (t.pair.name, *_read_pair(t.pair, rgb))
        image, mask = cache[1], cache[2]
        rng = np.random.default_rng(_seed_key(seed, t.pair.name, t.tag))
        sampled = t.op.sample(rng, mask.shape)
        out_image, out_mask = t.op.apply(image, mask, sampled)
        out = f"{t.tag}{t.pair.name}.png"
        png.write_image(stage / "images" / out, out_image)
        try:
            png.write_mask(stage / "masks" / out, out_mask)
        except ValueError as exc:
            raise DataError(f"{t.pair.mask}: {exc}; masks may hold labels 0..3") from None
        params = json.dumps(sampled.as_dict(), sort_keys=True, separators=(",", ":"))
        rows.append((out, t.pair.image.name, t.op.name, t.tag, params))
        progress(k + 1, len(tasks), out)
    return rows


def _commit(stage: Path, rows: list, images_dir: Path, masks_dir: Path, previous: list[Path], manifest: Path) -> None:
    """Rename the staged outputs in, drop stale augmented files, then swap the manifest."""
    new = set()
    for out, *_ in rows:
        for sub, dest in (("images", images_dir), ("masks", masks_dir)):
            os.replace(stage / sub / out, dest / out)
            new.add(dest / out)
    for old in previous:
        if old not in new:
            old.unlink(missing_ok=True)
    os.replace(stage / MANIFEST_NAME, manifest)


def augment_dataset(
    dataset: Path,
    ops: Sequence[Op],
    seed: int,
    rgb_map: RgbMap = DEFAULT_RGB_MAP,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> AugmentResult:
    """Augment ``dataset/train`` with the validated ``ops``.

    Each op entry writes its variants for every source pair (for ``p < 1``: for a seeded
    fraction ``p`` of the sources). Earlier augmented outputs are replaced, never duplicated.
    Augmented files recorded in ``augment_manifest.csv`` (an earlier run) are always replaced.
    ``force``: also replace augmented-looking files in train that the manifest does not record
    (missing or corrupt manifest, e.g. the original project's released dataset, which already
    holds its own ``hflipped_``/``rotated_``/``distorted_`` copies); without it that is an
    OverwriteError and nothing is written.
    """
    dataset = Path(dataset)
    progress = progress or no_progress
    images_dir, masks_dir = _train_dirs(dataset)
    if not ops:
        raise DataError(
            "no augmentation operations configured; set augment.offline in the config, "
            "e.g. augment: {offline: [{name: hflip}, {name: rotate, params: {angles: [90]}}]}"
        )
    plan = _resolve_ops(ops)
    sources, previous = _scan(images_dir, masks_dir)
    if not sources:
        raise DataError(f"{images_dir}: no source image/mask pairs to augment; run 'stsseg prepare'")
    manifest = dataset / MANIFEST_NAME
    recorded = _recorded_outputs(manifest)
    unrecorded = [p for p in previous if p.name not in recorded]
    if unrecorded and not force:
        raise OverwriteError(
            f"{images_dir.parent}: {len(unrecorded)} augmented-looking file(s) (e.g. {unrecorded[0].name}) "
            f"that no {MANIFEST_NAME} records; pass --force to replace them"
        )
    tasks = _plan(sources, plan, seed)
    stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=dataset))
    try:
        (stage / "images").mkdir()
        (stage / "masks").mkdir()
        rows = _write_outputs(tasks, stage, seed, rgb_map, progress)
        with (stage / MANIFEST_NAME).open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(MANIFEST_COLUMNS)
            writer.writerows(rows)
        _commit(stage, rows, images_dir, masks_dir, previous, manifest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return AugmentResult(
        dataset=dataset,
        sources=len(sources),
        outputs=len(rows),
        per_op=dict(Counter(r[2] for r in rows)),
        replaced=sum(1 for p in previous if p.parent == images_dir),
        manifest=manifest,
        untouched=tuple(s for s in ("valid", "test") if (dataset / s).is_dir()),
    )


def augment(*, cfg: Config, force: bool = False, progress: ProgressFn | None = None) -> AugmentResult:
    """``stsseg augment``: ``augment.offline`` ops over ``data.dataset``'s train split."""
    return augment_dataset(
        Path(cfg.data.dataset), cfg.augment.offline, cfg.augment.seed, cfg.data.rgb_pairs, force, progress
    )
