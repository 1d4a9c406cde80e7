"""``manifest.csv`` of a prepared dataset: one row per slice, with its way back to the native grid."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from sts_seg.core.geometry import Placement
from sts_seg.errors import DataError

MANIFEST = "manifest.csv"


@dataclass(frozen=True)
class SliceRow:
    """One exported slice. ``image``/``mask`` are paths relative to the dataset root; ``native_*``
    is the grid the slice was cut from; the canvas fields say how it sits on the PNG."""

    split: str
    case: str
    patient: str
    z: int
    image: str
    mask: str
    tumour_pixels: int
    native_z: int
    native_h: int
    native_w: int
    geometry: str
    canvas_h: int
    canvas_w: int
    offset_y: int
    offset_x: int

    @property
    def name(self) -> str:
        """Base file name shared by image and mask, e.g. ``STS_005_110``."""
        return Path(self.image).stem

    @property
    def placement(self) -> Placement:
        return Placement(
            self.geometry,  # type: ignore[arg-type]
            self.native_h,
            self.native_w,
            self.canvas_h,
            self.canvas_w,
            self.offset_y,
            self.offset_x,
        )


_FIELDS = [f.name for f in fields(SliceRow)]
_INTS = {f.name for f in fields(SliceRow) if f.type in ("int", int)}


def write_manifest(path: Path, rows: list[SliceRow]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=_FIELDS)
        w.writeheader()
        w.writerows(asdict(r) for r in rows)


def read_manifest(root: Path) -> list[SliceRow]:
    """Rows of ``<root>/manifest.csv``; a missing, foreign or damaged file is a DataError naming it."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DataError(
            f"{path}: no manifest; this dataset was not made by 'stsseg prepare' "
            "(needed to restack slices into volumes)"
        )
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = set(_FIELDS) - set(reader.fieldnames or [])
            if missing:
                raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}; re-run 'stsseg prepare'")
            return [_row(r) for r in reader]
    except (ValueError, TypeError, csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: damaged ({exc.__class__.__name__}: {exc}); re-run 'stsseg prepare'") from None


def _row(r: dict[str, str | None]) -> SliceRow:
    """One CSV record -> SliceRow; a short (truncated) record has None cells -> TypeError/ValueError."""
    if None in r.values() or None in r:
        raise ValueError(f"row {r.get('image') or '?'} has {len(r)} cells, expected {len(_FIELDS)} (truncated?)")
    return SliceRow(**{k: int(r[k]) if k in _INTS else r[k] for k in _FIELDS})  # type: ignore[arg-type]
