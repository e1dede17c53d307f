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
