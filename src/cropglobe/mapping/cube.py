"""Read the raster time-series cube to map: a Zarr/NetCDF cube, a folder of per-date GeoTIFFs, or STAC.

An openEO / WorldCereal cube (one variable per band, ``t, y, x``, monthly or dekadal composites)
is read in its native layout by :mod:`cropglobe.mapping.openeo` (kind ``openeo``) and is
pre-composited too.

A PRE-COMPOSITED cube (e.g. an Earth Engine 5-day median export) has a ``bin_days`` coordinate or
variable along ``time``, and ``time`` = bin-start dates or day-of-year integers of ``attrs['year']``;
mapping then re-grids it instead of compositing observations.

A cube is an :class:`xarray.Dataset` with ``reflectance`` (dims ``time, band, y, x``; surface
reflectance 0-1, NaN = missing) and optionally ``clear`` (``time, y, x``; clear-sky score 0-1) or
``scl`` (``time, y, x``; Sentinel-2 scene classes), a datetime ``time`` axis, canonical ``band``
names and a CRS readable by rioxarray (a ``spatial_ref`` coordinate, as ``ds.rio.write_crs``
writes). The georeferencing (CRS and affine transform) comes from rioxarray.

Values may be stored raw: integer digital numbers with CF ``scale_factor`` / ``add_offset`` /
``_FillValue`` attributes (what :func:`~cropglobe.mapping.store.write_cube` writes: uint16
reflectance x 10 000 and a uint8 clear score x 100, as Sentinel-2 L2A and Earth Engine exports
deliver them), or with ``--scale``/``--nodata``. Tiles read the raw values
(:meth:`CubeSource.read_raw`) and decode them inside the compiled compositing kernels
(:class:`Decoding`), so a reader moves 2 bytes per value instead of 4 and never converts the
whole strip; :meth:`CubeSource.read` returns decoded float32 arrays.

Readers never load the cube: :func:`open_cube` opens it lazily and checks it, and
:meth:`CubeSource.read` reads one window (a row strip of a tile) at a time, so memory is bounded
by the tile size. A :class:`CubeSource` is a small picklable description (kind + path) that each
Dask worker re-opens once (cached per process).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import rioxarray  # also registers the .rio accessor
import xarray as xr

from cropglobe import bands as _bands
from cropglobe.checks import positive_finite
from cropglobe.errors import CropGlobeError
from cropglobe.mapping import tiffcheck
from cropglobe.zarrcheck import check_store_codecs, find_corrupt_chunk

DIMS = ("time", "band", "y", "x")
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_CLEAR_NAMES = {"clear": "clear", "cs_cdf": "clear", "cs": "clear", "scl": "scl"}


@dataclass(frozen=True)
class Decoding:
    """How raw cube values become reflectance (0-1) and clear scores: ``raw * scale + offset``, fill = missing.

    Attributes:
        scale: Reflectance scale (``scale_factor`` or ``--scale``; 1 for reflectance stored as such).
        offset: Reflectance offset (``add_offset``), applied after the scale.
        nodata: Raw reflectance value meaning missing (``_FillValue`` or ``--nodata``; NaN when none).
        clear_scale: Scale of the clear score.
        clear_fill: Raw clear value meaning missing (NaN when none).
    """

    scale: float = 1.0
    offset: float = 0.0
    nodata: float = float("nan")
    clear_scale: float = 1.0
    clear_fill: float = float("nan")

    def reflectance(self, raw: np.ndarray) -> np.ndarray:
        """Decoded float32 reflectance (NaN where missing), in the kernels' float32 arithmetic."""
        return _decode(raw, self.nodata, self.scale, self.offset)

    def clear(self, raw: np.ndarray | None) -> np.ndarray | None:
        """Decoded float32 clear score (NaN where missing), or None."""
        return None if raw is None else _decode(raw, self.clear_fill, self.clear_scale, 0.0)


def _decode(raw: np.ndarray, fill: float, scale: float, offset: float) -> np.ndarray:
    """``raw * scale + offset`` in float32, NaN where ``raw == fill``; always a copy (callers may modify it)."""
    x = raw.astype(np.float32)
    if not np.isnan(fill):
        x[x == np.float32(fill)] = np.nan
    if scale != 1.0:
        x *= np.float32(scale)
    if offset != 0.0:
        x += np.float32(offset)
    return x


def _cf(attrs: dict[str, Any], key: str) -> float | None:
    value = attrs.get(key)
    if value is None:
        return None
    return float(np.asarray(value).ravel()[0])


