"""Optional dependencies, and the one place TensorFlow and Keras are imported.

A command that needs a missing extra says which one to install (:func:`require`).

:func:`import_tensorflow` and :func:`import_keras` import them quietly. TensorFlow 2.21 logs its banners
(``oneDNN custom operations are on``, preceded by absl's ``All log messages before
absl::InitializeLog()``) from static initialisers while its shared library loads, before
``TF_CPP_MIN_LOG_LEVEL`` is read, so no environment variable keeps them off stderr; oneDNN is on
by default on CPUs with AVX-512. The import therefore runs with file descriptor 2 captured, and the
captured absl record lines below ``TF_CPP_MIN_LOG_LEVEL`` (default 2: INFO and WARNING) are
dropped; every other line is written back to stderr. ``TF_CPP_MIN_LOG_LEVEL=0`` shows them all.
``TF_ENABLE_ONEDNN_OPTS`` is left as the user set it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import tempfile
import threading
from types import ModuleType

from sts_seg.errors import ConfigError

#: module -> the extra that installs it
EXTRAS = {"tensorflow": "train", "keras": "train", "onnxruntime": "onnx", "tf2onnx": "export", "ray": "ray"}

#: an absl/TF log record: ``I0000 00:00:1796653737.286543    7558 port.cc:153] text``
_RECORD = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] ")
_PRE_INIT = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
_lock = threading.RLock()


def require(module: str, what: str) -> None:
    """Raise a one-line :class:`ConfigError` if ``module`` cannot be imported (``what`` needs it)."""
    if importlib.util.find_spec(module) is None:
        extra = EXTRAS.get(module, "all")
        raise ConfigError(f"{what} needs {module}, which is not installed: pip install 'stsseg[{extra}]'")


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ INFO/WARNING lines off stderr unless the user chose a level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def min_log_level() -> int:
    """The ``TF_CPP_MIN_LOG_LEVEL`` in effect (0 = all, 1 = no INFO, 2 = no WARNING, 3 = no ERROR)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    except ValueError:
        return 2


def filter_banners(text: str, level: int) -> str:
    """``text`` less the absl record lines below ``level`` and, from level 1 on, absl's
    pre-initialisation notice. Any other line is kept, so nothing but those records is hidden."""
    kept = []
    for line in text.splitlines(keepends=True):
        record = _RECORD.match(line)
        if (record and _SEVERITY[record.group(1)] < level) or (level >= 1 and line.rstrip("\r\n") == _PRE_INIT):
            continue
        kept.append(line)
    return "".join(kept)


def _quiet_import(name: str) -> ModuleType:
    """``import name`` with fd 2 captured and filtered by :func:`filter_banners`."""
    if name in sys.modules:
        return sys.modules[name]
    quiet_tensorflow()
    with _lock:
        if sys.stderr is not None:
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no stderr to protect
            return importlib.import_module(name)
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                return importlib.import_module(name)
            finally:
                if sys.stderr is not None:
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                rest = filter_banners(captured.read().decode(errors="replace"), min_log_level())
                if rest and sys.stderr is not None:
                    sys.stderr.write(rest)
                    sys.stderr.flush()


def import_tensorflow() -> ModuleType:
    """The ``tensorflow`` module, imported without its load-time banners."""
    require("tensorflow", "this command")
    return _quiet_import("tensorflow")


def import_keras() -> ModuleType:
    """The ``keras`` module (TensorFlow backend), imported without TensorFlow's banners."""
    import_tensorflow()
    return _quiet_import("keras")
