"""The ``cropglobe`` command line: a Typer app with one command per pipeline stage.

Each module in this package (other than this one) defines ``register(app)`` that adds its
commands; they are discovered in alphabetical order, so adding a stage means adding one file.
Heavy imports (torch, dask ...) stay inside the command functions to keep ``--help`` fast.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.console import Console

from cropglobe.errors import CropGlobeError

app = typer.Typer(
    name="cropglobe",
    help="Crop-type mapping with invariant spectral-temporal features (Tong & Wang, arXiv:2509.03497).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_info.name}").register(app)


def main() -> None:
    """Entry point of the console script: run the app, turning input errors into one clear line."""
    try:
        app(standalone_mode=False)
    except CropGlobeError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        Console(stderr=True).print("aborted")
        sys.exit(1)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
