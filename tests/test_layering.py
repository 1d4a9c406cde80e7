"""The import-layering contract, read from the source (AST, nothing imported):

* no import cycle between ``sts_seg`` modules, lazy (function-level) imports included;
* the stages are layered in the order of :data:`STAGES`: a stage package imports only stages
  before it (so no two stages depend on each other), and the modules below the stages (config,
  core, io, metrics, sources, the model source, ...) import no stage at all. ``cli`` sits on top.

An edge is what the import statement names: ``import a.b`` -> ``a.b``; ``from a.b import c`` ->
``a.b.c`` when that is a module, and ``a.b`` itself (``c`` is read off the package, so a module that
the package's ``__init__`` imports must name its siblings by their module path,
``from a.b.c import x``). Imports under ``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "sts_seg"

#: the stage packages, lowest first. prepare cuts slices; augment copies the training split; train
#: fits a model; infer predicts with any model source; evaluate scores predictions (its own model
#: runs through infer); cv runs the stages per fold and scores them; export converts a model source.
STAGES = ("prepare", "augment", "train", "infer", "evaluate", "cv", "export")
#: packages above every stage (they may import any of them)
TOP = ("cli", "__main__")
#: modules inside a stage package that are a library below every stage: the augmentation ops (and
#: the fields and warps they are made of), pure numpy, whose names and parameters the config validates
LIBRARIES = ("sts_seg.augment.ops", "sts_seg.augment.fields", "sts_seg.augment.warp")


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """``{dotted module name: file}`` of every module under ``root`` (a package is its ``__init__``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped |= {id(n) for n in ast.walk(child)}
    return skipped


def _target(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` if it is a module, else its longest prefix that is one (None outside sts_seg)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The ``sts_seg`` modules that ``module`` (the file ``path``) imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skipped = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        out |= {t for t in (_target(n, modules) for n in names) if t is not None and t != module}
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """``{module: modules it imports}`` for every module of the package at ``root``."""
    modules = module_names(root)
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module an import chain from ``start`` reaches (``start`` itself only through a cycle)."""
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += graph.get(m, ())
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, each sorted: the modules that
    reach each other through imports."""
    reach = {m: reachable(graph, m) for m in graph}
    found: list[list[str]] = []
    for m in sorted(graph):
        if m in reach[m] and not any(m in scc for scc in found):
            found.append(sorted(w for w in reach[m] if m in reach[w]))
    return found


def package_of(module: str) -> str:
    """``sts_seg.cv.fold`` -> ``cv``; a top-level module is its own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_of(module: str) -> str:
    """The stage a module belongs to, or its package below the stages (a library: ``lib``)."""
    if any(module == lib or module.startswith(lib + ".") for lib in LIBRARIES):
        return "lib"
    return package_of(module)


def edges_in(graph: dict[str, set[str]], scc: list[str]) -> list[str]:
    members = set(scc)
    return [f"{a} -> {b}" for a in sorted(scc) for b in sorted(graph[a] & members)]


def layering_violations(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b`` for each import that goes up or across the stage order."""
    rank = {s: i for i, s in enumerate(STAGES)}
    bad = []
    for a, targets in sorted(graph.items()):
        pa = layer_of(a)
        if pa in TOP:
            continue
        for b in sorted(targets):
            pb = layer_of(b)
            if pb == pa or pb not in rank:
                continue
            if pa not in rank:
                bad.append(f"{a} -> {b} (below the stages, {pa} must not import the stage {pb})")
            elif rank[pb] > rank[pa]:
                bad.append(f"{a} -> {b} (the stage {pa} must not import the later stage {pb})")
    return bad


# ---------------------------------------------------------------- the contract


def test_no_import_cycle_between_modules() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join("  " + "; ".join(edges_in(graph, scc)) for scc in found)


def test_stages_import_only_earlier_stages() -> None:
    bad = layering_violations(import_graph())
    assert not bad, "imports against the stage order " + " < ".join(STAGES) + ":\n" + "\n".join(bad)


def test_no_two_stages_depend_on_each_other() -> None:
    graph = import_graph()
    deps = {(package_of(a), package_of(b)) for a, ts in graph.items() for b in ts}
    both = sorted({tuple(sorted(p)) for p in deps if p[0] != p[1] and p[::-1] in deps and set(p) <= set(STAGES)})
    assert not both, f"two-way dependencies between stage packages: {both}"


# ---------------------------------------------------------------- the checker itself


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "sts_seg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_checker_sees_lazy_relative_and_from_imports(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "cv/__init__.py": "",
            "cv/a.py": "from sts_seg.cv import b\n",
            "cv/b.py": "def f():\n    from .c import x\n",
            "cv/c.py": "import sts_seg.cv.a\nx = 1\n",
            "infer/__init__.py": "from sts_seg.cv.a import thing\n",
            "core.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sts_seg.infer import y\n",
        },
    )
    graph = import_graph(root)
    assert graph["sts_seg.cv.a"] == {"sts_seg.cv", "sts_seg.cv.b"}  # ``from pkg import mod``: both
    assert graph["sts_seg.cv.b"] == {"sts_seg.cv.c"}  # lazy and relative
    assert graph["sts_seg.infer"] == {"sts_seg.cv.a"}
    assert graph["sts_seg.core"] == set()  # TYPE_CHECKING only
    assert cycles(graph) == [["sts_seg.cv.a", "sts_seg.cv.b", "sts_seg.cv.c"]]
    assert layering_violations(graph) == [
        "sts_seg.infer -> sts_seg.cv.a (the stage infer must not import the later stage cv)"
    ]


def test_checker_flags_a_sibling_read_off_the_package_that_imports_it(tmp_path: Path) -> None:
    files = {"__init__.py": "", "src/__init__.py": "from sts_seg.src.a import A\n", "src/b.py": "B = 1\n"}
    through_package = _tree(tmp_path / "x", {**files, "src/a.py": "from sts_seg.src import b\nA = b.B\n"})
    assert cycles(import_graph(through_package)) == [["sts_seg.src", "sts_seg.src.a"]]
    by_module_path = _tree(tmp_path / "y", {**files, "src/a.py": "from sts_seg.src.b import B\nA = B\n"})
    assert cycles(import_graph(by_module_path)) == []


def test_a_library_inside_a_stage_is_below_the_stages(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "config.py": "from sts_seg.augment.ops import OPS\n",
            "augment/__init__.py": "",
            "augment/ops.py": "from sts_seg.augment.warp import warp\n",
            "augment/warp.py": "from sts_seg.train import fit\n",
            "train.py": "",
        },
    )
    assert layering_violations(import_graph(root)) == [
        "sts_seg.augment.warp -> sts_seg.train (below the stages, lib must not import the stage train)"
    ]


def test_checker_flags_a_module_below_the_stages_that_imports_one(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"__init__.py": "", "io.py": "import sts_seg.train\n", "train.py": "import sts_seg.io\n"})
    graph = import_graph(root)
    assert cycles(graph) == [["sts_seg.io", "sts_seg.train"]]
    assert layering_violations(graph) == [
        "sts_seg.io -> sts_seg.train (below the stages, io must not import the stage train)"
    ]
