"""Read openEO / WorldCereal NetCDF and Zarr cubes in their native layout: one variable per band.

What openEO's ``save_result`` (GeoTrellis back-end, GFMAP pre-processing) writes for ESA WorldCereal
(see ``../shared/data/worldcereal_cubes/README.md``): CF-1.9, one variable per band with dims
``t, y, x``, named ``B02`` ... ``B12`` or ``S2-L2A-B02`` ..., a grid-mapping variable (``crs``, WKT in
``crs_wkt`` / ``spatial_ref``), int16 values flagged ``_Unsigned: true`` (Sentinel-2 L2A digital
numbers: reflectance x 10 000, 65535 = nodata) and monthly or dekadal composites (``t`` = period
start). Such cubes also hold Sentinel-1 backscatter, AgERA5 meteo and DEM variables; they are
ignored (listed in ``attrs["ignored_variables"]`` with the reason).

:func:`open_openeo` turns the file into the project's cube form (see :mod:`cropglobe.mapping.cube`)
without loading it: canonical band variables (``B2`` ...) with dims ``time, y, x``, a ``band``
coordinate in Sentinel-2 order, the CRS via rioxarray (the CF grid mapping; pyproj parses the
WKT), datetime ``time`` = period starts and ``bin_days`` = days of each period, as the WorldCereal
importer (:mod:`cropglobe.sources.readers.worldcereal`) gives them to training. A map therefore treats the
cube as a pre-composited one: :func:`cropglobe.mapping.predict.composite_block` re-grids the
periods onto the aligned 5-day bins by linear interpolation between period centres, exactly as
:func:`cropglobe.temporal.composite.composite` re-grids a coarse composite SampleSet.

Decoding relies on xarray's CF decoding (``mask_and_scale=True``): it turns ``_Unsigned`` int16
into uint16 itself (and applies a ``_FillValue`` / ``scale_factor`` when a file declares them).
Undeclared values follow the WorldCereal convention: scale ``1e-4``, nodata 65535
(:func:`decoding`). Digital numbers above 15000 (reflectance > 1.5, outside the SampleSet range) are
missing, as in the WorldCereal importer (:data:`cropglobe.sources.readers.worldcereal.MAX_DN`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401 - registers the .rio accessor
import xarray as xr

from cropglobe import bands as _bands
from cropglobe.errors import CropGlobeError
from cropglobe.mapping.cube import Decoding

if TYPE_CHECKING:
    from cropglobe.mapping.cube import CubeSource

log = logging.getLogger(__name__)

#: Scale and nodata of undeclared openEO / WorldCereal Sentinel-2 values (L2A digital numbers).
DN_SCALE = 1e-4
DN_NODATA = 65535
#: Largest reflectance kept; above it a value is missing (the SampleSet range, see cropglobe.bands).
MAX_REFLECTANCE = 1.5
_TIME_DIMS = ("t", "time")
#: Variables of WorldCereal/openEO cubes that are not Sentinel-2 reflectance, and why they are ignored.
_IGNORED = (
    (re.compile(r"^(S1-SIGMA0-)?(VH|VV|HH|HV)$|^S1-", re.I), "Sentinel-1 backscatter"),
    (re.compile(r"^AGERA5-|^(temperature|precipitation|precip|tmean|solar|wind|vapour)", re.I), "meteo (AgERA5)"),
    (re.compile(r"^(DEM|COP-DEM|elevation|slope|altitude|aspect)$", re.I), "terrain (DEM)"),
)


def is_openeo(path: Path) -> bool:
    """True when ``path`` is a NetCDF/Zarr cube in the openEO layout (band variables, no ``reflectance``)."""
    try:
        ds = _open(path)
    except CropGlobeError:
        return False
    if "reflectance" in ds.variables:
        return False
    try:
        return bool(_classify(ds, _time_dim(ds))[0])
    except CropGlobeError:  # e.g. two variables of one band: open_openeo reports it with the path
        return True


def _open(path: Path) -> xr.Dataset:
    """Open lazily with CF decoding (``_Unsigned`` -> unsigned, declared fill/scale applied), no Dask."""
    try:
        if path.is_dir() or path.suffix == ".zarr":
            return xr.open_zarr(path, decode_coords="all", chunks=None, mask_and_scale=True)
        return xr.open_dataset(path, chunks=None, decode_coords="all", mask_and_scale=True)
    except Exception as err:  # any reader failure is one input error
        raise CropGlobeError(f"{path}: cannot open the cube as Zarr or NetCDF ({type(err).__name__}: {err})") from None


def _time_dim(ds: xr.Dataset) -> str | None:
    return next((d for d in _TIME_DIMS if d in ds.dims), None)


def _classify(ds: xr.Dataset, tdim: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """``({canonical band: variable}, {ignored variable: reason})`` of a dataset's data variables."""
    found: dict[str, str] = {}
    ignored: dict[str, str] = {}
    for name in map(str, ds.data_vars):
        var = ds[name]
        if tdim is None or set(var.dims) != {tdim, "y", "x"}:
            ignored[name] = f"dims {var.dims}, not ({tdim or 't'}, y, x)"
            continue
        reason = next((why for pattern, why in _IGNORED if pattern.search(name)), None)
        if reason is not None:
            ignored[name] = reason
            continue
        try:
            band = _bands.canonical_band(name)
        except CropGlobeError:
            ignored[name] = "not a Sentinel-2 band name"
            continue
        if band not in _bands.S2_WAVELENGTH_NM:
            ignored[name] = "not a Sentinel-2 reflectance band"
            continue
        if band in found:
            raise CropGlobeError(f"variables {found[band]!r} and {name!r} are both band {band}; "
                                 "expected one variable per band")
        found[band] = name
    return found, ignored


