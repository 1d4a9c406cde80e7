"""Report tables: CSV with NaN as empty cells, strict JSON (NaN -> null, dataclasses as dicts)."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _cell(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return v


def write_rows(path: Path, rows: Sequence[Mapping[str, Any]], first: Sequence[str] = ()) -> None:
    """CSV with ``first`` columns leading, then the rest in row order; NaN as empty cells."""
    keys = list(first) + [k for k in (rows[0] if rows else {}) if k not in first]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows({k: _cell(r.get(k)) for k in keys} for r in rows)


def json_safe(obj: Any) -> Any:
    """Plain JSON values: dataclasses as dicts, NaN as None, numpy scalars as Python numbers."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return json_safe(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, obj: Any) -> None:
    """JSON with NaN written as null (strict JSON)."""
    path.write_text(json.dumps(json_safe(obj), indent=2, allow_nan=False))


def write_seed_csv(path: Path, pairs: Sequence[tuple[str, float]]) -> None:
    """The original project's ``evaluation.csv``: no header, ``metric,value`` lines rounded to 4 places."""
    path.write_text("".join(f"{k},{'' if math.isnan(v) else round(v, 4)}\n" for k, v in pairs))
