"""Importing the package's modules has no side effects on matplotlib or logging, and the modules'
import graph has no cycles (issue 16)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PROBE = """
import logging, sys
import matplotlib
matplotlib.use("svg")
import cropglobe.experiment.report
assert "matplotlib.pyplot" not in sys.modules  # report draws with matplotlib.figure.Figure
import cropglobe.training.lightning, cropglobe.mapping  # (Lightning itself imports pyplot)
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert logging.getLogger("lightning.pytorch.utilities.rank_zero").filters == []
from cropglobe.training.lightning import _hide_tips
_hide_tips(); _hide_tips()
assert len(logging.getLogger("lightning.pytorch.utilities.rank_zero").filters) == 1
print("ok")
"""


def test_importing_report_and_train_changes_nothing():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


SRC = Path(__file__).resolve().parents[1] / "src" / "cropglobe"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(module: str, path: Path, modules: set[str]) -> set[str]:
    """The cropglobe modules ``module`` imports when it is imported (not inside functions or TYPE_CHECKING)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:  # a submodule if it is one, else a name of the base module
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit([n for n in inner if isinstance(n, ast.stmt | ast.excepthandler)])

    visit(ast.parse(path.read_text("utf-8")).body)
    return {m for m in found if m in modules and m != module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the cropglobe modules it imports at module level, from the source files (``ast``)."""
    paths = {_module_name(p): p for p in SRC.rglob("*.py")}
    return {m: _module_level_imports(m, p, set(paths)) for m, p in sorted(paths.items())}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_import_graph_has_no_cycles():
    graph = import_graph()
    assert len(graph) > 80 and "cropglobe.temporal.composite" in graph["cropglobe.features.stream"]
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# -- the floors (issue 25): imports at module AND function level ------------------------------------------------------
#: package -> packages it must never import, at any level (a function-level import counts as much as a top-level one).
FORBIDDEN = {
    "cropglobe.experiment": ("cropglobe.mapping",),
    "cropglobe.mapping": ("cropglobe.experiment",),
    "cropglobe.cells": ("cropglobe.experiment", "cropglobe.mapping", "cropglobe.cli"),
    "cropglobe.study": ("cropglobe.cells", "cropglobe.experiment", "cropglobe.mapping", "cropglobe.cli"),
}
#: What temporal/ may import: itself and the floors below it (never the recipe or anything above it).
TEMPORAL_MAY_IMPORT = ("cropglobe.temporal", "cropglobe.errors", "cropglobe.atomic", "cropglobe.checks",
                       "cropglobe.yamlfile", "cropglobe.samples", "cropglobe.summary", "cropglobe.zarrcheck",
                       "cropglobe.bands", "cropglobe.taxonomy", "cropglobe.geography", "cropglobe.interrupt",
                       "cropglobe.verbosity", "cropglobe.choices")


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def all_imports(module: str, source: str, is_package: bool = False) -> set[str]:
    """Every cropglobe module or name ``source`` imports anywhere: module level, in functions, under TYPE_CHECKING,
    relative imports resolved, and ``importlib.import_module("cropglobe....")`` calls with a literal name."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.update(f"{base}.{alias.name}" for alias in node.names)  # a submodule or a name: both lie in base
        elif (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return {m for m in found if _within(m, "cropglobe")}


def layering_violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """``"importer -> imported"`` for each import of ``source`` that crosses a floor the wrong way."""
    bad = []
    for imported in sorted(all_imports(module, source, is_package)):
        for package, forbidden in FORBIDDEN.items():
            if _within(module, package) and any(_within(imported, f) for f in forbidden):
                bad.append(f"{module} -> {imported}")
        if _within(module, "cropglobe.temporal") and not any(_within(imported, p) for p in TEMPORAL_MAY_IMPORT):
            bad.append(f"{module} -> {imported}")
    return bad


def test_the_floors_hold_at_module_and_function_level():
    paths = {_module_name(p): p for p in SRC.rglob("*.py")}
    assert {"cropglobe.cells.run_folder", "cropglobe.study.spec", "cropglobe.temporal.settings"} <= set(paths)
    bad = [v for m, p in sorted(paths.items()) for v in layering_violations(m, p.read_text("utf-8"),
                                                                             p.name == "__init__.py")]
    assert bad == []


def test_the_layering_check_flags_a_planted_import():
    """Imports planted in copies of real modules' sources (function level, relative, import_module) are flagged."""
    def planted(path: str, line: str) -> list[str]:
        source = (SRC / path).read_text("utf-8")
        module = _module_name(SRC / path)
        assert layering_violations(module, source) == []  # the real module is clean
        return layering_violations(module, source + f"\n\ndef _planted():\n    {line}\n")

    assert planted("mapping/demo.py", "from cropglobe.experiment.runner import cell_key") == [
        "cropglobe.mapping.demo -> cropglobe.experiment.runner.cell_key"]
    assert planted("experiment/adapt_cell.py", "from ..mapping import predict_table") == [
        "cropglobe.experiment.adapt_cell -> cropglobe.mapping.predict_table"]
    assert planted("temporal/composite.py", "from cropglobe.recipe import CompositeSettings") == [
        "cropglobe.temporal.composite -> cropglobe.recipe.CompositeSettings"]
    assert planted("temporal/season.py", "import cropglobe.features.families") == [
        "cropglobe.temporal.season -> cropglobe.features.families"]
    assert planted("cells/run_folder.py", "importlib.import_module('cropglobe.experiment.study')") == [
        "cropglobe.cells.run_folder -> cropglobe.experiment.study"]
    assert planted("cells/run_folder.py", "from cropglobe import mapping") == [
        "cropglobe.cells.run_folder -> cropglobe.mapping"]
