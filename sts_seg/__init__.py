"""stsseg: soft-tissue sarcoma segmentation in FDG-PET/CT."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stsseg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
