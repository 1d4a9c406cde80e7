"""User-facing errors: one line that names the file/patient/key and says how to fix it."""

from __future__ import annotations


class StsSegError(Exception):
    """Base class for errors caused by user input; the CLI prints the message and exits 1."""


class ConfigError(StsSegError):
    """A YAML config or a ``--set`` override is invalid."""


class DataError(StsSegError):
    """An input file (HDF5, PNG, manifest, dataset folder) is missing or malformed."""


class OverwriteError(StsSegError):
    """An output already exists and ``--force`` was not given."""


class ModelError(StsSegError):
    """A model file cannot be loaded or does not fit the data."""
