"""Every write to a user-given path goes through the guard (``atomic.check_replaceable``), in every command.

Two checks that fail when a new command or writer bypasses the guard (issue 29):

1. Commands: every command with an ``--out`` / ``--dest`` option (found in the Typer app, so a new
   command is included without editing this file, and must have a case in :data:`CASES`) runs on a
   planted user folder and a planted user file: it must refuse with one CropGlobeError naming the
   path, before reading its inputs (they do not exist), and leave the bytes as they were.
2. Sources: every function in ``src/cropglobe`` that calls ``atomic_path`` or ``atomic.write_text``,
   and every function in ``src/cropglobe/cli`` that writes a file itself, must call a guard
   (``check_replaceable``, ``guarded_path``, or a function that calls one, found transitively), or
   be listed in :data:`INTERNAL` with the reason its path is not a user's (a file inside an output
   the command has already checked, a cache, a temporary folder).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import typer
from tests.reliability.cells import snapshot
from typer.testing import CliRunner

from cropglobe.cli import app
from cropglobe.errors import CropGlobeError

SRC = Path(__file__).resolve().parents[2] / "src" / "cropglobe"

# ---------------------------------------------------------------- 1. commands

#: How to run each command with --out at ``{out}`` and inputs at ``{missing}`` (paths that do not exist).
CASES: dict[str, list[str]] = {
    "study adapt": ["{missing}", "--out", "{out}"],
    "study adapt-cell": ["{missing}", "{missing}", "--out", "{out}"],
    "data composite": ["{missing}", "--out", "{out}"],
    "demo": ["--out", "{out}", "-n", "2", "--config", "tiny"],
    "data features": ["{missing}", "--out", "{out}"],
    "data download": ["cropglobe", "--out", "{out}", "-c", "FRA"],
    "data download presto": ["presto", "--out", "{out}"],  # the same command, its other item
    "map": ["{missing}", "{missing}", "--out", "{out}"],
    "predict": ["{missing}", "{missing}", "--out", "{out}"],
    "data simulate": ["--out", "{out}", "-n", "2"],
    "transfer": ["{missing}", "--out", "{out}"],
    "study transfer": ["{missing}", "--out", "{out}"],  # the same command, in its group
    "data emit sample": ["{missing}", "--points", "{missing}", "--out", "{out}"],
    "data import worldcereal": ["{missing}", "--out", "{out}"],
    "data import cropglobe": ["{missing}", "--out", "{out}", "--year", "2020"],
    "data import table": ["{missing}", "-m", "{missing}", "--out", "{out}"],
    "presto download": ["--dest", "{out}"],
    "presto embed": ["{missing}", "--out", "{out}"],
    "assess sample": ["{missing}", "--out", "{out}"],
    "assess accuracy": ["{missing}", "{missing}", "--out", "{out}"],
}
#: File names the planted outputs take where a command needs a suffix (the map a .tif, predict a .parquet).
SUFFIX = {"map": ".tif", "predict": ".parquet", "presto embed": ".npy", "data download presto": ".pt",
          "presto download": ".pt", "assess sample": ".csv", "assess accuracy": ".csv"}


def _commands() -> dict[str, object]:
    found = {}

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                if not sub.hidden:  # an old spelling runs the same function as its new one (tests/cli/test_groups.py)
                    walk(sub, [*path, name])
        else:
            found[" ".join(path)] = cmd

    walk(typer.main.get_command(app), [])
    return found


def _writes_to_a_user_path(cmd) -> bool:
    return any(set(getattr(p, "opts", ())) & {"--out", "--dest"} for p in cmd.params)


def test_every_command_with_an_output_path_has_a_case():
    commands = {name for name, cmd in _commands().items() if _writes_to_a_user_path(cmd)}
    cased = {name.removesuffix(" presto") if name == "data download presto" else name for name in CASES}
    assert commands == cased, "a command with --out/--dest needs a case in CASES (and a guard)"


@pytest.fixture
def no_hub(monkeypatch):
    """A download that got past the guard would fail the test, not reach the network."""
    import huggingface_hub

    def refuse(*args, **kwargs):
        raise AssertionError("the download started although --out held a user's data")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", refuse)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)


def _plant(path: Path, kind: str, name: str) -> Path:
    if kind == "folder":
        path.mkdir()
        (path / "thesis.txt").write_text("four years of work")
        (path / "default_model.pt").write_bytes(b"my own weights")  # a folder --dest writes this name into
        (path / "data").mkdir()
        (path / "data" / "field.csv").write_bytes(b"id,crop\n1,maize\n")
    else:
        path.write_bytes(b"PAR1 \x00\xff a user's own file")
    return path


@pytest.mark.parametrize("kind", ["folder", "file"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_command_keeps_a_planted_user_path(tmp_path, name, kind, no_hub):
    work = tmp_path / "work"
    work.mkdir()
    out = _plant(work / f"mine{SUFFIX.get(name, '')}", kind, name)
    before = snapshot(out)
    command = ["data", "download"] if name == "data download presto" else name.split()
    args = [a.format(out=out, missing=tmp_path / "missing" / "input") for a in CASES[name]]
    result = CliRunner().invoke(app, [*command, *args])
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, CropGlobeError), (result.exception, result.output)
    message = str(result.exception)
    assert str(out) in message and ("refusing" in message or "not a previous" in message), message
    assert snapshot(out) == before
    assert sorted(p.name for p in work.iterdir()) == [out.name]  # nothing written next to it either


# ---------------------------------------------------------------- 2. sources

#: Functions that write without a guard of their own, and why their paths are not a user's.
INTERNAL: dict[str, str] = {
    "atomic.py:write_text": "the helper for the files below",
    "cells/cell.py:Cell.save": "a cell folder inside a checked run folder, or adapt-cell's --out checked before",
    "cli/transfer.py:register._remove_if_unused": "removes the lock file of a run folder this command created itself",
    "recipe.py:RecipeSpec.write": "recipe.json inside a cell folder of a checked run folder or distilled cell",
    "training/splits.py:write_manifest": "the splits manifest inside a checked run folder",
    "features/presto/embed.py:presto_features": "the embeddings cache (~/.cache/cropglobe)",
    "experiment/report.py:write_results": "results.parquet inside a checked run folder",
    "experiment/report.py:build": "report.md inside a checked run folder",
    "experiment/adapt_cell.py:_selftrain_cell": "files inside --out, checked by adapt_cell before calling it",
    "experiment/runner.py:_save_probas": "target_proba.npz inside a cell of a checked run folder",
    "experiment/runner.py:run": "config.yaml and done markers inside a checked run folder",
    "experiment/runner.py:_write_signatures": "signatures.npz inside a checked run folder",
    "mapping/store.py:write_cube": "library API: a demo's region.zarr (checked demo folder), STAC's temporary store",
    "mapping/write.py:MapWriter.__enter__": "make_map runs check_outputs on these paths before any work",
    "models/ensemble.py:Calibration.write": "calibration file inside a cell folder",
    "models/tabular.py:TabularClassifier.save": "model file inside a cell folder",
    "models/io.py:save_torch": "model file inside a cell folder",
    "sources/acquire/gee.py:TaskTracker.save": "the export state file inside the acquisition's cache folder",
    "sources/acquire/reader.py:read_all": "chunk cache files inside the acquisition's cache folder",
}
WRITERS = {"atomic_path", "write_text"}  # as names: the atomic helpers (Path.write_text is an attribute call)
#: Calls that write a file where a command module does it itself: methods by name, and os / shutil functions.
RAW = {"write_text", "write_bytes", "save", "savez", "savez_compressed", "to_parquet", "to_zarr", "to_netcdf",
       "to_csv", "unlink", "rmtree", "mkdir", "symlink_to"}
RAW_MODULES = {"os": {"replace", "rename", "remove", "unlink", "rmdir", "makedirs", "symlink"},
               "shutil": {"copyfile", "copy", "copy2", "copytree", "move", "rmtree"}}


def _visit(node, rel: str, prefix: str):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield f"{rel}:{prefix}{child.name}", child, rel
            yield from _visit(child, rel, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _visit(child, rel, f"{prefix}{child.name}.")


def _functions():
    """(``file:Qual.name``, function node, module-relative file) for every function in the sources."""
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        yield from _visit(ast.parse(path.read_text(encoding="utf-8")), rel, "")


def _own_calls(fn) -> list[ast.Call]:
    """Calls in ``fn``'s body, not in functions nested inside it."""
    calls, todo = [], list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return calls


