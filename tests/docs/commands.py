"""Find the ``cropglobe ...`` commands in Markdown files and check them against the Typer app (issue 27).

Commands are taken from fenced code blocks, indented code blocks and inline code spans. A shell
line is split the way a shell would (``shlex``: quotes, ``#`` comments, ``\\`` continuations,
``&&`` / ``;`` / ``|`` / ``&``, redirections, ``nohup`` / ``time`` / ``VAR=value`` prefixes), and
every part that runs ``cropglobe`` is checked:

- an *exact* command (no placeholder syntax) is parsed by the command's own Click parser
  (``make_context``: options, arguments, their types, required ones, extra arguments), without
  running it;
- a *synopsis* (``[--dry-run]``, ``worldcereal\\|table``, ``SRC...``, ``predict/map``) is checked by
  name: every command path of its alternatives exists and every option it names belongs to it.
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import typer

from cropglobe.cli import app

PREFIXES = ("cropglobe", ".venv/bin/cropglobe")
SHELL_SEPARATORS = {"&&", "||", ";", "|", "&"}
WRAPPERS = {"nohup", "time", "exec"}


@dataclass(frozen=True)
class Found:
    """One command as written in a Markdown file."""

    file: str
    line: int
    text: str
    inline: bool

    def where(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


def _code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, shell line) of fenced and indented code blocks, continuation lines joined."""
    out: list[tuple[int, str]] = []
    fenced = False
    pending: tuple[int, str] | None = None
    previous, indented = "", False  # an indented block starts after a blank line (not a list's continuation)
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.lstrip().startswith("```"):
            fenced = not fenced
            previous, indented = raw, False
            continue
        indented = bool(raw.startswith("    ") and raw.strip() and (indented or not previous.strip()))
        previous = raw
        if not (fenced or indented):
            pending = None
            continue
        line = raw.strip()
        if pending is not None:
            start, before = pending
            line = f"{before} {line}"
        else:
            start = number
        if line.endswith("\\"):
            pending = (start, line[:-1].rstrip())
            continue
        pending = None
        out.append((start, line))
    return out


def _inline_spans(text: str) -> list[tuple[int, str]]:
    """(line number, text) of inline code spans outside fenced blocks (a span may run over a line break)."""
    kept = []
    fenced = False
    for raw in text.splitlines():
        if raw.lstrip().startswith("```"):
            fenced = not fenced
            kept.append("")
            continue
        kept.append("" if fenced else raw)
    joined = "\n".join(kept)
    spans = []
    for match in re.finditer(r"(?<!`)`([^`]+)`(?!`)", joined):
        spans.append((joined.count("\n", 0, match.start()) + 1, " ".join(match.group(1).split())))
    return spans


def _starts_command(text: str) -> bool:
    words = text.split()
    while words and (words[0] in WRAPPERS or re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0])):
        words = words[1:]
    return bool(words) and words[0] in PREFIXES


def find(path: Path, root: Path) -> list[Found]:
    """Every ``cropglobe`` command line of one Markdown file."""
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(root).as_posix()
    found = [Found(rel, n, line, False) for n, line in _code_lines(text) if "cropglobe" in line]
    found += [Found(rel, n, span, True) for n, span in _inline_spans(text) if _starts_command(span)]
    return found