def open_openeo(path: Path) -> xr.Dataset:
    """Open an openEO / WorldCereal cube as the project's (lazy) cube form.

    Args:
        path: A NetCDF file or Zarr store in the openEO layout.

    Returns:
        A dataset with one variable per canonical band (``B2`` ...; dims ``time, y, x``, values as
        stored after CF decoding), a ``band`` coordinate in Sentinel-2 order, ``bin_days`` along
        ``time``, the CRS written by rioxarray and attrs ``time_kind="composite"``,
        ``composite_period``, ``band_variables`` and ``ignored_variables``.

    Raises:
        CropGlobeError: Unreadable file, no Sentinel-2 band variable, a band variable with other
            dims or a different encoding, no CRS, or time steps that are not month or dekad starts.
    """
    where = str(path)
    ds = _open(path)
    tdim = _time_dim(ds)
    try:
        found, ignored = _classify(ds, tdim)
    except CropGlobeError as err:
        raise CropGlobeError(f"{where}: {err}") from None
    if not found:
        raise CropGlobeError(f"{where}: no Sentinel-2 band variable; expected a 'reflectance' variable "
                             "(time, band, y, x) or one variable per band (openEO / WorldCereal layout: B02 ... "
                             f"or S2-L2A-B02 ..., dims t, y, x); found {sorted(map(str, ds.data_vars))}")
    assert tdim is not None  # _classify finds bands only along a time dim
    order = [b for b in _bands.S2_BANDS if b in found] + sorted(
        (b for b in found if b not in _bands.S2_BANDS), key=lambda b: _bands.S2_WAVELENGTH_NM[b])
    first = ds[found[order[0]]]
    for band in order[1:]:
        var = ds[found[band]]
        if var.dtype != first.dtype or _cf_encoding(var) != _cf_encoding(first):
            raise CropGlobeError(f"{where}: variable {found[band]!r} is {var.dtype} {_cf_encoding(var)} but "
                                 f"{found[order[0]]!r} is {first.dtype} {_cf_encoding(first)}; expected every band "
                                 "stored the same way")
    crs = ds.rio.crs
    if crs is None:
        raise CropGlobeError(f"{where}: no CRS; expected a CF grid-mapping variable (e.g. 'crs' with crs_wkt or "
                             f"spatial_ref) named by the band variables' grid_mapping attribute")
    times = ds[tdim].values
    if not np.issubdtype(times.dtype, np.datetime64):
        raise CropGlobeError(f"{where}: time coordinate {tdim!r} has dtype {times.dtype}; expected CF dates "
                             "(units 'days since ...')")
    period, bin_days = composite_period(times, where)
    if ignored:
        log.info("%s: ignoring %s", where, ", ".join(f"{k} ({v})" for k, v in ignored.items()))
    out = ds[[found[b] for b in order]].rename({found[b]: b for b in order})
    out = out.rename({tdim: "time"}) if tdim != "time" else out
    out = out.drop_vars([c for c in out.coords if c not in ("time", "y", "x")])
    out = out.transpose("time", "y", "x").assign_coords(band=("band", order), bin_days=("time", bin_days))
    out.attrs = {**{k: v for k, v in ds.attrs.items() if isinstance(v, (str, int, float))},
                 "time_kind": "composite", "composite_period": period, "layout": "openeo",
                 "band_variables": {b: found[b] for b in order}, "ignored_variables": ignored}
    return out.rio.write_crs(crs)


def _cf_encoding(var: xr.DataArray) -> dict[str, Any]:
    """The CF decoding a variable went through (the encoding keys xarray consumed)."""
    keys = ("dtype", "scale_factor", "add_offset", "_FillValue", "missing_value", "_Unsigned")
    return {k: str(var.encoding[k]) for k in keys if k in var.encoding}


