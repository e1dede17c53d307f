"""``cropglobe assess sample`` and ``cropglobe assess accuracy``: a stratified reference sample of a map, and its
area-adjusted accuracy and class areas with confidence intervals (Olofsson et al. 2014)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._groups import command

#: The header of an accuracy table written by ``cropglobe assess accuracy --out``.
ACCURACY_HEADER = "class,map_area_ha,samples,users_accuracy"


def _is_points_file(path: Path) -> bool:
    """A previous ``sample-reference`` output: its columns start with the point columns."""
    from cropglobe.mapping.reference import POINT_COLUMNS

    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
        else:
            with open(path, encoding="utf-8") as fh:
                names = fh.readline().strip().split(",")
    except Exception:  # anything unreadable is not a previous sample
        return False
    return tuple(names[:len(POINT_COLUMNS)]) == POINT_COLUMNS


def _is_accuracy_table(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.readline().startswith(ACCURACY_HEADER)
    except (OSError, UnicodeDecodeError):
        return False


def register(app: typer.Typer) -> None:
    """Add the ``sample-reference`` and ``accuracy`` commands."""

    @command(app, "assess sample", old="sample-reference",
             epilog="Examples:\n\n  cropglobe assess sample map.tif --out points.csv --per-class 50\n\n"
                    "  cropglobe assess sample map.tif --out points.parquet --total 600 --min-per-class 50 --seed 1")
    def sample_cmd(
        map_path: Annotated[Path, typer.Argument(help="A class map (GeoTIFF of `cropglobe map`).")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Points: .csv, or .parquet for GeoParquet.")],
        per_class: Annotated[int | None, typer.Option(help="Points per map class (equal allocation; default 50).")]
        = None,
        total: Annotated[int | None, typer.Option(help="Or a total, allocated by mapped area.")] = None,
        min_per_class: Annotated[int, typer.Option(help="With --total: at least this many per class.")] = 0,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace whatever is at --out.")] = False,
    ) -> None:
        """Draw a stratified random reference sample of a class map (strata = map classes), to label by eye."""
        from cropglobe import verbosity
        from cropglobe.atomic import check_replaceable, guarded_path
        from cropglobe.errors import CropGlobeError
        from cropglobe.mapping import reference

        kind = "cropglobe reference sample"
        check_replaceable(out, kind, _is_points_file, overwrite)  # before any work
        if seed < 0:
            raise CropGlobeError(f"--seed {seed}: expected a whole number >= 0")
        points = reference.draw(map_path, per_class=per_class if per_class or total else 50, total=total,
                                minimum=min_per_class, seed=seed)
        with guarded_path(out, kind, _is_points_file, overwrite) as tmp:
            reference.write_points(points, tmp, geoparquet=reference.is_geoparquet_name(out))
        if not verbosity.is_quiet():
            counts = points["map_class"].value_counts()
            typer.echo("points per map class: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
            typer.echo("fill in the 'reference' column, then run: cropglobe assess accuracy "
                       f"{map_path} {out}")
        typer.echo(f"wrote {out} ({len(points)} points)")

    @command(app, "assess accuracy", old="accuracy",
             epilog="Example:\n\n  cropglobe assess accuracy map.tif points.csv --out accuracy.csv")
    def accuracy_cmd(
        map_path: Annotated[Path, typer.Argument(help="A class map (GeoTIFF of `cropglobe map`).")],
        reference_path: Annotated[
            Path, typer.Argument(help="Labelled points: CSV or GeoParquet with lon, lat and the reference class.")
        ],
        column: Annotated[str, typer.Option(help="Column holding the reference class names.")] = "reference",
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the table as CSV.")] = None,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace whatever is at --out.")] = False,
    ) -> None:
        """Area-adjusted accuracy and class areas (95 % CI) from a stratified reference sample (Olofsson 2014)."""
        import pandas as pd
        from rich.console import Console
        from rich.table import Table

        from cropglobe.atomic import check_replaceable, guarded_path
        from cropglobe.mapping import reference

        if out is not None:
            check_replaceable(out, "cropglobe accuracy table", _is_accuracy_table, overwrite)  # before any work
        result = reference.assess(map_path, reference_path, column)
        est = result.estimate
        table = Table(title=f"{map_path.name}: stratified estimates (Olofsson et al. 2014), ± 95 % CI"
                      + (" — SIMULATED DATA" if result.simulated else ""))
        for name in ("class", "mapped ha", "samples", "user's acc.", "producer's acc.", "estimated ha"):
            table.add_column(name, justify="left" if name == "class" else "right")
        frame = est.table()
        for _, r in frame.iterrows():
            table.add_row(str(r["class"]), f"{r['map_area']:,.1f}", str(int(r["samples"])),
                          _pm(r["users_accuracy"], r["users_ci"], 3),
                          _pm(r["producers_accuracy"], r["producers_ci"], 3),
                          _pm(r["area"], r["area_ci"], 1, ","))
        console = Console()
        console = Console(width=max(console.width, 110))  # the table whole, also in a log
        console.print(table)
        if result.simulated:
            console.print("[bold yellow]SIMULATED DATA: a map of the simulator's cube; not a real-world accuracy.[/]")
        console.print(f"overall accuracy {_pm(est.overall, est.overall_ci, 3)}; {result.points_used} points used"
                      + (f", {result.points_off_map} off the map or on nodata (left out)" if result.points_off_map
                         else ""), highlight=False)
        if out is not None:
            frame = frame.rename(columns={"map_area": "map_area_ha", "area": "area_ha", "area_ci": "area_ci_ha",
                                          "area_low": "area_low_ha", "area_high": "area_high_ha"})
            overall = pd.DataFrame([{"class": "(overall accuracy)", "samples": int(frame["samples"].sum()),
                                     "users_accuracy": est.overall, "users_ci": est.overall_ci}])
            with guarded_path(out, "cropglobe accuracy table", _is_accuracy_table, overwrite) as tmp:
                pd.concat([frame, overall], ignore_index=True).to_csv(tmp, index=False)
            console.print(f"wrote {out}")


def _pm(value: float, ci: float, digits: int, sep: str = "") -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:{sep}.{digits}f}"
    return text + ("" if ci is None or math.isnan(ci) else f" ± {ci:{sep}.{digits}f}")
