"""Optional dependencies: a command that needs one that is not installed says which extra to add."""

from __future__ import annotations

import importlib.util

from sts_seg.errors import ConfigError

#: module -> the extra that installs it
EXTRAS = {"tensorflow": "train", "keras": "train", "onnxruntime": "onnx", "tf2onnx": "export", "ray": "ray"}


def require(module: str, what: str) -> None:
    """Raise a one-line :class:`ConfigError` if ``module`` cannot be imported (``what`` needs it)."""
    if importlib.util.find_spec(module) is None:
        extra = EXTRAS.get(module, "all")
        raise ConfigError(f"{what} needs {module}, which is not installed: pip install 'stsseg[{extra}]'")
