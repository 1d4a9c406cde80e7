"""The dataset layout ``<root>/{train,valid,test}/{images,masks}/<name>.png``.

Images and masks pair by base name (sorted); an unpaired file is an error that lists them,
never a silent mis-pairing by list position (the original's glob-order pairing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sts_seg.errors import DataError
from sts_seg.io.png import IMAGE_SUFFIXES


@dataclass(frozen=True)
class Pair:
    """One image/mask pair; ``name`` is the shared base name without suffix."""

    name: str
    image: Path
    mask: Path


def list_images(folder: Path) -> dict[str, Path]:
    """``{stem: path}`` of the image files in ``folder`` (png, jpg, bmp, tif), sorted by name."""
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    out: dict[str, Path] = {}
    for p in files:
        if p.stem in out:
            raise DataError(f"{folder}: two files share the name {p.stem} ({out[p.stem].name}, {p.name}); keep one")
        out[p.stem] = p
    return out


def split_dirs(root: Path, split: str) -> tuple[Path, Path]:
    """``(images_dir, masks_dir)`` of a split, checked to exist."""
    images, masks = Path(root) / split / "images", Path(root) / split / "masks"
    for d in (images, masks):
        if not d.is_dir():
            raise DataError(
                f"{d}: folder not found; a dataset needs {{train,valid,test}}/{{images,masks}} (run 'stsseg prepare')"
            )
    return images, masks


def list_pairs(root: Path, split: str) -> list[Pair]:
    """Sorted image/mask pairs of ``split``; unpaired files are an error listing them."""
    images_dir, masks_dir = split_dirs(root, split)
    images, masks = list_images(images_dir), list_images(masks_dir)
    lonely = sorted(set(images) ^ set(masks))
    if lonely:
        shown = ", ".join(lonely[:5]) + (f" and {len(lonely) - 5} more" if len(lonely) > 5 else "")
        raise DataError(
            f"{Path(root) / split}: {len(lonely)} image(s)/mask(s) without a partner: {shown}; add or remove them"
        )
    return [Pair(n, images[n], masks[n]) for n in sorted(images)]
