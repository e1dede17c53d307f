"""``cropglobe bench``: run the ratio benchmarks in ``benchmarks/`` and print JSON lines."""

from __future__ import annotations

from typing import Annotated

import typer


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
            str | None, typer.Option("--device", help="cpu or cuda: run the benchmarks that take a device there.")
        ] = None,
    ) -> None:
        """Run performance benchmarks; one JSON object per line with a same-run ratio (null + why when too busy)."""
        from cropglobe import bench
        from cropglobe.errors import CropGlobeError

        if list_:
            for bm in bench.discover().values():
                typer.echo(f"{bm.name:12s} {bm.description}")
            return
        if device not in (None, "cpu", "cuda"):
            raise CropGlobeError(f"--device {device}: expected cpu or cuda")
        for result in bench.run(names or None, quick=quick, device=device):
            typer.echo(bench.dumps(result))