def composite_period(times: np.ndarray, where: str) -> tuple[str, np.ndarray]:
    """``("month" | "dekad", bin_days)`` of composite period starts (days to the next period start).

    The same widths as the WorldCereal importer gives training (``bin_days`` of a monthly step =
    days of its month; dekads 10, 10 and the rest of the month).

    Raises:
        CropGlobeError: When the dates are not all month starts or all dekad starts (1, 11, 21).
    """
    t = pd.DatetimeIndex(times)
    if (t != t.normalize()).any():
        raise CropGlobeError(f"{where}: time steps have a time of day (e.g. {t[t != t.normalize()][0]}); expected "
                             "monthly or dekadal composites dated by their first day")
    if (t.day == 1).all():
        return "month", t.days_in_month.to_numpy(np.int32)
    if np.isin(t.day, [1, 11, 21]).all():
        return "dekad", np.where(t.day < 21, 10, t.days_in_month - 20).astype(np.int32)
    raise CropGlobeError(f"{where}: time steps fall on days {sorted(set(t.day.tolist()))[:6]}; expected monthly "
                         "(day 1) or dekadal (days 1, 11, 21) composites, as openEO aggregate_temporal_period "
                         "writes them")


def decoding(source: CubeSource) -> Decoding:
    """How the cube's values (after xarray's CF decoding) become reflectance.

    Integer values (uint16 after ``_Unsigned``) are digital numbers: ``--scale`` or ``1e-4``,
    ``--nodata`` or 65535. Floats that xarray scaled (a declared ``scale_factor``) are reflectance
    already (NaN = missing); floats without one are digital numbers masked by a declared fill.

    Raises:
        CropGlobeError: When ``--scale`` contradicts a ``scale_factor`` xarray already applied.
    """
    ds = source.open()
    var = ds[str(ds["band"].values[0])]
    integer = np.issubdtype(var.dtype, np.integer)
    if "scale_factor" in var.encoding and not integer:
        if source.scale is not None and not np.isclose(source.scale, 1.0):
            raise CropGlobeError(f"{source.path}: the bands declare scale_factor {var.encoding['scale_factor']} "
                                 f"(already applied) but scale={source.scale:g} was given; expected no scale")
        return Decoding(scale=1.0, nodata=float("nan") if source.nodata is None else float(source.nodata))
    scale = DN_SCALE if source.scale is None else float(source.scale)
    nodata = DN_NODATA if source.nodata is None else float(source.nodata)
    return Decoding(scale=scale, nodata=float(nodata))


def read_raw(source: CubeSource, rows: slice, cols: slice, bands: list[str],
             time: slice = slice(None)) -> np.ndarray:
    """Read a window of the bands ``bands`` (in that order): (time, band, h, w) in the decoded dtype.

    Values whose reflectance would exceed :data:`MAX_REFLECTANCE` become the nodata value (NaN
    for floats), so they are missing exactly as in the WorldCereal importer.
    """
    ds = source.open()
    window = {"time": time, "y": rows, "x": cols}
    refl = np.stack([ds[b].variable.isel(window).values for b in bands], axis=1)
    dec = source.decoding
    limit = MAX_REFLECTANCE / dec.scale if dec.scale > 0 else np.inf
    too_big = refl > (np.floor(limit + 1e-6) if np.issubdtype(refl.dtype, np.integer) else limit)
    if too_big.any():
        if np.isnan(dec.nodata) and np.issubdtype(refl.dtype, np.integer):
            refl = refl.astype(np.float32)
        refl[too_big] = np.nan if np.isnan(dec.nodata) else dec.nodata
    return refl


def chunk_rows(source: CubeSource) -> int | None:
    """Rows per storage chunk of the band variables, or None when unchunked/unknown."""
    ds = source.open()
    var = ds[str(ds["band"].values[0])]
    chunks = var.encoding.get("chunks") or var.encoding.get("chunksizes")
    return int(chunks[var.dims.index("y")]) if chunks else None


def check_values(source: CubeSource, where: str) -> None:
    """Raise when a sample window decodes to reflectance whose median is above 1.5 (a wrong ``--scale``)."""
    ds = source.open()
    dec = source.decoding
    var = ds[str(ds["band"].values[0])]
    probe = dec.reflectance(var.isel(y=slice(0, 64), x=slice(0, 64), time=slice(0, 8)).values)
    probe = probe[np.isfinite(probe)]
    if probe.size and float(np.median(probe)) > MAX_REFLECTANCE:
        raise CropGlobeError(f"{where}: reflectance decodes to a median of {float(np.median(probe)):.6g} with scale "
                             f"{dec.scale:g}; expected reflectance 0-1 (openEO / WorldCereal digital numbers need "
                             "scale 1e-4, the default)")
