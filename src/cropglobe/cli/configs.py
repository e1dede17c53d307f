"""``cropglobe configs``: list and copy the example configs shipped with the package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._choices import ConfigSet, value


def register(app: typer.Typer) -> None:
    """Add the ``configs`` command group (``list``, ``copy``)."""
    configs_app = typer.Typer(help="The example specs and import mappings shipped with cropglobe.",
                              no_args_is_help=True)
    app.add_typer(configs_app, name="configs")

    @configs_app.command("list", epilog="Example:\n\n  cropglobe configs list")
    def list_cmd() -> None:
        """List the shipped example configs, set by set."""
        from cropglobe.examples import CONFIG_SETS, packaged_files

        files = packaged_files()
        for name, what in CONFIG_SETS.items():
            typer.echo(f"{name}/: {what}")
            for rel in files:
                if rel.startswith(f"{name}/"):
                    typer.echo(f"  {rel}")

    @configs_app.command("copy", epilog="Examples:\n\n  cropglobe configs copy my-configs\n\n"
                                        "  cropglobe configs copy my-configs --only realdata --only tables")
    def copy_cmd(
        dest: Annotated[Path, typer.Argument(help="A new (or empty) folder to copy the configs into.")],
        only: Annotated[
            list[ConfigSet] | None,
            typer.Option("--only", help="Copy only this set (demo, realdata, tables, acquire, paper); repeatable."),
        ] = None,
    ) -> None:
        """Copy the example configs into DIR (refuses a folder that holds anything)."""
        from cropglobe import verbosity
        from cropglobe.examples import copy_configs

        copied = copy_configs(dest, [str(value(s)) for s in only] if only else None)
        if not verbosity.is_quiet():
            typer.echo(f"copied {len(copied)} example configs into {dest}")
