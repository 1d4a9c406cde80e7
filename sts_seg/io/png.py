"""PNG images and masks.

Images are 8-bit ``(H, W, C)`` arrays (C = 1 or 3). Masks are ``(H, W)`` uint8 class indices,
written as palette PNGs (index 0 black, 1 yellow), so they look like the original project's
masks in any viewer and still decode to indices. Readers also accept RGB masks (through an
``rgb_map``) and single-channel index masks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from sts_seg.core.rgb import ColourMap
from sts_seg.errors import DataError
from sts_seg.io.reading import reading

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: zlib level of written PNGs: 1 encodes 2.5x faster than PIL's default 6 for files ~25 % larger
COMPRESS_LEVEL = 1
#: palette of written masks: 0 black, 1 yellow (the original's tumour colour), 2 green, 3 red
MASK_PALETTE: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (255, 255, 0), (0, 255, 0), (255, 0, 0))


def _open(path: Path) -> Image.Image:
    """Open and decode an image; every PIL error (unknown format, truncated data, a header that
    claims an enormous size: ``DecompressionBombError``) is a DataError naming the file."""
    with reading(path, "image", "re-export or remove it"):
        img = Image.open(path)
        img.load()
        return img


def read_image(path: Path) -> np.ndarray:
    """Read an image as uint8 ``(H, W, C)``: grey stays 1 channel, colour becomes RGB."""
    img = _open(Path(path))
    if img.mode in ("L", "I;16", "I", "F"):
        arr = np.asarray(img)
        if arr.dtype != np.uint8:
            arr = np.clip(arr.astype(np.float64) / max(float(arr.max()), 1.0) * 255, 0, 255)
            arr = arr.round().astype(np.uint8)
        return arr[..., None]
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def write_image(path: Path, image: np.ndarray) -> None:
    """Write uint8 ``(H, W)`` / ``(H, W, 1)`` as grey PNG, ``(H, W, 3)`` as RGB PNG."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"write_image expects uint8, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    Image.fromarray(arr).save(path, compress_level=COMPRESS_LEVEL)


def write_mask(path: Path, mask: np.ndarray) -> None:
    """Write uint8 class indices ``(H, W)`` as a palette PNG (0 black, 1 yellow)."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2D (H, W), got shape {arr.shape}")
    if arr.size and int(arr.max()) >= len(MASK_PALETTE):
        raise ValueError(f"mask label {int(arr.max())} has no palette colour")
    img = Image.fromarray(arr.astype(np.uint8), mode="P")
    img.putpalette([c for rgb in MASK_PALETTE for c in rgb])
    img.save(path, compress_level=COMPRESS_LEVEL)


def read_mask(path: Path, colours: ColourMap = ColourMap()) -> np.ndarray:
    """Read a palette, index (grey) or RGB mask as uint8 ``(H, W)`` class indices.

    A grey mask holding only 0 and 255 is read as 0/1 (a common binary export). RGB masks go
    through ``colours`` (an unmapped colour is a DataError naming the file, in ``exact`` mode).
    """
    img = _open(Path(path))
    if img.mode in ("P", "1"):
        return np.asarray(img.convert("L") if img.mode == "1" else img, dtype=np.uint8) // (
            255 if img.mode == "1" else 1
        )
    if img.mode in ("L", "I;16", "I"):
        arr = np.asarray(img)
        if set(np.unique(arr).tolist()) <= {0, 255}:
            return (arr > 0).astype(np.uint8)
        return arr.astype(np.uint8)
    try:
        return colours.labels(np.asarray(img.convert("RGB")))
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None
