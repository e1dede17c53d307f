"""``cropglobe bench``: run the ratio benchmarks in ``benchmarks/`` and print JSON lines."""

from __future__ import annotations

from typing import Annotated

import typer

from cropglobe.cli._choices import BenchDevice, value


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command."""

    @app.command("bench")
    def bench_cmd(
        names: Annotated[list[str] | None, typer.Argument(help="Benchmarks to run (default: all).")] = None,
        list_: Annotated[bool, typer.Option("--list", help="List the benchmarks and exit.")] = False,
        quick: Annotated[
            bool, typer.Option("--quick", help="Tiny sizes: checks the plumbing, not performance.")
        ] = False,
        device: Annotated[
            BenchDevice | None, typer.Option("--device", help="cpu or cuda: run the benchmarks that take a device "
                                                              "there.")
        ] = None,
    ) -> None:
        """Run performance benchmarks; one JSON object per line with a same-run ratio (null + why when too busy)."""
        from cropglobe import bench

        if list_:
            for bm in bench.discover().values():
                typer.echo(f"{bm.name:12s} {bm.description}")
            return
        for result in bench.run(names or None, quick=quick, device=value(device)):
            typer.echo(bench.dumps(result))
