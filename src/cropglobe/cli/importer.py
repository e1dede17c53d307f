"""``cropglobe data import FORMAT SRC --out PATH``, ``cropglobe data download [cropglobe|presto]``: data, weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._choices import Download, Flatten, ReleaseWindow, SeasonYear, UnknownPolicy, value
from cropglobe.cli._groups import command, sub_app

import_app = typer.Typer(help="Import real data (WorldCereal, CropGlobe release, generic tables) as a SampleSet.",
                         no_args_is_help=True)

Out = Annotated[Path, typer.Option("--out", "-o", help="Output Zarr SampleSet (written atomically).")]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace --out even when it is not a previous cropglobe store.")
]
Unknown = Annotated[
    UnknownPolicy, typer.Option("--unknown", help="Unknown label codes: error (default), other (map to 'other') or "
                                                 "drop.")
]
Region = Annotated[
    str | None, typer.Option("--region", help="Name the region of every sample (e.g. arkansas): studies can use "
                             "it as a source/target (sources: [arkansas], [USA:arkansas]).")
]


def _named(ds, region: str | None):
    from cropglobe import samples

    return ds if region is None else samples.with_region(ds, region)


_SEASON_YEAR_HELP = ("Which year names a southern season (it crosses the new year): start (the year it starts in, "
                     "cropglobe's convention) or end (the year it ends in, as the CropGlobe paper does).")


def _report(ds, out: Path) -> None:
    from rich.console import Console

    from cropglobe import summary, verbosity

    if verbosity.is_quiet():  # the path written only
        typer.echo(f"wrote {out}")
        return
    summary.render(summary.summarize(ds), title=str(out))
    console = Console()
    a = ds.attrs
    if a.get("layout"):
        console.print(f"layout: {a['layout']}")
    if a.get("bands_absent"):
        console.print(f"bands absent (all nodata, not imported): {', '.join(a['bands_absent'])}")
    if a.get("masked_out_of_range"):
        by_band = a.get("masked_out_of_range_by_band") or {}
        shown = f" ({', '.join(f'{k}: {v}' for k, v in by_band.items())})" if by_band else ""
        console.print(f"values outside reflectance 0-1.5 set to missing: {a['masked_out_of_range']}{shown}",
                      highlight=False)
    if a.get("valid_column"):
        console.print(f"rows with {a['valid_column']!r} invalid set to missing in every band: "
                      f"{a.get('masked_invalid_rows', 0)}", highlight=False)
    for cov in a.get("covariates") or []:
        console.print(f"covariates from {cov['path']} by {cov['id']!r}: "
                      f"{', '.join('cov_' + k for k in cov['columns'])}; samples without a row (NaN): "
                      f"{cov['samples_without_row']}, rows matching no sample: {cov['rows_without_sample']}",
                      highlight=False)
    if a.get("season_year_shifted"):
        console.print(f"season_year=end: {a['season_year_shifted']} southern samples stored as year - 1 "
                      "(the year their season starts)", highlight=False)
    counts = a.get("original_label_counts") or {}
    if counts:
        shown = ", ".join(f"{k}: {v}" for k, v in list(counts.items())[:15])
        more = f" (+{len(counts) - 15} more)" if len(counts) > 15 else ""
        console.print(f"original labels before mapping ({a.get('label_field', 'lbl')}): {shown}{more}", highlight=False)
    if a.get("unknown_labels"):
        console.print(f"unknown labels ({a.get('unknown_policy')}): {a['unknown_labels']}", highlight=False)
    _report_worldcereal(console, a)
    typer.echo(f"wrote {out}")


def _report_worldcereal(console, a: dict) -> None:
    """Print what the WorldCereal reader decided on its own: dropped code 0, snapped times, years, ignored columns."""
    if a.get("dropped_unknown_code0"):
        codes = "".join(f"{k}: {v}; " for k, v in (a.get("dropped_unknown_codes") or {}).items())
        console.print(f"dropped samples with codes the WorldCereal legend calls unknown: {a['dropped_unknown_code0']} "
                      f"({codes}--keep-code0 applies --unknown to them instead)", highlight=False)
    snap = a.get("timestamps_snapped")
    if snap:
        console.print(f"timestamps snapped to month/dekad starts (local time stored as UTC): {snap['rows']} rows, "
                      f"{snap['values']} distinct values, shift up to {snap['max_shift_hours']:g} h", highlight=False)
    if a.get("wide_time_rule"):
        console.print(f"wide time columns: {a['wide_time_rule']}", highlight=False)
    if a.get("year_source"):
        console.print(
            "season year from: " + ", ".join(f"{k} ({v})" for k, v in a["year_source"].items()), highlight=False
        )
    ignored = list(a.get("ignored_columns") or [])
    if ignored:
        more = f" (+{len(ignored) - 20} more)" if len(ignored) > 20 else ""
        console.print(
            f"ignored columns (not imported, {len(ignored)}): {', '.join(ignored[:20])}{more}", highlight=False
        )


def register(app: typer.Typer) -> None:
    """Add the ``import`` command group and the ``download`` command."""
    sub_app(app, "data import", import_app, old="import")

    @import_app.command("worldcereal")
    def worldcereal_cmd(
        src: Annotated[Path, typer.Argument(help="A WorldCereal extraction (.parquet / .geoparquet, long or wide).")],
        out: Out,
        unknown: Unknown = "error",
        country: Annotated[
            str | None, typer.Option(help="ISO3 country for every sample (default: from ref_id / lon-lat).")
        ] = None,
        overwrite: Overwrite = False,
        keep_code0: Annotated[
            bool,
            typer.Option(
                "--keep-code0",
                help="Apply --unknown to the codes the WorldCereal legend calls unknown (0, legacy 991 and "
                     "9700) instead of dropping those samples.",
            ),
        ] = False,
        region: Region = None,
        season_year: Annotated[SeasonYear, typer.Option("--season-year", help=_SEASON_YEAR_HELP)] = "start",
        legend: Annotated[Path | None, typer.Option(
            "--legend", help="YAML legend of your own: 'classes: [...]' (with 'other') and 'map: {code or "
                             "prefix*: class}' for the crop codes (default: the paper's 7 classes; see "
                             "configs/tables/worldcereal_legend_fra.yaml). Unmatched codes follow --unknown.")] = None,
    ) -> None:
        """Import WorldCereal point extractions (S2 L2A digital numbers, ewoc or legacy labels)."""
        from cropglobe import samples
        from cropglobe.sources.readers import read_worldcereal

        samples.check_output(out, overwrite)
        ds = _named(read_worldcereal(src, unknown=value(unknown), country=country, drop_code0=not keep_code0,
                                     season_year=value(season_year), legend=legend), region)
        samples.save(ds, out, overwrite=overwrite)
        _report(ds, out)

    @import_app.command("cropglobe")
    def cropglobe_cmd(
        src: Annotated[
            Path,
            typer.Argument(help="A CropGlobe release file: median_S2_{ISO3}_month*_day5.npz or harmonic_{ISO3}_*.npz."),
        ],
        out: Out,
        year: Annotated[int, typer.Option(help="Season year of the composites (not stored in the release).")],
        country: Annotated[str | None, typer.Option(help="ISO3 code (default: from the file name).")] = None,
        window: Annotated[
            ReleaseWindow | None, typer.Option(help="month1-12 or month5-11 (default: from the file name).")
        ] = None,
        flatten: Annotated[
            Flatten, typer.Option(help="Order of flattened (N, 10*T) rows: band-major or time-major.")
        ] = "band-major",
        scale: Annotated[
            float | None, typer.Option(help="Scale of integer values, e.g. 1e-4 (default: already reflectance).")
        ] = None,
        unknown: Unknown = "error",
        overwrite: Overwrite = False,
        region: Region = None,
    ) -> None:
        """Import the CropGlobe release (median composites as a SampleSet; harmonic files as a feature table)."""
        from cropglobe import samples
        from cropglobe.sources.readers import read_cropglobe_harmonic, read_cropglobe_npz

        samples.check_output(out, overwrite)
        if src.name.startswith("harmonic_"):
            table = read_cropglobe_harmonic(src, year=year, country=country, unknown=value(unknown))
            samples.write_zarr(table, out, overwrite=overwrite)
            typer.echo(f"harmonic feature table: {table.sizes['sample']} samples x {table.sizes['feature']} features")
            typer.echo(f"wrote {out}")
            return
        ds = _named(read_cropglobe_npz(src, year=year, country=country, window=value(window),
                                       flatten=value(flatten), scale=scale, unknown=value(unknown)), region)
        samples.save(ds, out, overwrite=overwrite)
        _report(ds, out)

    @import_app.command("table")
    def table_cmd(
        src: Annotated[list[Path], typer.Argument(help="CSV/TSV/Parquet file(s) with the same layout.")],
        mapping: Annotated[Path, typer.Option("--mapping", "-m", help="YAML mapping (see configs/tables/).")],
        out: Out,
        unknown: Annotated[
            UnknownPolicy | None,
            typer.Option("--unknown", help="Override the mapping's unknown-label policy: error, other or drop."),
        ] = None,
        season_year: Annotated[
            SeasonYear | None,
            typer.Option("--season-year", help=_SEASON_YEAR_HELP + " Overrides the mapping's season_year."),
        ] = None,
        overwrite: Overwrite = False,
        region: Region = None,
    ) -> None:
        """Import a generic table (long or wide) described by a YAML mapping (several files: one set)."""
        from cropglobe import samples
        from cropglobe.sources.readers import read_table

        samples.check_output(out, overwrite)
        ds = _named(read_table(src, mapping, unknown=value(unknown), season_year=value(season_year)), region)
        samples.save(ds, out, overwrite=overwrite)
        _report(ds, out)

    @command(app, "data download", old="download")
    def download_cmd(
        what: Annotated[Download, typer.Argument(
            help="What to download: 'cropglobe' (the CropGlobe release, the default) or 'presto' (Presto's pretrained "
                 "default_model.pt).", case_sensitive=False)] = "cropglobe",
        dest: Annotated[Path | None, typer.Option("--out", "--dest", "-o", "-d", help=(
            "cropglobe: folder for the downloaded files (required); presto: weights file or folder (default: "
            "~/.cache/cropglobe/presto/default_model.pt)."))] = None,
        countries: Annotated[list[str] | None, typer.Option(
            "--country", "-c", help="cropglobe: ISO3 code(s) to fetch (default: all).")] = None,
        revision: Annotated[str | None, typer.Option(help="Branch, tag or commit of the hub repository.")] = None,
        any_sha256: Annotated[bool, typer.Option(
            "--any-sha256", help="presto: accept a file that is not the published default_model.pt.")] = False,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out even when it is not a previous "
                                                                    "download.")] = False,
    ) -> None:
        """Download the CropGlobe release (x-ytong/CropGlobe) or Presto's weights (nasaharvest/presto) from the hub."""
        from cropglobe.errors import CropGlobeError

        kind = str(value(what))
        if kind == "presto":
            if countries:
                raise CropGlobeError("cropglobe data download presto: --country is for the CropGlobe release; expected "
                                     "`cropglobe data download presto [--out PATH]`")
            from cropglobe.features.presto.download import PRESTO_SHA256, download_presto

            path = download_presto(dest, revision=revision, sha256=None if any_sha256 else PRESTO_SHA256,
                                   overwrite=overwrite)
            typer.echo(f"downloaded Presto weights to {path}")
            return
        if dest is None:
            raise CropGlobeError("cropglobe data download: the CropGlobe release needs a destination folder; expected "
                                 "`cropglobe data download [cropglobe] --out FOLDER`")
        from cropglobe.sources.readers import download_cropglobe

        codes = [c for item in countries or [] for c in item.split(",") if c]
        path = download_cropglobe(dest, countries=codes or None, revision=revision, overwrite=overwrite)
        typer.echo(f"downloaded to {path}")
