"""PNG images and masks.

Images are 8-bit ``(H, W, C)`` arrays (C = 1 or 3). Masks are ``(H, W)`` uint8 class indices,
written as palette PNGs (index 0 black, 1 yellow), so they look like the original project's
masks in any viewer and still decode to indices. Readers also accept RGB masks (through an
``rgb_map``) and single-channel index masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from sts_seg.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: palette of written masks: 0 black, 1 yellow (the original's tumour colour), 2 green, 3 red
MASK_PALETTE: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (255, 255, 0), (0, 255, 0), (255, 0, 0))
DEFAULT_RGB_MAP: tuple[tuple[tuple[int, int, int], int], ...] = (((0, 0, 0), 0), ((255, 255, 0), 1))


def _open(path: Path) -> Image.Image:
    try:
        img = Image.open(path)
        img.load()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: not a readable image ({exc}); re-export or remove it") from exc
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
    Image.fromarray(arr).save(path)


def write_mask(path: Path, mask: np.ndarray) -> None:
    """Write uint8 class indices ``(H, W)`` as a palette PNG (0 black, 1 yellow)."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2D (H, W), got shape {arr.shape}")
    if arr.size and int(arr.max()) >= len(MASK_PALETTE):
        raise ValueError(f"mask label {int(arr.max())} has no palette colour")
    img = Image.fromarray(arr.astype(np.uint8), mode="P")
    img.putpalette([c for rgb in MASK_PALETTE for c in rgb])
    img.save(path)


def rgb_to_labels(rgb: np.ndarray, rgb_map: Sequence[tuple[Sequence[int], int]]) -> np.ndarray:
    """Nearest colour of ``rgb_map`` for each pixel of ``(H, W, 3)`` -> ``(H, W)`` labels.

    This is the original project's rule (argmin of squared RGB distance, map order breaks ties),
    so interpolated colours are thresholded half way.
    """
    colors = np.asarray([c for c, _ in rgb_map], dtype=np.int32)
    labels = np.asarray([lab for _, lab in rgb_map], dtype=np.uint8)
    diff = rgb[..., None, :3].astype(np.int32) - colors[None, None]
    return labels[np.argmin((diff * diff).sum(-1), axis=-1)]


def read_mask(path: Path, rgb_map: Sequence[tuple[Sequence[int], int]] = DEFAULT_RGB_MAP) -> np.ndarray:
    """Read a palette, index (grey) or RGB mask as uint8 ``(H, W)`` class indices.

    A grey mask holding only 0 and 255 is read as 0/1 (a common binary export).
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
    return rgb_to_labels(np.asarray(img.convert("RGB")), rgb_map)
