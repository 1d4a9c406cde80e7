"""Loading: a YAML file (or a shipped config by name) merged over the defaults, ``--set``
overrides, typed CLI values, one validation; and writing the resolved config back (what a run
actually used)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sts_seg.config.root import Config
from sts_seg.config.shipped import resolve_config_path
from sts_seg.errors import ConfigError


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = raw
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: '{key}' is not a section; check the key path")
        node = child
    node[keys[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``"train.epochs=3"`` -> ``("train.epochs", 3)``; the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected dotted.key=value, e.g. --set train.epochs=3")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text!r}: value is not valid YAML ({exc.__class__.__name__})") from None


def format_validation_error(exc: ValidationError, source: str) -> str:
    """Every problem as ``dotted.path: message (got VALUE)``, joined into one line."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        got_txt = "" if isinstance(got, dict) else f" (got {got!r})"
        parts.append(f"{loc}: {msg}{got_txt}")
    n = len(parts)
    return f"{source}: {n} problem{'s' * (n != 1)}: " + " | ".join(parts)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing, unreadable or malformed file is a ConfigError naming it."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; pass an existing YAML file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the config as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc}); check the file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML; fix the syntax") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections (data:, model:, ...)")
    return raw


def load_config(
    path: Path | str | None = None,
    overrides: Sequence[str] = (),
    values: Mapping[str, Any] | None = None,
) -> Config:
    """Load ``path`` (or the defaults), apply ``--set`` ``overrides`` then typed ``values``
    (``{"train.run_dir": Path(...)}``, from CLI options; None values are skipped), validate once.

    ``path`` is a YAML file or the name of a shipped config (``sts``): an existing file wins."""
    if path is not None:
        path = resolve_config_path(path)
    raw = read_yaml(path) if path is not None else {}
    for text in overrides:
        _set_dotted(raw, *parse_override(text))
    for key, value in (values or {}).items():
        if value is not None:
            _set_dotted(raw, key, value)
    source = str(path) if path is not None else "config"
    if overrides:
        source += " + --set"
    if any(v is not None for v in (values or {}).values()):
        source += " + options"
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """A plain, YAML-safe dict (paths as strings, tuples as lists)."""
    return cfg.model_dump(mode="json")


def dump_config(cfg: Config, path: Path) -> None:
    """Write the resolved config as YAML (what a run actually used)."""
    path.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
