"""Read the raster time-series cube to map: a Zarr/NetCDF cube, a folder of per-date GeoTIFFs, or STAC.

A PRE-COMPOSITED cube (e.g. an Earth Engine 5-day median export) has a ``bin_days`` coordinate or
variable along ``time``, and ``time`` = bin-start dates or day-of-year integers of ``attrs['year']``;
mapping then re-grids it instead of compositing observations.

A cube is an :class:`xarray.Dataset` with ``reflectance`` (dims ``time, band, y, x``; surface
reflectance 0-1, NaN = missing) and optionally ``clear`` (``time, y, x``; clear-sky score 0-1) or
``scl`` (``time, y, x``; Sentinel-2 scene classes), a datetime ``time`` axis, canonical ``band``
names and a CRS readable by rioxarray (a ``spatial_ref`` coordinate, as ``ds.rio.write_crs``
writes). The georeferencing (CRS and affine transform) comes from rioxarray.

Readers never load the cube: :func:`open_cube` opens it lazily and checks it, and
:meth:`CubeSource.read` reads one window (a row strip of a tile) at a time, so memory is bounded
by the tile size. A :class:`CubeSource` is a small picklable description (kind + path) that each
Dask worker re-opens once (cached per process).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import rioxarray  # noqa: F401 - registers the .rio accessor
import xarray as xr

from cropglobe import bands as _bands
from cropglobe.errors import CropGlobeError

DIMS = ("time", "band", "y", "x")
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_CLEAR_NAMES = {"clear": "clear", "cs_cdf": "clear", "cs": "clear", "scl": "scl"}


@dataclass(frozen=True)
class CubeSource:
    """A picklable description of a cube on disk: ``kind`` (``dataset`` or ``geotiffs``) and ``path``.

    Attributes:
        kind: ``dataset`` (Zarr store or NetCDF file) or ``geotiffs`` (folder of per-date GeoTIFFs).
        path: The store, file or folder.
        scale: Factor applied to raw values (e.g. ``1e-4`` for L2A digital numbers), or ``None``.
        nodata: Raw value meaning missing (before scaling), or ``None``.
    """

    kind: str
    path: str
    scale: float | None = None
    nodata: float | None = None

    def open(self) -> xr.Dataset:
        """Open the cube lazily (cached per process)."""
        return _open_cached(self)

    def read(self, rows: slice, cols: slice, bands: list[str],
             time: slice = slice(None)) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Read a window (and the dates ``time``): reflectance (time, band, h, w) float32 and ``clear`` / ``scl`` (time, h, w) or None."""
        ds = self.open().isel(y=rows, x=cols, time=time)
        order = [self._band_index(b) for b in bands]
        lo, hi = min(order), max(order) + 1
        refl = ds["reflectance"].isel(band=slice(lo, hi)).values  # one contiguous read, then reorder
        if order != list(range(lo, hi)):
            refl = refl[:, [i - lo for i in order]]
        refl = refl.astype(np.float32, copy=False)
        if self.nodata is not None:
            refl = np.where(refl == np.float32(self.nodata), np.float32(np.nan), refl)
        if self.scale is not None:
            refl = refl * np.float32(self.scale)
        clear = ds["clear"].values.astype(np.float32) if "clear" in ds else None
        scl = ds["scl"].values.astype(np.uint8) if "scl" in ds else None
        return refl, clear, scl

    def _band_index(self, band: str) -> int:
        return [str(b) for b in self.open()["band"].values].index(band)