@dataclass(frozen=True)
class CubeSource:
    """A picklable description of a cube on disk: ``kind`` (``dataset`` or ``geotiffs``) and ``path``.

    Attributes:
        kind: ``dataset`` (Zarr store or NetCDF file), ``openeo`` (the same in the openEO layout, see
            :mod:`cropglobe.mapping.openeo`) or ``geotiffs`` (folder of per-date GeoTIFFs).
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

    @property
    def decoding(self) -> Decoding:
        """The cube's :class:`Decoding`: ``--scale``/``--nodata`` or its CF attributes.

        Raises:
            CropGlobeError: When ``--scale``/``--nodata`` contradict the cube's own attributes.
        """
        return _decoding(self)

    def read_raw(self, rows: slice, cols: slice, bands: list[str],
                 time: slice = slice(None)) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Read a window (and the dates ``time``) as stored: reflectance (time, band, h, w) in the cube's
        dtype, and the raw ``clear`` / ``scl`` (time, h, w) or None (decode with :attr:`decoding`)."""
        if self.kind == "openeo":
            from cropglobe.mapping import openeo

            return openeo.read_raw(self, rows, cols, bands, time), None, None
        ds = self.open()
        window = {"y": rows, "x": cols, "time": time}
        order = [self._band_index(b) for b in bands]
        # one slice per run of adjacent bands (orthogonal list selection is far slower in zarr); with one band
        # per chunk (write_cube) only the bands asked for are decompressed
        runs = np.split(np.asarray(order), np.flatnonzero(np.diff(order) != 1) + 1)
        parts = [self._window(ds, "reflectance", {**window, "band": slice(int(r[0]), int(r[-1]) + 1)}) for r in runs]
        refl = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        attrs = ds["reflectance"].attrs
        if "band_scales" in attrs:  # GeoTIFF bands of different scales: decoded here, Decoding is then the identity
            fill = self.nodata if self.nodata is not None else _cf(attrs, "_FillValue")
            refl = np.stack([_decode(refl[:, k], np.nan if fill is None else fill, attrs["band_scales"][i],
                                     attrs["band_offsets"][i]) for k, i in enumerate(order)], axis=1)
        clear = self._window(ds, "clear", window) if "clear" in ds else None
        scl = self._window(ds, "scl", window).astype(np.uint8, copy=False) if "scl" in ds else None
        return refl, clear, scl

    def _window(self, ds: xr.Dataset, name: str, window: dict[str, slice]) -> np.ndarray:
        """Raw values of one variable over a window: from the chunk files of a local Zarr v2 store
        (:mod:`cropglobe.mapping.zarrwindow`), else through xarray."""
        var = ds[name].variable
        if self.kind == "dataset" and Path(self.path).is_dir():
            from cropglobe.mapping.zarrwindow import read_window

            values = read_window(self.path, name, window, var.dims, var.dtype)
            if values is not None:
                return values
        try:
            return var.isel(**window).values
        except Exception as err:  # a damaged chunk surfaces from the codec as RuntimeError, ValueError ...
            found = find_corrupt_chunk(self.path, [name]) if Path(self.path).is_dir() else None
            raise found or CropGlobeError(
                f"{self.path}: variable {name!r} cannot be read at {window} ({type(err).__name__}: "
                f"{str(err)[:200]}); the cube is damaged: write it again from its source") from None

    def read(self, rows: slice, cols: slice, bands: list[str],
             time: slice = slice(None)) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Read a window decoded: reflectance (time, band, h, w) float32 and ``clear`` (float32) / ``scl`` or None."""
        refl, clear, scl = self.read_raw(rows, cols, bands, time)
        dec = self.decoding
        return dec.reflectance(refl), dec.clear(clear), scl

    @property
    def chunk_rows(self) -> int | None:
        """Rows per storage chunk of the reflectance (Zarr/NetCDF chunking), or None when unchunked/unknown."""
        if self.kind == "openeo":
            from cropglobe.mapping import openeo

            return openeo.chunk_rows(self)
        refl = self.open()["reflectance"]
        chunks = refl.encoding.get("chunks") or refl.encoding.get("chunksizes")
        return int(chunks[refl.dims.index("y")]) if chunks else None

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
def _decoding(source: CubeSource) -> Decoding:
    if source.kind == "openeo":
        from cropglobe.mapping import openeo

        return openeo.decoding(source)
    ds = source.open()
    attrs = ds["reflectance"].attrs
    where = f"{source.path}: variable 'reflectance'"
    clear_attrs = ds["clear"].attrs if "clear" in ds else {}
    clear_fill = _cf(clear_attrs, "_FillValue")
    clear = {"clear_scale": _cf(clear_attrs, "scale_factor") or 1.0,
             "clear_fill": float("nan") if clear_fill is None else clear_fill}
    if "band_scales" in attrs:  # decoded band by band in read_raw
        if source.scale is not None:
            raise CropGlobeError(f"{where} declares per-band scales {attrs['band_scales']} but scale="
                                 f"{source.scale:g} was given; expected no scale (the files' own are used)")
        return Decoding(**clear)
    file_scale, file_fill = _cf(attrs, "scale_factor"), _cf(attrs, "_FillValue")
    if file_fill is None:
        file_fill = _cf(attrs, "missing_value")
    if source.scale is not None and file_scale is not None and not np.isclose(source.scale, file_scale):
        raise CropGlobeError(f"{where} declares scale_factor {file_scale:g} but scale={source.scale:g} was given; "
                             "expected no scale (the cube's own is used) or the same value")
    if source.nodata is not None and file_fill is not None and source.nodata != file_fill:
        raise CropGlobeError(f"{where} declares _FillValue {file_fill:g} but nodata={source.nodata:g} was given; "
                             "expected no nodata (the cube's own is used) or the same value")
    scale = source.scale if source.scale is not None else file_scale
    nodata = source.nodata if source.nodata is not None else file_fill
    return Decoding(scale=1.0 if scale is None else float(scale), offset=_cf(attrs, "add_offset") or 0.0,
                    nodata=float("nan") if nodata is None else float(nodata), **clear)


@lru_cache(maxsize=4)
def _open_cached(source: CubeSource) -> xr.Dataset:
    if source.kind == "openeo":
        from cropglobe.mapping import openeo

        ds = openeo.open_openeo(Path(source.path))
    else:
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
            if path.is_dir():
                check_store_codecs(path)  # before any codec is built (a crafted .zarray may name pickle)
            # lazy windows, no Dask graph per read; raw values (decoded by the kernels, see Decoding)
            ds = xr.open_zarr(path, decode_coords="all", chunks=None, mask_and_scale=False)
        else:
            ds = xr.open_dataset(path, chunks=None, decode_coords="all", mask_and_scale=False)
    except CropGlobeError:
        raise
    except Exception as err:  # any reader failure is one input error (a coordinate's chunk failing its checksum: named)
        raise (find_corrupt_chunk(path) if path.is_dir() else None) or CropGlobeError(
            f"{where}: cannot open the cube as Zarr or NetCDF ({type(err).__name__}: {err})") from None
    if "reflectance" not in ds:
        raise CropGlobeError(f"{where}: no 'reflectance' variable; expected a cube with reflectance{DIMS} or "
                             "one variable per band (openEO / WorldCereal layout: B02 or S2-L2A-B02, dims t, y, x)")
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
    tiffcheck.check_grids([f for _, f in dated])  # corrupt files, mixed CRSs, misaligned grids: one clear error
    layers, names0 = [], None
    for when, f in dated:
        with warnings.catch_warnings():  # "Scales differ across bands": read by tiffcheck.band_scaling
            warnings.simplefilter("ignore", UserWarning)
            da = rioxarray.open_rasterio(f, chunks={}, mask_and_scale=False)
        names = [str(d) if d else "" for d in (da.attrs.get("long_name") or ())]
        if isinstance(da.attrs.get("long_name"), str):
            names = [da.attrs["long_name"]]
        if len(names) != da.sizes["band"] or not all(names):
            raise CropGlobeError(f"{f}: every band needs a description naming it (B2 ... B12, clear or SCL); "
                                 f"found {names or 'none'}")
        if names0 is not None and names != names0:
            raise CropGlobeError(
                f"{f}: bands {names} differ from {names0} in {dated[0][1].name}; expected the same bands in every file"
            )
        names0 = names
        layers.append(da.assign_coords(band=names).expand_dims(time=[when]))
    stack = xr.concat(layers, dim="time", join="exact")
    extra = [n for n in names0 if n.lower() in _CLEAR_NAMES]
    refl_names = [n for n in names0 if n not in extra]
    scales, offsets = tiffcheck.band_scaling([f for _, f in dated])
    fill = {"_FillValue": stack.attrs["_FillValue"]} if stack.attrs.get("_FillValue") is not None else {}
    ds = xr.Dataset({"reflectance": stack.sel(band=refl_names)})  # raw values; scale/nodata from Decoding
    ds["reflectance"].attrs = {**fill, **_scaling([(scales[names0.index(n)], offsets[names0.index(n)])
                                                   for n in refl_names])}
    for n in extra:
        ds[_CLEAR_NAMES[n.lower()]] = stack.sel(band=n, drop=True)
        ds[_CLEAR_NAMES[n.lower()]].attrs = {**fill, **_scaling([(scales[names0.index(n)], offsets[names0.index(n)])])}
    ds = ds.rio.write_crs(stack.rio.crs) if stack.rio.crs is not None else ds
    return ds.transpose(*DIMS)


def _scaling(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    """CF attributes of bands' declared (scale, offset): none for GDAL's defaults (1, 0: undeclared, so
    ``--scale`` applies), ``scale_factor`` / ``add_offset`` when the bands agree, else ``band_scales`` /
    ``band_offsets`` (decoded band by band, :meth:`CubeSource.read_raw`)."""
    if all(p == (1.0, 0.0) for p in pairs):
        return {}
    if len(set(pairs)) == 1:
        return {"scale_factor": pairs[0][0], "add_offset": pairs[0][1]}
    return {"band_scales": [s for s, _ in pairs], "band_offsets": [o for _, o in pairs]}


def open_cube(path: str | os.PathLike, scale: float | None = None, nodata: float | None = None) -> Cube:
    """Open and check a cube: Zarr/NetCDF (``time, band, y, x`` + CRS) or a folder of per-date GeoTIFFs.

    Args:
        path: A Zarr store, a NetCDF file (either in the project's layout or openEO's, see
            :mod:`cropglobe.mapping.openeo`), or a folder of GeoTIFFs (one per date, the date in the
            file name, one band per spectral band named by its description; an optional ``clear``
            or ``SCL`` band).
        scale: Factor for raw integer values (e.g. ``1e-4``); required when values exceed 1.5.
        nodata: Raw value meaning missing.

    Raises:
        CropGlobeError: If the path is missing or unreadable, dims/bands/time are wrong, the cube
            has no CRS or transform, or values look like unscaled integers without ``scale``.
    """
    p = Path(path)
    if scale is not None:
        positive_finite(scale, "scale")
    if not p.exists():
        raise CropGlobeError(f"{p}: input not found; expected a Zarr/NetCDF cube or a folder of per-date GeoTIFFs")
    tiffcheck.check_folder(p)
    is_folder_of_tifs = p.is_dir() and not (p / ".zattrs").exists() and not (p / "zarr.json").exists() \
        and any(q.suffix.lower() in (".tif", ".tiff") for q in p.iterdir())
    from cropglobe.mapping import openeo

    kind = "geotiffs" if is_folder_of_tifs else "openeo" if openeo.is_openeo(p) else "dataset"
    source = CubeSource(kind, str(p.resolve()), scale, nodata)
    _open_cached.cache_clear()
    _decoding.cache_clear()
    ds = source.open()
    where = str(p)
    if not np.issubdtype(ds["time"].dtype, np.datetime64):
        raise CropGlobeError(
            f"{where}: time coordinate has dtype {ds['time'].dtype}, expected observation dates (datetime64)"
        )
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
    except Exception as err:  # rioxarray raises several types for bad coords
        raise CropGlobeError(f"{where}: cannot derive the affine transform from x/y ({err})") from None
    if transform.b != 0 or transform.d != 0 or transform.a == 0 or transform.e == 0:
        raise CropGlobeError(
            f"{where}: rotated or degenerate transform {tuple(transform)[:6]}; expected a north-up grid"
        )
    _check_scale(ds, source, where)
    return Cube(source, ds, crs, transform, bool(ds.attrs.get("simulated", False)))


def _check_scale(ds: xr.Dataset, source: CubeSource, where: str) -> None:
    """Raise when a sample window decodes to values above 1.5 (no scale declared, or a wrong one)."""
    if source.kind == "openeo":
        from cropglobe.mapping import openeo

        return openeo.check_values(source, where)
    dec = source.decoding  # also checks --scale/--nodata against the cube's attributes
    h, w = min(ds.sizes["y"], 64), min(ds.sizes["x"], 64)
    probe = source.read(slice(0, h), slice(0, w), [str(b) for b in ds["band"].values], slice(0, 8))[0]
    probe = probe[np.isfinite(probe)]
    if probe.size and float(probe.max()) > 1.5:
        hint = (
            "declare the scale (e.g. scale=1e-4, nodata=0 for Sentinel-2 L2A digital numbers; CLI: --scale --nodata)"
            if dec.scale == 1.0
            else f"expected reflectance 0-1 after the scale {dec.scale:g}"
        )
        raise CropGlobeError(f"{where}: reflectance values up to {float(probe.max()):.6g} look like scaled integers; "
                             + hint)
