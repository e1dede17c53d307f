"""The command tree of ``cropglobe``: groups by domain, old flat spellings as hidden aliases (issue 25).

A command module registers with :func:`command` (``@command(app, "data composite", old="composite")``)
or :func:`sub_app` (a Typer sub-app such as ``data import``); :data:`GROUPS` names the groups and
:data:`ORDER` the order of the helps (:class:`OrderedGroup`). The old spellings run the same functions (same
options, output and exit codes) and are hidden from the help and from shell completion.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperGroup

#: The command groups: name -> help (issue 25). Commands join them with :func:`command`.
GROUPS: dict[str, str] = {
    "data": "Get and prepare samples: import, download, acquire, simulate, emit; composite, features, info.",
    "study": "Transfer studies: run one, re-score it with adaptation, adapt a cell, rebuild its report, "
             "print its resolved spec.",
    "assess": "Assess a map: draw a stratified reference sample, then area-adjusted accuracy and class areas "
              "(Olofsson 2014).",
}

#: Order of the entries of ``cropglobe --help`` and of each group's help (data-flow order; others after these).
ORDER = ("demo", "transfer", "predict", "map", "bench", "data", "study", "assess", "presto", "configs",
         "import", "download", "acquire", "simulate", "emit", "info", "composite", "features",
         "config", "adapt", "adapt-cell", "report", "sample", "accuracy")


class OrderedGroup(TyperGroup):
    """A command group that lists its commands in :data:`ORDER` (help and shell completion)."""

    def list_commands(self, ctx: Any) -> list[str]:
        """The commands' names, in :data:`ORDER` (names not in it keep their order, after those in it)."""
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))


def group(parent: typer.Typer, name: str) -> typer.Typer:
    """The visible sub-app ``name`` of ``parent``, added with its :data:`GROUPS` help on first use."""
    for info in parent.registered_groups:
        if info.name == name and not info.hidden and info.typer_instance is not None:
            return info.typer_instance
    sub = typer.Typer(help=GROUPS[name], no_args_is_help=True, cls=OrderedGroup)
    parent.add_typer(sub, name=name)
    return sub


def _old_help(help_text: str | None, path: str) -> str:
    """The help of an old spelling: the command's own, then where it lives now."""
    return f"{inspect.cleandoc(help_text or '')}\n\nOld spelling of `cropglobe {path}`, kept for one release.".lstrip()


def command(app: typer.Typer, path: str, *, old: str | None = None, top: bool = False,
            **settings: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command at ``path`` (``"data composite"``: group, then name) of ``app``.

    Args:
        app: The root app.
        path: Group names (keys of :data:`GROUPS`) and the command's name, space-separated.
        old: The flat name it had before the groups: added at the top as a hidden alias (same
            function, same options and exit codes; its help names the new spelling).
        top: Also list it at the top under its own name (the common verbs, e.g. ``transfer``).
        **settings: Passed to ``typer.Typer.command`` (``epilog`` ...).
    """
    *parents, name = path.split()

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        target = app
        for parent in parents:
            target = group(target, parent)
        target.command(name, **settings)(fn)
        if top:
            app.command(name, **settings)(fn)
        if old is not None:
            app.command(old, **{**settings, "hidden": True, "help": _old_help(settings.get("help", fn.__doc__), path)}
                        )(fn)
        return fn

    return register


def sub_app(app: typer.Typer, path: str, sub: typer.Typer, *, old: str | None = None) -> None:
    """Add the sub-app ``sub`` at ``path`` (``"data import"``) of ``app``; ``old``: its hidden flat alias."""
    *parents, name = path.split()
    target = app
    for parent in parents:
        target = group(target, parent)
    target.add_typer(sub, name=name)
    if old is not None:
        app.add_typer(sub, name=old, hidden=True, help=_old_help(sub.info.help, path))  # type: ignore[arg-type]