def _name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _guards(functions) -> set[str]:
    """Names of functions that check: check_replaceable / guarded_path and whatever calls them.

    Calls are matched by name, so a name counts only when every function of that name is a guard
    (``save`` is not: most ``save`` methods write without a check).
    """
    simple = {key: key.split(":")[1].split(".")[-1] for key, _, _ in functions}
    guards = {"check_replaceable", "guarded_path"}
    while True:
        checking = {key for key, fn, _ in functions if any(_name(c) in guards for c in _own_calls(fn))}
        names = {simple[k] for k in checking}
        more = {n for n in names if all(k in checking for k in simple if simple[k] == n)} - guards
        if not more:
            return guards
        guards |= more


def _is_raw_write(call: ast.Call) -> bool:
    f = call.func
    if not isinstance(f, ast.Attribute):
        return _is_write_open(call)
    if isinstance(f.value, ast.Name) and f.value.id in RAW_MODULES:
        return f.attr in RAW_MODULES[f.value.id]
    return f.attr in RAW


def _is_write_open(call: ast.Call) -> bool:
    if _name(call) != "open":
        return False
    modes = [a for a in call.args[1:2]] + [k.value for k in call.keywords if k.arg == "mode"]
    return any(isinstance(m, ast.Constant) and isinstance(m.value, str) and set(m.value) & set("wax+")
               for m in modes)


