"""``stsseg augment``: augmented copies of the TRAIN split, written as one batch.

Works on any ``{train,valid,test}/{images,masks}`` tree (``stsseg prepare`` output or the
original project's released dataset, whose masks are black/yellow RGB). Only ``train`` is read;
nothing in ``train``, ``valid`` or ``test`` is ever written. Sources are the train pairs whose
names are not augmented names, so an augmented file is never augmented again.

Outputs go to ``<dataset>/augmented/{images,masks}`` with ``augment_manifest.csv``, named as the
original names them (``hflipped_<name>``, ...). The folder is built beside its final path and
renamed into place in one step: it is complete or absent, never a mix. An existing
``augmented/`` (an earlier batch or anything else) is replaced only with ``force``, and stays
byte-identical when refused. Training reads ``train`` plus ``augmented``.

Determinism: every (source, output) pair draws from
``np.random.default_rng([seed, crc32(source), crc32(output prefix)])``, so a run is reproducible
for a seed, independent of op order, and running it twice writes the same pixels.
"""

from __future__ import annotations

import csv
import json
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sts_seg.augment.ops import Op, is_augmented_name
from sts_seg.config import Config
from sts_seg.core.rgb import ColourMap
from sts_seg.errors import ConfigError, DataError, OverwriteError
from sts_seg.io import png
from sts_seg.io.atomic import staged_dir
from sts_seg.io.layout import AUGMENTED, Pair, list_images
from sts_seg.progress import ProgressFn, no_progress

MANIFEST_NAME = "augment_manifest.csv"
MANIFEST_COLUMNS = ("output", "source", "op", "variant", "params")


@dataclass(frozen=True)
class AugmentResult:
    """What a run did. ``replaced``: an existing ``augmented/`` was replaced (``force``); ``kept_in_train``:
    augmented-looking files already in train/ (kept as they are, not augmented again)."""

    dataset: Path
    sources: int
    outputs: int
    per_op: dict[str, int]
    replaced: bool
    manifest: Path
    kept_in_train: tuple[str, ...]


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


def _is_batch(folder: Path) -> bool:
    """True when ``folder`` holds an augmentation batch written by stsseg (its manifest header)."""
    try:
        with (folder / MANIFEST_NAME).open(newline="") as fh:
            return tuple(next(csv.reader(fh), ())) == MANIFEST_COLUMNS
    except (OSError, UnicodeDecodeError, csv.Error):
        return False


def _scan(images_dir: Path, masks_dir: Path) -> tuple[list[Pair], list[str]]:
    """Source pairs (non-augmented names) and the augmented-looking names already in train."""
    images, masks = list_images(images_dir), list_images(masks_dir)
    kept = sorted(n for n in images if is_augmented_name(n))
    src_img = {n: p for n, p in images.items() if not is_augmented_name(n)}
    src_mask = {n: p for n, p in masks.items() if not is_augmented_name(n)}
    lonely = sorted(set(src_img) ^ set(src_mask))
    if lonely:
        shown = ", ".join(lonely[:5]) + (f" and {len(lonely) - 5} more" if len(lonely) > 5 else "")
        raise DataError(
            f"{images_dir.parent}: {len(lonely)} image(s)/mask(s) without a partner: {shown}; add or remove them"
        )
    return [Pair(n, src_img[n], src_mask[n]) for n in sorted(src_img)], kept


def _plan(sources: list[Pair], plan: list, seed: int) -> list[_Task]:
    tasks = []
    for pair in sources:
        for i, (op, variants) in enumerate(plan):
            if op.p < 1.0 and np.random.default_rng(_seed_key(seed, pair.name, f"p{i}")).random() >= op.p:
                continue
            tasks.extend(_Task(pair, tag, narrowed) for tag, narrowed in variants)
    return tasks


def _read_pair(pair: Pair, colours: ColourMap) -> tuple[np.ndarray, np.ndarray]:
    image, mask = png.read_image(pair.image), png.read_mask(pair.mask, colours)
    if image.shape[:2] != mask.shape:
        raise DataError(
            f"{pair.image}: image is {image.shape[1]}x{image.shape[0]} px but its mask "
            f"{pair.mask.name} is {mask.shape[1]}x{mask.shape[0]}; re-export one of them"
        )
    return image, mask


def _write_outputs(tasks: list[_Task], stage: Path, seed: int, rgb: ColourMap, progress: ProgressFn) -> list:
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


def augment_dataset(
    dataset: Path,
    ops: Sequence[Op],
    seed: int,
    colours: ColourMap = ColourMap(),
    force: bool = False,
    progress: ProgressFn | None = None,
) -> AugmentResult:
    """Write the augmented batch of ``dataset/train`` for the validated ``ops``.

    Each op entry writes its variants for every source pair (for ``p < 1``: for a seeded
    fraction ``p`` of the sources). An existing ``augmented/`` (an earlier batch or a foreign
    folder) is replaced only with ``force``; without it, OverwriteError before anything is written.
    """
    dataset = Path(dataset)
    progress = progress or no_progress
    images_dir, masks_dir = _train_dirs(dataset)
    if not ops:
        raise DataError(
            "no augmentation operations configured; set augment.offline in the config, "
            "e.g. augment: {offline: [{name: hflip}, {name: rotate, angles: [90]}]}"
        )
    plan = _resolve_ops(ops)
    sources, kept = _scan(images_dir, masks_dir)
    if not sources:
        raise DataError(f"{images_dir}: no source image/mask pairs to augment; run 'stsseg prepare'")
    out = dataset / AUGMENTED
    replaced = out.exists()
    if replaced and not force:
        held = "an earlier augmentation batch" if out.is_dir() and _is_batch(out) else f"no {MANIFEST_NAME}"
        raise OverwriteError(f"{out}: exists and holds {held}; pass --force to replace it")
    tasks = _plan(sources, plan, seed)
    with staged_dir(out, force=True, what="augmentation folder") as stage:
        (stage / "images").mkdir()
        (stage / "masks").mkdir()
        rows = _write_outputs(tasks, stage, seed, colours, progress)
        with (stage / MANIFEST_NAME).open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(MANIFEST_COLUMNS)
            writer.writerows(rows)
    return AugmentResult(
        dataset=dataset,
        sources=len(sources),
        outputs=len(rows),
        per_op=dict(Counter(r[2] for r in rows)),
        replaced=replaced,
        manifest=out / MANIFEST_NAME,
        kept_in_train=tuple(kept),
    )


def augment(*, cfg: Config, force: bool = False, progress: ProgressFn | None = None) -> AugmentResult:
    """``stsseg augment``: ``augment.offline`` ops over ``data.dataset``'s train split."""
    return augment_dataset(
        Path(cfg.data.dataset), cfg.augment.offline, cfg.augment.seed, cfg.data.colours, force, progress
    )
