"""What a resumed run changed: ``config_changes.json`` keeps, per resume, the epoch it resumed at
and every setting that differs from the run's previous ``config.yaml``. The architecture cannot
change on resume (the weights are the checkpoint's)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sts_seg.config import Config, config_to_dict, read_yaml
from sts_seg.errors import ConfigError
from sts_seg.io.reading import read_json

CHANGES = "config_changes.json"
#: settings that may differ on resume without being a change to the run (where it lives)
LOCATIONS = ("data.dataset", "train.run_dir")


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _truncate_history(path: Path, rows: int) -> None:
    """Keep the header and the first ``rows`` epochs of a CSVLogger file."""
    if not path.is_file():
        return
    with path.open(newline="") as fh:
        lines = list(csv.reader(fh))
    if len(lines) > rows + 1:
        with path.open("w", newline="") as fh:
            csv.writer(fh).writerows(lines[: rows + 1])


def record_resume(run: Path, cfg: Config, epoch: int) -> list[str]:
    """Compare ``cfg`` with the run's config.yaml, refuse architecture changes, log the rest; notes."""
    old = flatten(read_yaml(run / "config.yaml")) if (run / "config.yaml").is_file() else {}
    new = flatten(config_to_dict(cfg))
    changed = {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v and k not in LOCATIONS}
    arch = sorted(k for k in changed if k.startswith("model."))
    if arch:
        k = arch[0]
        raise ConfigError(
            f"{k} is {changed[k][1]!r} but the run was trained with {changed[k][0]!r}; "
            "a resumed run keeps its architecture (start a new run with --force)"
        )
    _truncate_history(run / "history.csv", epoch)
    if not changed:
        return []
    log_path = run / CHANGES
    log = read_json(log_path, "config change log") if log_path.is_file() else []
    log.append({"resumed_at_epoch": epoch, "changes": changed})
    log_path.write_text(json.dumps(log, indent=2))
    return [
        f"resumed at epoch {epoch} with changed settings: " + ", ".join(f"{k}={v[1]!r}" for k, v in changed.items())
    ]
