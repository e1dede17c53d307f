"""Every ``cropglobe`` command in the README and the docs parses against the app as written (issue 27).

Code-block commands are parsed by the command's own parser (``make_context``, nothing runs); inline
mentions and synopses (``[--opt]``, ``a\\|b``, ``X...``) are checked by name. The checker is shown
to fail on planted mistakes of each kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.docs import commands

REPO = Path(__file__).resolve().parents[2]
FILES = [REPO / "README.md", REPO / "DEVELOPERS.md", *sorted((REPO / "docs").glob("*.md"))]

#: Lines that cannot be checked as written, with the reason (none at present; an entry must still occur).
ALLOW: dict[str, str] = {}


def _all() -> list[commands.Found]:
    return [found for path in FILES for found in commands.find(path, REPO)]


def _cases() -> list[tuple[commands.Found, list[str]]]:
    return [(found, args) for found in _all() if found.text not in ALLOW for args in commands.invocations(found.text)]


def test_the_docs_hold_many_commands():
    cases = _cases()
    exact = [f for f, _ in cases if not f.inline and not commands.is_synopsis(f.text)]
    assert len(cases) > 60 and len(exact) > 15, (len(cases), len(exact))
    files = {f.file for f, _ in cases}
    assert {"README.md", "docs/results.md"} <= files


@pytest.mark.parametrize("found,args", _cases(), ids=lambda v: v.where()[:90] if isinstance(v, commands.Found) else "")
def test_command_in_the_docs_parses(found, args):
    if found.inline or commands.is_synopsis(found.text):
        commands.check_names(args)
    else:
        commands.check_exact(args)


def test_allow_list_entries_still_occur():
    texts = {f.text for f in _all()}
    assert set(ALLOW) <= texts


# ---------------------------------------------------------------- the checker itself


@pytest.mark.parametrize("line", [
    "cropglobe transfer configs/realdata/canada_france.yaml --outt runs/x",  # wrong option
    "cropglobe transfor configs/realdata/canada_france.yaml",  # wrong command
    "cropglobe predict runs/x/cells/c",  # missing argument
    "cropglobe simulate --out s.zarr -n many",  # a value of the wrong type
    "cropglobe info a.zarr b.zarr",  # an extra argument
    "cropglobe emit",  # a group without its command
])
def test_exact_check_catches_a_planted_mistake(line):
    (args,) = commands.invocations(line)
    with pytest.raises(Exception) as err:
        commands.check_exact(args)
    assert type(err.value).__name__ in {"LookupError", "NoSuchOption", "MissingParameter", "BadParameter",
                                        "UsageError"}, err.value


@pytest.mark.parametrize("line", [
    "cropglobe predict/mapp --member CELL",
    "cropglobe map CELL_DIR CUBE [--no-such-option]",
    "cropglobe import worldcereal\\|table SRC... --out S.zarr [--regoin NAME]",
    "cropglobe import ... --no-such-option X",
    "cropglobe data import worldcereal\\|table SRC... --out S.zarr [--regoin NAME]",  # checked at the command
    "cropglobe data import worldcereal\\|tabel SRC --out S.zarr",  # a group's next word must name a command
    "cropglobe study adapt-cel RUN",
])
def test_name_check_catches_a_planted_mistake(line):
    (args,) = commands.invocations(line)
    with pytest.raises(LookupError):
        commands.check_names(args)


def test_shell_lines_are_split_like_a_shell():
    line = ("nohup cropglobe transfer a.yaml --out runs/a > runs/a.log 2>&1 & "
            "X=1 cropglobe report runs/a && echo done  # a comment")
    assert commands.invocations(line) == [["transfer", "a.yaml", "--out", "runs/a"], ["report", "runs/a"]]


def test_blocks_and_spans_are_found(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("Text `cropglobe info\nS.zarr` here.\n\n```bash\ncropglobe map CELL \\\n"
                   "    CUBE --out m.tif\n```\n\n    cropglobe report runs/a\n- item\n"
                   "    `cropglobe demo` continuation, not a block\n",
                   encoding="utf-8")
    found = commands.find(doc, tmp_path)
    assert [(f.line, f.text, f.inline) for f in found] == [
        (5, "cropglobe map CELL CUBE --out m.tif", False), (9, "cropglobe report runs/a", False),
        (1, "cropglobe info S.zarr", True), (11, "cropglobe demo", True)]
