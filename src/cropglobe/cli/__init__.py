"""The ``cropglobe`` command line: a Typer app whose commands are grouped by domain (issue 25).

Each module in this package (other than this one and ``_groups``) defines ``register(app)`` that adds its
commands; they are discovered in alphabetical order, so adding a stage means adding one file.
A command joins a group (:mod:`cropglobe.cli._groups`) with ``command`` (``@command(app, "data composite",
old="composite")``): the old, flat spelling stays as a hidden alias for one release and runs the
same function. The most common verbs (``demo``, ``transfer``, ``predict``, ``map``) stay at the
top. Heavy imports (torch, dask ...) stay inside the command functions to keep ``--help`` fast.
"""

from __future__ import annotations

import errno
import functools
import importlib
import inspect
import io
import os
import pkgutil
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console

from cropglobe.cli._groups import OrderedGroup
from cropglobe.errors import CropGlobeError

app = typer.Typer(
    name="cropglobe",
    help="Crop-type mapping with invariant spectral-temporal features (Tong & Wang, arXiv:2509.03497).",
    epilog="Examples:\n\n  cropglobe demo --out demo-output\n\n  cropglobe data simulate --out sim.zarr -n 50\n\n"
           "  cropglobe transfer configs/demo/tiny.yaml --out runs/tiny",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OrderedGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"cropglobe {version('cropglobe')}")
        except PackageNotFoundError:
            typer.echo("cropglobe (not installed)")
        raise typer.Exit(0)


@app.callback()
def _root(
    _: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Crop-type mapping with invariant spectral-temporal features (Tong & Wang, arXiv:2509.03497)."""


QUIET_HELP = "Results and errors only: no progress bars or notes."
VERBOSE_HELP = "Also third-party messages (Lightning ...) and cropglobe's log."


def with_verbosity(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with ``--quiet/-q`` and ``--verbose/-v`` where it lacks them (see :mod:`cropglobe.verbosity`).

    The added flags are applied by :func:`cropglobe.verbosity.configure` before ``fn`` runs (a
    command's own ``quiet`` is passed on to it as well); commands that print progress or notes read
    :func:`cropglobe.verbosity.is_quiet`.
    """
    sig = inspect.signature(fn)
    missing = [name for name in ("quiet", "verbose") if name not in sig.parameters]
    if not missing:
        return fn
    hints = typing.get_type_hints(fn, include_extras=True)
    taken = {o for p in sig.parameters.values() for meta in getattr(hints.get(p.name), "__metadata__", ())
             for o in getattr(meta, "param_decls", None) or ()}
    flags = {"quiet": ("--quiet", "-q", QUIET_HELP), "verbose": ("--verbose", "-v", VERBOSE_HELP)}
    extra = {name: Annotated[bool, typer.Option(flags[name][0], *([flags[name][1]] if flags[name][1] not in taken
                                                                   else []), help=flags[name][2])]
             for name in missing}

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from cropglobe import verbosity

        added = {name: bool(kwargs.pop(name, False)) for name in missing}
        verbosity.configure(added.get("quiet", bool(kwargs.get("quiet", False))),
                            added.get("verbose", bool(kwargs.get("verbose", False))))
        return fn(*args, **kwargs)

    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values()]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=annotation)
               for name, annotation in extra.items()]
    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**hints, **extra}
    return wrapper


def _add_verbosity(typer_app: typer.Typer) -> None:
    for command in typer_app.registered_commands:
        if command.callback is not None:
            command.callback = with_verbosity(command.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _add_verbosity(group.typer_instance)


for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):  # _groups: the helpers of the command tree
        importlib.import_module(f"{__name__}.{_info.name}").register(app)
_add_verbosity(app)  # --quiet/--verbose on every command (issue 27)


def _click_exceptions() -> tuple[type[BaseException], ...]:
    """The ClickException classes in use: typer's bundled click (typer >= 0.29) and click itself."""
    found: list[type[BaseException]] = []
    try:
        from typer._click.exceptions import ClickException as Bundled

        found.append(Bundled)
    except ImportError:  # typer < 0.29 uses click directly
        pass
    try:
        import click

        found.append(click.ClickException)
    except ImportError:
        pass
    return tuple(found)


