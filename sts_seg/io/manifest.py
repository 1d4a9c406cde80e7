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
    """One exported slice. ``image``/``mask`` are paths relative to the dataset root."""

    split: str
    patient: str
    z: int
    image: str
    mask: str
    tumour_pixels: int
    native_z: int
    native_h: int
    native_w: int
    geometry: str
    size: int
    offset_y: int
    offset_x: int

    @property
    def name(self) -> str:
        """Base file name shared by image and mask, e.g. ``STS_005_110``."""
        return Path(self.image).stem

    @property
    def placement(self) -> Placement:
        return Placement(self.geometry, self.native_h, self.native_w, self.size, self.offset_y, self.offset_x)  # type: ignore[arg-type]


_FIELDS = [f.name for f in fields(SliceRow)]
_INTS = {f.name for f in fields(SliceRow) if f.type in ("int", int)}


def write_manifest(path: Path, rows: list[SliceRow]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=_FIELDS)
        w.writeheader()
        w.writerows(asdict(r) for r in rows)


def read_manifest(root: Path) -> list[SliceRow]:
    """Rows of ``<root>/manifest.csv``; a missing or foreign file is a DataError naming it."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DataError(
            f"{path}: no manifest; this dataset was not made by 'stsseg prepare' "
            "(needed to restack slices into volumes)"
        )
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(_FIELDS) - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}; re-run 'stsseg prepare'")
        try:
            return [SliceRow(**{k: int(r[k]) if k in _INTS else r[k] for k in _FIELDS}) for r in reader]
        except ValueError as exc:
            raise DataError(f"{path}: malformed row ({exc}); re-run 'stsseg prepare'") from exc
