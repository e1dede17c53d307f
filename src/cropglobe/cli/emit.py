"""``cropglobe data emit``: sample EMIT L2A reflectance granules at points; search and download granules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._groups import sub_app


def register(app: typer.Typer) -> None:
    """Add the ``emit`` command group (``sample``, ``search``)."""
    emit_app = typer.Typer(help="NASA EMIT hyperspectral L2A surface reflectance.", no_args_is_help=True)
    sub_app(app, "data emit", emit_app, old="emit")

    @emit_app.command("sample")
    def sample_cmd(
        granules: Annotated[list[Path], typer.Argument(help="EMIT L2A RFL NetCDF granules (EMIT_L2A_RFL_*.nc).")],
        points: Annotated[
            Path, typer.Option("--points", "-p", help="CSV with sample_id, lon, lat, country, year, label.")
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output Zarr SampleSet.")],
        keep_uncovered: Annotated[
            bool, typer.Option("--keep-uncovered", help="Keep points without any valid EMIT pixel (all NaN).")
        ] = False,
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Replace --out even when it is not a previous cropglobe store.")
        ] = False,
    ) -> None:
        """Orthorectify granules through their GLT and sample good-band reflectance at the points."""
        from cropglobe import samples
        from cropglobe.sources.emit import sample_points

        samples.check_output(out, overwrite)
        ds = sample_points(granules, points, drop_uncovered=not keep_uncovered)
        samples.save(ds, out, overwrite=overwrite)
        typer.echo(f"wrote {out}: {ds.sizes['sample']} samples x {ds.sizes['band']} good bands x "
                   f"{ds.sizes['time']} acquisitions")
        for note in ds.attrs["history"][1:]:
            typer.echo(note)

    @emit_app.command("search")
    def search_cmd(
        bbox: Annotated[str, typer.Option("--bbox", help="west,south,east,north in degrees.")],
        start: Annotated[str, typer.Option("--start", help="First date, YYYY-MM-DD.")],
        end: Annotated[str, typer.Option("--end", help="Last date, YYYY-MM-DD.")],
        count: Annotated[int, typer.Option("--count", "-n", help="Most granules to list.")] = 50,
        max_cloud: Annotated[float | None, typer.Option("--max-cloud", help="Maximum cloud cover (%).")] = None,
        download: Annotated[
            Path | None,
            typer.Option(
                "--download", help="Download the found granules into this folder (needs a NASA Earthdata Login)."
            ),
        ] = None,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds per HTTP request.")] = 10.0,
    ) -> None:
        """Search NASA CMR for EMIT L2A reflectance granules (needs the internet)."""
        from cropglobe.errors import CropGlobeError
        from cropglobe.sources.emit import search as emit_search

        try:
            box = [float(v) for v in bbox.split(",")]
        except ValueError:
            raise CropGlobeError(f"--bbox {bbox!r}: expected four numbers west,south,east,north") from None
        found = emit_search.search(box, start, end, count=count, max_cloud=max_cloud, timeout=timeout)
        for rec in found:
            typer.echo(f"{rec.granule_id}\t{rec.time}\tcloud {rec.cloud_cover:g}%\t{rec.url}")
        typer.echo(f"{len(found)} granule(s)")
        if download is not None and found:
            files = emit_search.download(found, download)
            typer.echo(f"downloaded {len(files)} granule(s) to {download}")