#: Characters of one message line printed at most; longer lines (a huge bad value echoed) keep both ends.
MESSAGE_LIMIT = 2000


def shorten(line: str, limit: int = MESSAGE_LIMIT) -> str:
    """``line`` cut to about ``limit`` characters: its start and end around "…" and the count left out.

    Both ends are kept: the start says what and where, the end what was expected.
    """
    if len(line) <= limit:
        return line
    head, tail = (limit * 2) // 3, limit // 3
    return f"{line[:head]} … ({len(line) - head - tail:,} characters left out) … {line[-tail:]}"


def _error(message: str) -> None:
    """Print ``message`` (plain text: its brackets are not markup) as the one error line, each line shortened."""
    text = "\n".join(shorten(line) for line in message.splitlines() or [""]).replace("[", "\\[")
    Console(stderr=True).print(f"[bold red]error:[/] {text}", highlight=False, soft_wrap=True, markup=True)


def os_error_message(err: OSError) -> str:
    """One line for an operating-system error: what failed, where, and what to do about it."""
    where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f) or "(no path given)"
    reason = err.strerror or str(err)
    hints = {errno.ENOSPC: "free disk space or write elsewhere (nothing partial was kept)",
             errno.EROFS: "the file system is read-only: choose a writable --out",
             errno.EACCES: "check the permissions, or choose another path",
             errno.EPERM: "check the permissions, or choose another path",
             errno.ENOENT: "check the path",
             errno.EISDIR: "expected a file there, found a folder: choose another path",
             errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
             errno.EEXIST: "remove it or choose another path"}
    hint = hints.get(err.errno or -1, "check the path, permissions and free space")
    return f"{where}: {reason}; {hint}"


#: The environment variable of shell completion (Click's ``_<PROG>_COMPLETE``): add
#: ``eval "$(_CROPGLOBE_COMPLETE=source_bash cropglobe)"`` to ~/.bashrc (``source_zsh``, ``source_fish``).
COMPLETE_VAR = "_CROPGLOBE_COMPLETE"


def enable_completion() -> None:
    """Register Typer's shell-completion classes (bash, zsh, fish, PowerShell) without ``--install-completion``.

    The app has no completion options (``add_completion=False`` keeps ``--help`` short), so Typer does not
    register them itself; hidden commands (the old spellings) are never offered.
    """
    from typer.completion import completion_init

    completion_init()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script: run the app with honest exit codes and no tracebacks for the user.

    Exit codes: 0 success (and ``--help``/``--version``), 2 invalid input, usage error or
    operating-system error (one line on stderr), 130 SIGINT, 143 SIGTERM.
    """
    from cropglobe.interrupt import Interrupted, signal_handlers

    if os.environ.get(COMPLETE_VAR):
        enable_completion()
    code: int = 0
    try:
        with signal_handlers():
            rv = app(args=list(argv) if argv is not None else None, prog_name="cropglobe", standalone_mode=False)
        code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
    except Interrupted as exc:
        print(f"cropglobe: interrupted by {exc.name}; nothing partial was kept "
              "(a transfer run continues with --resume RUN_DIR)", file=sys.stderr, flush=True)
        code = exc.exit_code
    except CropGlobeError as err:
        _error(str(err))
        code = 2
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        Console(stderr=True).print("aborted")
        code = 1
    except _click_exceptions() as exc:  # usage errors: unknown option or command, bad value, missing option
        if getattr(exc, "ctx", None) is None and hasattr(exc, "cmd"):  # a parser error without its command's context
            command = " ".join(a for a in (argv if argv is not None else sys.argv[1:])[:2] if not a.startswith("-"))
            typer.echo(
                f"Usage: cropglobe {command} [OPTIONS] ...\nTry 'cropglobe {command} -h' for help.\n".replace(
                    "  ", " "
                ),
                err=True,
            )
        shown = io.StringIO()
        exc.show(file=shown)  # type: ignore[attr-defined]
        sys.stderr.write("".join(shorten(line) for line in shown.getvalue().splitlines(keepends=True)))
        code = int(getattr(exc, "exit_code", 2))
    except OSError as err:  # the last resort: no traceback for a full disk, a read-only folder ...
        if err.errno == errno.EPIPE:
            code = 1
        else:
            _error(os_error_message(err))
            code = 2
    sys.exit(code)
