"""TensorFlow is imported in one place (sts_seg.runtime), quietly; the fast tier refuses it."""

from __future__ import annotations

import ast
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from sts_seg.runtime import filter_banners

pytest_plugins = ["pytester"]

PACKAGE = Path(__file__).resolve().parents[1] / "sts_seg"
HEAVY = ("tensorflow", "keras", "tf2onnx")  # tf2onnx imports TensorFlow
#: TensorFlow 2.21's load-time lines on an AVX-512 CPU (oneDNN on) with TF_CPP_MIN_LOG_LEVEL=2
BANNERS = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796653737.286543    7558 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results.\n"
)


def tf_imports(source: str) -> list[int]:
    """Line numbers of the imports of TensorFlow/Keras in ``source``, at any depth, except under
    ``if TYPE_CHECKING:`` (which never runs)."""
    lines: list[int] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for child in node.orelse:
                visit(child)
            return
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("importlib.import_module", "__import__"):
            names = [arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        if any(name.partition(".")[0] in HEAVY for name in names):
            lines.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return lines


def test_the_import_finder_sees_every_kind_of_import():
    source = (
        "from typing import TYPE_CHECKING\n"  # 1
        "import numpy, keras\n"  # 2
        "from keras import ops\n"  # 3
        "if TYPE_CHECKING:\n"  # 4
        "    import tensorflow as tf\n"  # 5: never runs
        "def f():\n"  # 6
        "    import tensorflow.python.ops as o\n"  # 7
        "    return importlib.import_module('tf2onnx')\n"  # 8
        "from sts_seg.runtime import import_keras\n"  # 9
        "import kerastuner\n"  # 10: another package
    )
    assert tf_imports(source) == [2, 3, 7, 8]


def test_only_the_runtime_module_imports_tensorflow():
    found = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "runtime.py" or path.parent != PACKAGE
        if (lines := tf_imports(path.read_text()))
    }
    assert found == {}, f"import TensorFlow/Keras through sts_seg.runtime.import_tensorflow/import_keras: {found}"


def test_absl_records_below_the_level_are_dropped():
    assert filter_banners(BANNERS, 2) == ""
    assert filter_banners(BANNERS, 1) == ""
    assert filter_banners(BANNERS, 0) == BANNERS  # TF_CPP_MIN_LOG_LEVEL=0: the user asked for all of it


def test_every_other_line_on_stderr_is_kept():
    warning = "W0000 00:00:1796653737.4    7558 gpu.cc:9] no GPU\n"
    error = "E0000 00:00:1796653737.5    7558 env.cc:1] cannot open /x\n"
    other = "Traceback (most recent call last):\nImportError: libfoo.so\n"
    text = BANNERS + warning + other + error + "a last line without a newline"
    assert filter_banners(text, 2) == other + error + "a last line without a newline"
    assert filter_banners(text, 1) == warning + other + error + "a last line without a newline"
    assert filter_banners(text, 3) == other + "a last line without a newline"


def test_the_quiet_import_filters_what_the_module_writes_to_fd_2(tmp_path, monkeypatch, capfd):
    from sts_seg import runtime

    (tmp_path / "stsseg_loud_module.py").write_text(
        f"import os\nos.write(2, {BANNERS!r}.encode())\nos.write(2, b'a real problem\\n')\nVALUE = 7\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delitem(sys.modules, "stsseg_loud_module", raising=False)
    assert runtime._quiet_import("stsseg_loud_module").VALUE == 7
    assert capfd.readouterr().err == "a real problem\n"
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"  # set before the import, for TensorFlow's later lines


def _stderr(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    done = subprocess.run([sys.executable, "-c", code], env=base | env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.tf
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="oneDNN banner forced on x86 only")
def test_tensorflow_prints_banners_that_the_runtime_import_drops():
    plain = _stderr("import tensorflow", TF_ENABLE_ONEDNN_OPTS="1")
    assert "oneDNN custom operations are on" in plain  # what the CLI must not show (the control)
    assert "absl::InitializeLog" in plain
    code = "import sys; from sts_seg.runtime import import_keras; print(import_keras().__name__, file=sys.stderr)"
    assert _stderr(code, TF_ENABLE_ONEDNN_OPTS="1") == "keras\n"
    assert "oneDNN custom operations are on" in _stderr(code, TF_ENABLE_ONEDNN_OPTS="1", TF_CPP_MIN_LOG_LEVEL="0")


def test_the_fast_tier_fails_a_test_that_imports_tensorflow(pytester: pytest.Pytester):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(
        test_heavy=(
            "import importlib.util\n"
            "import pytest\n"
            "def test_unmarked():\n"
            "    import keras\n"
            "@pytest.mark.tf\n"
            "def test_marked():\n"
            "    import keras\n"
            "def test_looking_up_is_fine():\n"
            "    assert importlib.util.find_spec('tensorflow') is not None\n"
        )
    )
    fast = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-m", "not tf and not slow")
    fast.assert_outcomes(passed=1, failed=1, deselected=1)
    fast.stdout.fnmatch_lines(["*test_heavy.py::test_unmarked imports keras*mark the test @pytest.mark.tf*"])
    pytester.makepyfile(test_top="import tensorflow\n")
    top = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-m", "not tf", "test_top.py")
    top.stdout.fnmatch_lines(["*test_top.py imports tensorflow*not at module level*"])
    assert top.ret == pytest.ExitCode.INTERRUPTED  # a collection error
