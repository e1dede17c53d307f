"""Read EMIT L2A surface-reflectance granules, orthorectify them through the GLT and sample points.

An EMIT L2A RFL granule (NetCDF4, product ``EMITL2ARFL``; Green et al., "The Earth Surface Mineral
Dust Source Investigation", and the EMIT L2A ATBD / product user guide, LP DAAC 2023) stores

* root variable ``reflectance`` ``(downtrack, crosstrack, bands)`` float32, ``_FillValue`` -9999;
* group ``sensor_band_parameters``: ``wavelengths``, ``fwhm`` and ``good_wavelengths`` (1 good,
  0 inside the water-vapour absorption windows) per band;
* group ``location``: ``lat``, ``lon`` ``(downtrack, crosstrack)`` and the geometry lookup table
  ``glt_x``, ``glt_y`` ``(ortho_y, ortho_x)``: 1-based crosstrack / downtrack indices of the raw
  pixel that fills each cell of the orthorectified grid (0 = no data);
* root attributes ``geotransform`` (six GDAL affine values of the orthorectified grid),
  ``spatial_ref`` (WKT, EPSG:4326) and ``time_coverage_start``.

Orthorectification follows the product guide: ``ortho[y, x, :] = reflectance[glt_y - 1, glt_x - 1, :]``
with fill where the GLT is 0. :func:`sample_granule` applies the same lookup only at the requested
points (a full granule orthorectified is several GB), so it never materialises the whole grid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from cropglobe.errors import CropGlobeError

#: EMIT's fill value for reflectance (and for unfilled orthorectified cells).
EMIT_FILL = -9999.0
#: Reflectance accepted as physical; values outside (e.g. negative over-correction) become NaN.
VALID_RANGE = (0.0, 1.5)


@dataclass(frozen=True)
class EmitGranule:
    """Metadata and geometry of one EMIT L2A RFL granule (reflectance itself is read on demand).

    Attributes:
        path: The NetCDF file.
        time: Acquisition start (``time_coverage_start``) as UTC ``datetime64[ns]``.
        wavelengths: Centre wavelength (nm) of every band in the file.
        fwhm: Full width at half maximum (nm) of every band.
        good: True for bands flagged good (``good_wavelengths == 1``).
        glt_x: 1-based crosstrack index per orthorectified cell (0 = no data).
        glt_y: 1-based downtrack index per orthorectified cell (0 = no data).
        geotransform: GDAL geotransform of the orthorectified grid (lon/lat degrees).
        shape: ``(downtrack, crosstrack, bands)`` of ``reflectance``.
        fill_value: The reflectance fill value (``_FillValue``, -9999 in EMIT files).
    """

    path: Path
    time: np.datetime64
    wavelengths: np.ndarray
    fwhm: np.ndarray
    good: np.ndarray
    glt_x: np.ndarray
    glt_y: np.ndarray
    geotransform: tuple[float, ...]
    shape: tuple[int, int, int]
    fill_value: float = EMIT_FILL

    @property
    def good_wavelengths(self) -> np.ndarray:
        """Centre wavelengths (nm) of the good bands."""
        return self.wavelengths[self.good]

    @property
    def band_names(self) -> list[str]:
        """SampleSet band names of the good bands, e.g. ``R0550.3``."""
        return band_names(self.good_wavelengths)


def band_names(wavelengths: np.ndarray) -> list[str]:
    """Name hyperspectral bands by centre wavelength in nm with one decimal: 550.31 -> ``R0550.3``."""
    return [f"R{float(w):06.1f}" for w in np.asarray(wavelengths, dtype=float)]


def _fail(path: Path, what: str) -> CropGlobeError:
    return CropGlobeError(f"{path}: not an EMIT L2A reflectance granule: {what}")


def open_granule(path: str | os.PathLike) -> EmitGranule:
    """Open an EMIT L2A RFL NetCDF file and check its layout (reads metadata and the GLT only).

    Args:
        path: The granule (``EMIT_L2A_RFL_*.nc``).

    Returns:
        The granule's metadata and geometry.

    Raises:
        CropGlobeError: If the file is missing, not NetCDF, or lacks a variable, group or attribute
            of the EMIT layout, or if their shapes disagree.
    """
    import netCDF4
    import pandas as pd
    import pyproj

    p = Path(path)
    if not p.is_file():
        raise CropGlobeError(f"{p}: no such EMIT granule file")
    try:
        nc = netCDF4.Dataset(p, "r")
    except OSError as err:
        raise _fail(p, f"cannot be opened as NetCDF ({err})") from None
    with nc:
        nc.set_auto_mask(False)
        if "reflectance" not in nc.variables:
            raise _fail(p, "no root variable 'reflectance' (downtrack, crosstrack, bands)")
        refl = nc.variables["reflectance"]
        if refl.ndim != 3:
            raise _fail(p, f"'reflectance' has dims {refl.dimensions}, expected (downtrack, crosstrack, bands)")
        shape = tuple(int(s) for s in refl.shape)
        fill = float(getattr(refl, "_FillValue", EMIT_FILL))
        arrays: dict[str, np.ndarray] = {}
        for group, names in (("sensor_band_parameters", ("wavelengths", "fwhm", "good_wavelengths")),
                             ("location", ("glt_x", "glt_y"))):
            if group not in nc.groups:
                raise _fail(p, f"no group '{group}'")
            for name in names:
                if name not in nc.groups[group].variables:
                    raise _fail(p, f"no variable '{group}/{name}'")
                arrays[name] = np.asarray(nc.groups[group].variables[name][:])
        attrs = {k: nc.getncattr(k) for k in nc.ncattrs()}
    for name in ("wavelengths", "fwhm", "good_wavelengths"):
        if arrays[name].shape != (shape[2],):
            raise _fail(
                p, f"'sensor_band_parameters/{name}' has shape {arrays[name].shape}, expected ({shape[2]},) bands"
            )
    glt_x, glt_y = arrays["glt_x"].astype(np.int64), arrays["glt_y"].astype(np.int64)
    if glt_x.ndim != 2 or glt_x.shape != glt_y.shape:
        raise _fail(
            p,
            f"'location/glt_x' {glt_x.shape} and 'location/glt_y' {glt_y.shape} must be equal 2-D "
            "(ortho_y, ortho_x) grids",
        )
    if glt_x.min() < 0 or glt_y.min() < 0 or glt_x.max() > shape[1] or glt_y.max() > shape[0]:
        raise _fail(
            p, f"GLT indices outside 0..{shape[1]} (glt_x) / 0..{shape[0]} (glt_y) for reflectance of shape {shape}"
        )
    missing = [a for a in ("geotransform", "spatial_ref", "time_coverage_start") if a not in attrs]
    if missing:
        raise _fail(p, f"missing root attribute(s) {missing}")
    gt = np.asarray(attrs["geotransform"], dtype=float).ravel()
    if gt.size != 6 or not np.isfinite(gt).all() or gt[1] * gt[5] - gt[2] * gt[4] == 0:
        raise _fail(p, f"attribute 'geotransform' = {attrs['geotransform']!r}, expected six GDAL affine values")
    try:
        crs = pyproj.CRS.from_wkt(str(attrs["spatial_ref"]))
    except pyproj.exceptions.CRSError:
        raise _fail(p, "attribute 'spatial_ref' is not a WKT coordinate reference system") from None
    if not crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        raise _fail(p, f"'spatial_ref' is {crs.name!r}, expected geographic WGS 84 (EPSG:4326)")
    try:
        stamp = pd.Timestamp(str(attrs["time_coverage_start"]))
    except ValueError:
        raise _fail(p, f"'time_coverage_start' = {attrs['time_coverage_start']!r} is not an ISO 8601 time") from None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    good = np.asarray(arrays["good_wavelengths"], dtype=float) == 1
    if not good.any():
        raise _fail(p, "'sensor_band_parameters/good_wavelengths' flags no band as good (1)")
    return EmitGranule(
        path=p, time=np.datetime64(stamp.to_datetime64(), "ns"),
        wavelengths=np.asarray(arrays["wavelengths"], dtype=float), fwhm=np.asarray(arrays["fwhm"], dtype=float),
        good=good, glt_x=glt_x, glt_y=glt_y, geotransform=tuple(float(v) for v in gt), shape=shape,  # type: ignore[arg-type]
        fill_value=fill,
    )


def _clean(values: np.ndarray, fill: float) -> np.ndarray:
    """Turn fill values and non-physical reflectance into NaN (float32 copy)."""
    out = np.asarray(values, dtype=np.float32).copy()
    bad = (out == np.float32(fill)) | (out == np.float32(EMIT_FILL)) | ~np.isfinite(out)
    bad |= (out < VALID_RANGE[0]) | (out > VALID_RANGE[1])
    out[bad] = np.nan
    return out


def orthorectify(granule: EmitGranule) -> xr.DataArray:
    """Return the good-band reflectance on the orthorectified grid ``(y, x, band)`` (NaN = no data).

    Reads the whole reflectance cube: meant for small granules or subsets; use
    :func:`sample_granule` to sample points.
    """
    import netCDF4

    with netCDF4.Dataset(granule.path, "r") as nc:
        nc.set_auto_mask(False)
        cube = nc.variables["reflectance"][:, :, np.flatnonzero(granule.good)]
    has = (granule.glt_x > 0) & (granule.glt_y > 0)
    ortho = np.full((*granule.glt_x.shape, int(granule.good.sum())), np.nan, dtype=np.float32)
    ortho[has] = _clean(cube[granule.glt_y[has] - 1, granule.glt_x[has] - 1, :], granule.fill_value)
    gt = granule.geotransform
    ny, nx = granule.glt_x.shape
    coords = {"band": granule.band_names}
    if gt[2] == 0 and gt[4] == 0:  # north-up grid: give cell-centre coordinates
        coords["lon"] = ("x", gt[0] + (np.arange(nx) + 0.5) * gt[1])
        coords["lat"] = ("y", gt[3] + (np.arange(ny) + 0.5) * gt[5])
    return xr.DataArray(ortho, dims=("y", "x", "band"), coords=coords,
                        attrs={"geotransform": list(gt), "time": str(granule.time), "source": str(granule.path)})


def ortho_cells(granule: EmitGranule, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map lon/lat points to (row, col) cells of the orthorectified grid via the geotransform.

    Returns:
        ``(row, col, inside)``: integer cell indices and whether each point falls on the grid.
    """
    from affine import Affine

    inverse = ~Affine.from_gdal(*granule.geotransform)
    col_f, row_f = inverse @ (np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    row, col = np.floor(np.asarray(row_f)), np.floor(np.asarray(col_f))
    ny, nx = granule.glt_x.shape
    inside = np.isfinite(row) & np.isfinite(col) & (row >= 0) & (row < ny) & (col >= 0) & (col < nx)
    return np.where(inside, row, 0).astype(np.int64), np.where(inside, col, 0).astype(np.int64), inside


def sample_granule(granule: EmitGranule, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Sample the orthorectified good-band reflectance at points (nearest cell, through the GLT).

    Equivalent to ``orthorectify(granule)`` indexed at each point's cell, but reads only the raw
    downtrack lines the points need.

    Args:
        granule: An opened granule.
        lon: Longitudes (degrees).
        lat: Latitudes (degrees).

    Returns:
        Float32 array ``(points, good bands)``; NaN for points off the grid, cells the GLT leaves
        empty, fill values and non-physical reflectance.
    """
    import netCDF4

    row, col, inside = ortho_cells(granule, lon, lat)
    down = np.where(inside, granule.glt_y[row, col], 0) - 1
    cross = np.where(inside, granule.glt_x[row, col], 0) - 1
    has = inside & (down >= 0) & (cross >= 0)
    good_idx = np.flatnonzero(granule.good)
    out = np.full((np.asarray(lon).size, good_idx.size), np.nan, dtype=np.float32)
    if not has.any():
        return out
    with netCDF4.Dataset(granule.path, "r") as nc:
        nc.set_auto_mask(False)
        var = nc.variables["reflectance"]
        for d in np.unique(down[has]):
            rows = np.flatnonzero(has & (down == d))
            line = np.asarray(var[int(d), :, :])
            out[rows] = _clean(line[cross[rows]][:, good_idx], granule.fill_value)
    return out