def _unguarded_writers() -> dict[str, str]:
    functions = list(_functions())
    guards = _guards(functions)
    found = {}
    for key, fn, rel in functions:
        calls = _own_calls(fn)
        guarded = any(_name(c) in guards for c in calls)
        writes = [_name(c) for c in calls if isinstance(c.func, ast.Name) and c.func.id in WRITERS]
        if rel.startswith("cli/"):
            writes += [_name(c) for c in calls if _is_raw_write(c)]
        if writes and not guarded:
            found[key] = ", ".join(sorted(set(writes)))
    return found


def test_every_writer_is_guarded_or_writes_inside_a_checked_output():
    unguarded = _unguarded_writers()
    new = {k: v for k, v in unguarded.items() if k not in INTERNAL}
    assert not new, ("these functions write without check_replaceable / guarded_path; guard them "
                     f"(atomic.guarded_path) or list them in INTERNAL with the reason: {new}")
    stale = sorted(set(INTERNAL) - set(unguarded))
    assert not stale, f"INTERNAL lists functions that no longer write unguarded (remove them): {stale}"


def test_the_source_scan_catches_a_command_that_bypasses_the_guard(tmp_path, monkeypatch):
    """The scan itself: a command writing through atomic_path without a check is reported."""
    bad = SRC / "cli" / "zz_unguarded_probe.py"
    code = ("from cropglobe.atomic import atomic_path\n\n\ndef register(app):\n    @app.command('probe')\n"
            "    def probe_cmd(out):\n        with atomic_path(out) as tmp:\n            tmp.write_text('x')\n")
    monkeypatch.setattr(Path, "rglob", lambda self, pattern, _orig=Path.rglob: [
        *_orig(self, pattern), *([bad] if self == SRC and pattern == "*.py" else [])])
    monkeypatch.setattr(Path, "read_text", lambda self, *a, _orig=Path.read_text, **k: (
        code if self == bad else _orig(self, *a, **k)))
    assert "cli/zz_unguarded_probe.py:register.probe_cmd" in _unguarded_writers()
