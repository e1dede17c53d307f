"""No function outside the CLI takes more than 8 parameters (issue 25): bundles travel as objects.

The study's bundles (``spec, prepared, cache, cell, seed, parts ...``) are one
:class:`cropglobe.experiment.job.CellJob`; options travel as typed objects (``CompositeSettings``,
``TrainSettings``, ``InputLayout``, ``PredictOptions``, ``PrestoOptions``, ``SampleArrays``, ``Rounds`` ...).
:data:`WIDE` lists exceptions, each with its reason; it is empty and may only stay so: a new wide
function fails, and so does an entry that is no longer wide (remove it).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "cropglobe"
LIMIT = 8

#: ``file:Qualified.name`` -> why it still takes more than :data:`LIMIT` parameters.
WIDE: dict[str, str] = {}


def wide_functions(source: str, rel: str, limit: int = LIMIT) -> dict[str, int]:
    """``file:Qual.name`` -> parameter count (``self`` / ``cls`` not counted, ``*args`` / ``**kw`` counted)."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = child.args
                names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
                count = len(names) + (a.vararg is not None) + (a.kwarg is not None)
                if count > limit:
                    found[f"{rel}:{prefix}{child.name}"] = count
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(source), "")
    return found


def test_no_function_outside_the_cli_takes_more_than_eight_parameters():
    found: dict[str, int] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("cli/"):
            continue
        found.update(wide_functions(path.read_text(encoding="utf-8"), rel))
    new = sorted(set(found) - set(WIDE))
    assert not new, f"functions with more than {LIMIT} parameters (pass an object instead): " + ", ".join(
        f"{k} ({found[k]})" for k in new)
    stale = sorted(set(WIDE) - set(found))
    assert not stale, f"no longer wide, remove from WIDE: {', '.join(stale)}"


def test_a_wide_function_is_found_at_any_depth():
    source = ("def ok(a, b, c, d, e, f, g, h): ...\n"
              "class C:\n    def m(self, a, b, c, d, e, f, g, h, i): ...\n"
              "def outer():\n    def inner(a, b, c, d, e, f, g, *rest, **kw): ...\n")
    assert wide_functions(source, "x.py") == {"x.py:C.m": 9, "x.py:outer.inner": 9}