def invocations(text: str) -> list[list[str]]:
    """The argument lists (without the program name) of each ``cropglobe`` run in one shell line."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    parts: list[list[str]] = [[]]
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
            continue
        if token in SHELL_SEPARATORS:
            parts.append([])
        elif token in {">", ">>", "<", ">&", "<&"}:
            skip_next = True  # the redirection's target
        elif re.fullmatch(r"\d?>&\d|\d", token) and parts[-1] and parts[-1][-1:] != []:
            if parts[-1] and re.fullmatch(r"\d", token):
                continue  # the file descriptor of '2>'
        else:
            parts[-1].append(token)
    runs = []
    for words in parts:
        while words and (words[0] in WRAPPERS or re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0])):
            words = words[1:]
        if words and words[0] in PREFIXES:
            runs.append(words[1:])
    return runs


SYNOPSIS = re.compile(r"\[|\]|\.\.\.|\\\||(?<!\S)\|(?!\S)|<[a-z_ ]+>")


def is_synopsis(text: str) -> bool:
    """True where the text uses placeholder syntax rather than values (``[--opt]``, ``a\\|b``, ``X...``)."""
    return bool(SYNOPSIS.search(text)) or bool(re.search(r"\S\|\S", text))


def _root():
    return typer.main.get_command(app)


def _resolve(args: list[str]):
    """(leaf command, its name path, the remaining args, the parent context) for ``args``."""
    cmd = _root()
    ctx = cmd.make_context("cropglobe", [], resilient_parsing=True)
    names: list[str] = []
    rest = list(args)
    while hasattr(cmd, "commands") and rest and not rest[0].startswith("-"):
        sub = cmd.get_command(ctx, rest[0])
        if sub is None:
            raise LookupError(f"no command 'cropglobe {' '.join([*names, rest[0]])}'")
        names.append(rest.pop(0))
        cmd = sub
        ctx = cmd.make_context(names[-1], [], parent=ctx, resilient_parsing=True)
    return cmd, names, rest, ctx.parent if names else ctx


def check_exact(args: list[str]) -> None:
    """Parse ``args`` with the app's own parser without running the command.

    Raises:
        LookupError: For a command that does not exist.
        click's UsageError / BadParameter: For an unknown option, a missing or extra argument, a bad value.
    """
    if any(a in {"-h", "--help", "--version"} for a in args):
        check_names(args)
        return
    cmd, names, rest, parent = _resolve(args)
    if hasattr(cmd, "commands"):
        raise LookupError(f"'cropglobe {' '.join(names)}' is a command group: it needs a command")
    cmd.make_context(names[-1], rest, parent=parent)


def _option_names(cmd) -> set[str]:
    names = {"-h", "--help"}
    for param in cmd.params:
        names.update(getattr(param, "opts", ()))
        names.update(getattr(param, "secondary_opts", ()))
    return names


def _longest(words: list[str]):
    """(command, its name path) of ``words``; a last word that names no subcommand of a command is its argument.

    Raises:
        LookupError: For a word that names no command of a group (a group's next word must be one).
    """
    try:
        cmd, names, _, _ = _resolve(words)
        return cmd, names
    except LookupError:
        if len(words) < 2:
            raise
        cmd, names = _longest(words[:-1])
        if hasattr(cmd, "commands"):
            raise
        return cmd, names


def check_names(args: list[str]) -> None:
    """A synopsis: its command paths exist and the options it names are theirs (values are not checked).

    Raises:
        LookupError: For a command or option that does not exist.
    """
    cleaned = [w.replace("[", "").replace("]", "").replace("\\|", "|") for w in args]
    cleaned = [w for w in cleaned if w and w not in {"|", "..."}]
    path_words: list[list[str]] = []
    for word in cleaned:
        if word.startswith("-") or not re.fullmatch(r"[a-z][a-z0-9-]*([|/][a-z][a-z0-9-]*)*", word):
            break
        path_words.append(re.split(r"[|/]", word))
        if len(path_words) == 3:  # group, subgroup, command (cropglobe data import table)
            break
    options = [w.split("=")[0] for w in cleaned if w.startswith("-") and not re.fullmatch(r"-?\d+(\.\d+)?", w)]
    checked = False
    for combo in itertools.product(*path_words) if path_words else [()]:
        cmd, names = _longest(list(combo))
        checked = True
        known = _option_names(cmd) | ({"--version"} if not names else set())
        if hasattr(cmd, "commands"):  # a group named without its command: the options of any of its commands
            for sub in cmd.commands.values():
                known |= _option_names(sub)
        unknown = [o for o in options if o not in known]
        if unknown:
            raise LookupError(f"'cropglobe {' '.join(names)}' has no option {', '.join(unknown)}")
    assert checked
