"""The configs shipped inside the package (``sts_seg/configs/*.yaml``, the repository's top-level
``configs/``): listed, shown verbatim, and found by name (``sts`` is ``configs/sts.yaml``)."""

from __future__ import annotations

from pathlib import Path

from sts_seg.errors import ConfigError

#: the package-data folder; a wheel installs it next to the modules (pyproject: package-data)
FOLDER = Path(__file__).resolve().parents[1] / "configs"
SUFFIX = ".yaml"


def shipped_names() -> list[str]:
    """Names of the shipped configs, sorted (file names without ``.yaml``)."""
    return sorted(p.stem for p in FOLDER.glob(f"*{SUFFIX}") if p.is_file())


def _names_hint() -> str:
    names = shipped_names()
    return f"shipped configs: {', '.join(names)} (stsseg config list)" if names else "no shipped configs found"


def shipped_path(name: str) -> Path | None:
    """The file of the shipped config ``name`` (``sts`` or ``sts.yaml``), or None."""
    stem = name.removesuffix(SUFFIX)
    if not stem or "/" in name or "\\" in name or stem not in shipped_names():
        return None
    return FOLDER / f"{stem}{SUFFIX}"


def shipped_text(name: str) -> str:
    """The shipped config ``name`` verbatim (comments included); unknown -> ConfigError listing the names."""
    path = shipped_path(name)
    if path is None:
        raise ConfigError(f"{name!r} is not a shipped config; {_names_hint()}")
    return path.read_text(encoding="utf-8")


def description(text: str) -> str:
    """The first comment line of a YAML text without its ``#`` (empty when it opens with no comment)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        return stripped.lstrip("#").strip() if stripped.startswith("#") else ""
    return ""


def shipped_configs() -> dict[str, str]:
    """``{name: one-line description}`` of every shipped config, sorted by name."""
    return {name: description(shipped_text(name)) for name in shipped_names()}


def resolve_config_path(path: Path | str) -> Path:
    """Where a config argument points: an existing file wins; else a shipped config of that name;
    else a ConfigError (one line) that lists the shipped names."""
    given = Path(path)
    if given.is_file():
        return given
    found = shipped_path(str(path))
    if found is not None:
        return found
    if given.is_dir():
        raise ConfigError(f"{given}: is a folder, not a YAML config file; {_names_hint()}")
    hint = _names_hint()
    if shipped_path(given.name) is not None:
        hint = f"the shipped one goes by name: {given.stem} (stsseg config show {given.stem} > {given.name}); {hint}"
    raise ConfigError(f"{given}: config file not found and not a shipped config name; {hint}")