@dataclass(frozen=True)
class Cube:
    """An opened, checked cube: its source, lazy dataset and georeferencing."""

    source: CubeSource
    ds: xr.Dataset
    crs: Any  # rasterio.crs.CRS
    transform: Any  # affine.Affine
    simulated: bool

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the map."""
        return int(self.ds.sizes["y"]), int(self.ds.sizes["x"])

    @property
    def bands(self) -> list[str]:
        """Canonical band names of the cube."""
        return [str(b) for b in self.ds["band"].values]

    @property
    def bin_days(self) -> np.ndarray | None:
        """Days per step of a pre-composited cube (``bin_days`` along time), or None for observations."""
        return self.ds["bin_days"].values.astype(np.float64) if "bin_days" in self.ds.coords else None

    @property
    def times(self) -> np.ndarray:
        """Observation dates (datetime64[ns])."""
        return self.ds["time"].values


@lru_cache(maxsize=4)
def _open_cached(source: CubeSource) -> xr.Dataset:
    ds = _open_geotiffs(Path(source.path)) if source.kind == "geotiffs" else _open_dataset(Path(source.path))
    try:
        canon = [_bands.canonical_band(str(b)) for b in ds["band"].values]
    except CropGlobeError as err:
        raise CropGlobeError(f"{source.path}: coordinate 'band': {err}") from None
    return ds.assign_coords(band=canon)


def _open_dataset(path: Path) -> xr.Dataset:
    where = str(path)
    try:
        if path.is_dir() or path.suffix == ".zarr":
            ds = xr.open_zarr(path, decode_coords="all", chunks=None)  # lazy windows, no Dask graph per read
        else:
            ds = xr.open_dataset(path, chunks=None, decode_coords="all")
    except Exception as err:  # noqa: BLE001 - any reader failure is one input error
        raise CropGlobeError(f"{where}: cannot open the cube as Zarr or NetCDF ({type(err).__name__}: {err})") from None
    if "reflectance" not in ds:
        raise CropGlobeError(f"{where}: no 'reflectance' variable; expected a cube with reflectance{DIMS}")
    refl = ds["reflectance"]
    if set(refl.dims) != set(DIMS):
        raise CropGlobeError(f"{where}: 'reflectance' has dims {refl.dims}, expected {DIMS}")
    ds = ds.transpose(*DIMS, ...)
    if "bin_days" in ds.variables:
        ds = _composited(ds.set_coords("bin_days"), where)
    for name in [v for v in ds.data_vars if v != "reflectance"]:
        key = _CLEAR_NAMES.get(str(name).lower())
        if key and key != name:
            ds = ds.rename({name: key})
    return ds


def _composited(ds: xr.Dataset, where: str) -> xr.Dataset:
    """A pre-composited cube (``bin_days`` along time): day-of-year bin starts become dates of ``attrs['year']``."""
    if ds["bin_days"].dims != ("time",):
        raise CropGlobeError(f"{where}: 'bin_days' has dims {ds['bin_days'].dims}, expected ('time',) (days per bin)")
    if np.issubdtype(ds["time"].dtype, np.integer):
        year = ds.attrs.get("year")
        if year is None:
            raise CropGlobeError(f"{where}: time holds day-of-year bin starts but the cube has no 'year' attribute; "
                                 "expected attrs['year'] (the calendar year of day 1) or dated bin starts")
        doy = ds["time"].values.astype(np.int64)
        dates = np.datetime64(f"{int(year):04d}-01-01") + (doy - 1).astype("timedelta64[D]")
        ds = ds.assign_coords(time=dates.astype("datetime64[ns]"))
    return ds.assign_attrs(time_kind="composite")


def _open_geotiffs(folder: Path) -> xr.Dataset:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".tif", ".tiff"))
    if not files:
        raise CropGlobeError(f"{folder}: no GeoTIFF (*.tif) files; expected one multi-band file per date")
    dated = []
    for f in files:
        m = _DATE.search(f.name)
        if not m:
            raise CropGlobeError(f"{f}: no date in the file name; expected e.g. S2_2023-06-01.tif or S2_20230601.tif")
        try:
            dated.append((np.datetime64(f"{m[1]}-{m[2]}-{m[3]}", "ns"), f))
        except ValueError:
            raise CropGlobeError(f"{f}: {m[0]} is not a date") from None
    dated.sort(key=lambda t: t[0])
    layers, names0 = [], None
    for when, f in dated:
        da = rioxarray.open_rasterio(f, chunks={}, mask_and_scale=False)
        names = [str(d) if d else "" for d in (da.attrs.get("long_name") or ())]
        if isinstance(da.attrs.get("long_name"), str):
            names = [da.attrs["long_name"]]
        if len(names) != da.sizes["band"] or not all(names):
            raise CropGlobeError(f"{f}: every band needs a description naming it (B2 ... B12, clear or SCL); "
                                 f"found {names or 'none'}")
        if names0 is not None and names != names0:
            raise CropGlobeError(f"{f}: bands {names} differ from {names0} in {dated[0][1].name}; expected the same bands in every file")
        names0 = names
        layers.append(da.assign_coords(band=names).expand_dims(time=[when]))
    stack = xr.concat(layers, dim="time", join="exact")
    extra = [n for n in names0 if n.lower() in _CLEAR_NAMES]
    refl_names = [n for n in names0 if n not in extra]
    ds = xr.Dataset({"reflectance": stack.sel(band=refl_names).astype(np.float32)})
    for n in extra:
        ds[_CLEAR_NAMES[n.lower()]] = stack.sel(band=n, drop=True)
    ds = ds.rio.write_crs(stack.rio.crs) if stack.rio.crs is not None else ds
    return ds.transpose(*DIMS)


def open_cube(path: str | os.PathLike, scale: float | None = None, nodata: float | None = None) -> Cube:
    """Open and check a cube: Zarr/NetCDF (``time, band, y, x`` + CRS) or a folder of per-date GeoTIFFs.

    Args:
        path: A Zarr store, a NetCDF file, or a folder of GeoTIFFs (one per date, the date in the
            file name, one band per spectral band named by its description; an optional ``clear``
            or ``SCL`` band).
        scale: Factor for raw integer values (e.g. ``1e-4``); required when values exceed 1.5.
        nodata: Raw value meaning missing.

    Raises:
        CropGlobeError: If the path is missing or unreadable, dims/bands/time are wrong, the cube
            has no CRS or transform, or values look like unscaled integers without ``scale``.
    """
    p = Path(path)
    if not p.exists():
        raise CropGlobeError(f"{p}: input not found; expected a Zarr/NetCDF cube or a folder of per-date GeoTIFFs")
    is_folder_of_tifs = p.is_dir() and not (p / ".zattrs").exists() and not (p / "zarr.json").exists() \
        and any(q.suffix.lower() in (".tif", ".tiff") for q in p.iterdir())
    source = CubeSource("geotiffs" if is_folder_of_tifs else "dataset", str(p.resolve()), scale, nodata)
    _open_cached.cache_clear()
    ds = source.open()
    where = str(p)
    if not np.issubdtype(ds["time"].dtype, np.datetime64):
        raise CropGlobeError(f"{where}: time coordinate has dtype {ds['time'].dtype}, expected observation dates (datetime64)")
    t = ds["time"].values.astype("datetime64[ns]").astype(np.int64)
    if t.size > 1 and not (np.diff(t) > 0).all():
        raise CropGlobeError(f"{where}: the time axis is not strictly increasing; expected sorted, unique dates")
    crs = ds.rio.crs
    if crs is None:
        raise CropGlobeError(f"{where}: the cube has no CRS; expected a 'spatial_ref' coordinate "
                             "(write it with ds.rio.write_crs('EPSG:32631')) or georeferenced GeoTIFFs")
    if ds.sizes["y"] < 1 or ds.sizes["x"] < 1:
        raise CropGlobeError(f"{where}: the cube is empty ({ds.sizes['y']} x {ds.sizes['x']} pixels)")
    try:
        transform = ds.rio.transform(recalc=True)
    except Exception as err:  # noqa: BLE001 - rioxarray raises several types for bad coords
        raise CropGlobeError(f"{where}: cannot derive the affine transform from x/y ({err})") from None
    if transform.b != 0 or transform.d != 0 or transform.a == 0 or transform.e == 0:
        raise CropGlobeError(f"{where}: rotated or degenerate transform {tuple(transform)[:6]}; expected a north-up grid")
    _check_scale(ds, source, where)
    return Cube(source, ds, crs, transform, bool(ds.attrs.get("simulated", False)))


def _check_scale(ds: xr.Dataset, source: CubeSource, where: str) -> None:
    """Raise when a sample window holds values above 1.5 and no scale was declared."""
    if source.scale is not None:
        return
    h, w = min(ds.sizes["y"], 64), min(ds.sizes["x"], 64)
    probe = ds["reflectance"].isel(y=slice(0, h), x=slice(0, w), time=slice(0, 8)).values
    probe = probe[np.isfinite(probe)]
    if source.nodata is not None:
        probe = probe[probe != source.nodata]
    if probe.size and float(probe.max()) > 1.5:
        raise CropGlobeError(f"{where}: reflectance values up to {float(probe.max()):.6g} look like scaled integers; "
                             "declare the scale (e.g. --scale 1e-4 --nodata 0 for Sentinel-2 L2A digital numbers)")
