"""The dataset layout ``<root>/{train,valid,test}/{images,masks}/<name>.png``, plus the augmented
batch ``<root>/augmented/{images,masks}`` (train patients only).

Images and masks pair by base name (sorted); an unpaired file is an error that lists them,
never a silent mis-pairing by list position (the original's glob-order pairing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sts_seg.errors import DataError
from sts_seg.io.png import IMAGE_SUFFIXES

#: the folder of ``stsseg augment``'s outputs (train patients only), beside the splits
AUGMENTED = "augmented"


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


def folder_pairs(folder: Path) -> list[Pair]:
    """Sorted pairs of ``folder/{images,masks}``; unpaired files are an error listing them."""
    images, masks = list_images(Path(folder) / "images"), list_images(Path(folder) / "masks")
    lonely = sorted(set(images) ^ set(masks))
    if lonely:
        shown = ", ".join(lonely[:5]) + (f" and {len(lonely) - 5} more" if len(lonely) > 5 else "")
        raise DataError(f"{folder}: {len(lonely)} image(s)/mask(s) without a partner: {shown}; add or remove them")
    return [Pair(n, images[n], masks[n]) for n in sorted(images)]


def list_pairs(root: Path, split: str) -> list[Pair]:
    """Sorted image/mask pairs of ``split``; unpaired files are an error listing them."""
    split_dirs(root, split)
    return folder_pairs(Path(root) / split)


def training_pairs(root: Path) -> list[Pair]:
    """The train split's pairs, plus the augmented batch (``<root>/augmented``) if there is one."""
    pairs = list_pairs(root, "train")
    if (Path(root) / AUGMENTED).is_dir():
        pairs += folder_pairs(Path(root) / AUGMENTED)
    return pairs
