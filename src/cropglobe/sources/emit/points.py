"""Sample EMIT granules at labelled points into an observation-level SampleSet.

The points table (CSV) has one row per sample with columns ``sample_id``, ``lon``, ``lat``,
``country`` (ISO alpha-3), ``year`` (season year) and ``label`` (class name or alias). Each granule
is one acquisition; the SampleSet's ``time`` axis holds the granules' ``time_coverage_start``
(irregular ISS revisits), its bands are the good bands named ``R<nm>`` and its ``clear`` score is
the fraction of good bands with a valid value for that sample and acquisition.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.sources.emit.granule import EmitGranule, open_granule, sample_granule

POINT_COLUMNS = ("sample_id", "lon", "lat", "country", "year", "label")


def read_points(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a points table (CSV with :data:`POINT_COLUMNS`).

    Raises:
        CropGlobeError: If the file is missing or unreadable, a column is missing, a coordinate is
            not a number inside [-180, 180] / [-90, 90], a year is not whole, or ids repeat.
    """
    p = Path(path)
    try:
        table = pd.read_csv(p, dtype={"sample_id": str, "country": str, "label": str})
    except FileNotFoundError:
        raise CropGlobeError(
            f"{p}: no such points table (expected a CSV with columns {', '.join(POINT_COLUMNS)})"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CropGlobeError(f"{p}: cannot be read as a CSV points table ({err})") from None
    missing = [c for c in POINT_COLUMNS if c not in table.columns]
    if missing:
        raise CropGlobeError(f"{p}: missing column(s) {missing}; expected {list(POINT_COLUMNS)}")
    if table.empty:
        raise CropGlobeError(f"{p}: the points table has no rows")
    for name, bound in (("lon", 180.0), ("lat", 90.0)):
        values = pd.to_numeric(table[name], errors="coerce")
        bad = values.isna() | (values.abs() > bound)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise CropGlobeError(f"{p}: row {row + 2}, column {name!r}: {table[name].iloc[row]!r} is not a number in "
                                 f"[-{bound:g}, {bound:g}]")
        table[name] = values.astype(float)
    years = pd.to_numeric(table["year"], errors="coerce")
    bad = years.isna() | (years != years.round())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise CropGlobeError(f"{p}: row {row + 2}, column 'year': {table['year'].iloc[row]!r} is not a whole year")
    table["year"] = years.astype(int)
    dup = table["sample_id"].duplicated()
    if dup.any():
        raise CropGlobeError(
            f"{p}: sample_id {table['sample_id'][dup].iloc[0]!r} appears more than once; expected unique ids"
        )
    return table.reset_index(drop=True)


def _common_bands(granules: Sequence[EmitGranule]) -> list[str]:
    first = granules[0]
    for g in granules[1:]:
        if g.band_names != first.band_names:
            raise CropGlobeError(
                f"{g.path}: its good bands ({len(g.band_names)}, {g.band_names[0]}..{g.band_names[-1]}) differ from "
                f"{first.path} ({len(first.band_names)}, {first.band_names[0]}..{first.band_names[-1]}); "
                "expected granules of one EMIT product version"
            )
    return first.band_names


def sample_points(granules: Sequence[str | os.PathLike | EmitGranule], points: pd.DataFrame | str | os.PathLike,
                  *, drop_uncovered: bool = True) -> xr.Dataset:
    """Sample EMIT granules at labelled points and return an observation-level SampleSet.

    Granules with the same ``time_coverage_start`` are merged (first valid value wins); points
    that no granule covers with a valid value are dropped when ``drop_uncovered`` (the count is
    recorded in the history), since a feature cannot be computed for them.

    Args:
        granules: EMIT L2A RFL files (or opened granules).
        points: A points table (DataFrame or CSV path, see :func:`read_points`).
        drop_uncovered: Drop samples without any valid observation.

    Returns:
        SampleSet ``(sample, band, time)`` with ``sensor="EMIT"``, ``processing_level="L2A"``.

    Raises:
        CropGlobeError: On a bad granule or points table, granules with different bands, or when no
            point has a valid observation.
    """
    if not granules:
        raise CropGlobeError("emit sample: no granules given (expected EMIT_L2A_RFL_*.nc files)")
    table = points if isinstance(points, pd.DataFrame) else read_points(points)
    opened = [g if isinstance(g, EmitGranule) else open_granule(g) for g in granules]
    names = _common_bands(opened)
    times = np.array(sorted({g.time for g in opened}), dtype="datetime64[ns]")
    lon, lat = table["lon"].to_numpy(float), table["lat"].to_numpy(float)
    cube = np.full((len(table), len(names), times.size), np.nan, dtype=np.float32)
    for g in opened:
        t = int(np.searchsorted(times, g.time))
        values = sample_granule(g, lon, lat)
        slot = cube[:, :, t]
        fill = np.isnan(slot)
        slot[fill] = values[fill]
    clear = np.isfinite(cube).mean(axis=1).astype(np.float32)
    covered = clear.max(axis=1) > 0
    if not covered.any():
        raise CropGlobeError(f"emit sample: none of the {len(table)} points has a valid pixel in the "
                             f"{len(opened)} granule(s); expected points inside the granules' footprints")
    history = [f"emit.sample_points(granules={[str(g.path) for g in opened]}, points={len(table)})"]
    keep = np.flatnonzero(covered) if drop_uncovered else np.arange(len(table))
    if drop_uncovered and not covered.all():
        history.append(f"dropped {int((~covered).sum())} point(s) without a valid EMIT observation")
    sub = table.iloc[keep]
    wl = opened[0].good_wavelengths
    ds = samples.build(
        samples.SampleArrays(cube[keep], bands=names, time=times, sample_id=sub["sample_id"].to_numpy(str),
        label=sub["label"].to_numpy(str), country=sub["country"].to_numpy(str), year=sub["year"].to_numpy(int),
        lon=sub["lon"].to_numpy(float), lat=sub["lat"].to_numpy(float), clear=clear[keep]),
        attrs={"sensor": "EMIT", "processing_level": "L2A", "time_kind": "observations",
               "source": "NASA EMIT L2A surface reflectance (EMITL2ARFL)", "history": history,
               "granules": [g.path.name for g in opened]},
        where="emit sample",
    )
    ds = ds.assign_coords(wavelength=("band", wl.astype(np.float64)),
                          fwhm=("band", opened[0].fwhm[opened[0].good].astype(np.float64)))
    return ds
