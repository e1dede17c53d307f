"""Map input from STAC: a lon/lat bbox and dates fetched into a raster cube through the acquisition loader.

The items come from :func:`cropglobe.sources.acquire.stac.search_items` (a STAC API or a static catalog,
with retries), asset keys from :func:`~cropglobe.sources.acquire.stac.band_assets` (Earth Search or
Planetary Computer names), and digital numbers become reflectance with the L2A convention of
:mod:`cropglobe.sources.acquire.stac` (``(DN + boa_offset) / 10000``, DN 0 = nodata). Each item is read
with :func:`odc.stac.load` onto one grid: the first item's CRS, ``resolution`` metres, snapped to
multiples of the resolution and covering the bbox; nearest-neighbour resampling. Items of the same
UTC date (split granules, overlapping tiles) are merged: a pixel takes the first item that
observed it (SCL code not 0), as :func:`cropglobe.sources.acquire.reader.read_chunk` does for points.
Everything stays lazy (Dask) and is streamed into a Zarr cube (``reflectance`` + ``scl``), which
``make_map`` then maps like any cube; the ``scl`` codes drive the clear-sky mask.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from cropglobe import bands as _bands
from cropglobe.errors import CropGlobeError
from cropglobe.mapping.store import write_cube
from cropglobe.sources.acquire.config import StacConfig
from cropglobe.sources.acquire.stac import band_assets, first_observed, item_crs, l2a_reflectance, search_items


def parse_bbox(text: str | tuple[float, ...] | list[float]) -> tuple[float, float, float, float]:
    """``"W,S,E,N"`` (degrees) -> a checked tuple.

    Raises:
        CropGlobeError: Unless four numbers with W < E, S < N inside [-180, 180] x [-90, 90].
    """
    try:
        vals = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    except ValueError:
        vals = []
    if len(vals) != 4 or not (-180 <= vals[0] < vals[2] <= 180 and -90 <= vals[1] < vals[3] <= 90):
        raise CropGlobeError(f"bbox={text!r}: expected W,S,E,N in degrees with W < E and S < N")
    return vals[0], vals[1], vals[2], vals[3]


def _date(text: str, name: str) -> str:
    try:
        return dt.date.fromisoformat(str(text)).isoformat()
    except ValueError:
        raise CropGlobeError(f"{name}={text!r}: expected a date YYYY-MM-DD") from None


def _load_item(item: Any, bands: list[str], geobox: Any, chunk: int) -> tuple[xr.DataArray, xr.DataArray]:
    """Lazy reflectance (band, y, x) float32 and SCL (y, x) uint8 of one item on the grid."""
    import odc.stac

    keys, scl_key = band_assets(item, bands, where="bands")
    ds = odc.stac.load([item], bands=[*keys.values(), scl_key], geobox=geobox, resampling="nearest",
                       chunks={"x": chunk, "y": chunk}, groupby=None).isel(time=0, drop=True)
    raw = xr.concat([ds[keys[b]].astype(np.float32) for b in bands], dim="band")
    return l2a_reflectance(raw, item).assign_coords(band=bands), ds[scl_key].astype(np.uint8)


@dataclass(frozen=True)
class StacQuery:
    """A cube to fetch from STAC (:func:`fetch_cube`) instead of a file: ``cropglobe map --bbox --start --end``.

    Attributes:
        bbox: ``W,S,E,N`` (degrees) of the region.
        start: First date (YYYY-MM-DD).
        end: Last date.
        stac: STAC API URL, named endpoint (``earth-search``, ``planetary-computer``) or static catalog path/URL.
        collection: STAC collection (Sentinel-2 L2A with an SCL asset).
        resolution: Pixel size in metres of the fetched cube (in the first item's CRS).
    """

    bbox: str | tuple[float, float, float, float]
    start: str
    end: str
    stac: str = "earth-search"
    collection: str = "sentinel-2-l2a"
    resolution: float = 10.0


def fetch_cube(query: StacQuery, out: str | os.PathLike, bands: list[str] | None = None, max_cloud: float = 80.0,
               chunk: int = 256) -> Path:
    """Search, read and write the Sentinel-2 L2A cube of a bbox and date range as Zarr (``reflectance`` + ``scl``).

    Args:
        query: The bbox, dates, catalog, collection and resolution.
        out: The Zarr store to write.
        bands: Canonical band names (default: the 10 bands of :data:`cropglobe.bands.S2_BANDS`).
        max_cloud: Items with a larger ``eo:cloud_cover`` are skipped.
        chunk: Pixels per side of a Dask/Zarr chunk (bounds memory).

    Raises:
        CropGlobeError: For a bad bbox/date, an unreachable catalog, an unknown collection, no items, or missing bands.
    """
    from odc.geo.geobox import GeoBox
    from pyproj import Transformer

    box = parse_bbox(query.bbox)
    d0, d1 = _date(query.start, "start"), _date(query.end, "end")
    stac, collection, resolution = query.stac, query.collection, query.resolution
    if d0 > d1:
        raise CropGlobeError(f"start={d0} is after end={d1}; expected start <= end")
    bands = [_bands.canonical_band(b) for b in (bands or list(_bands.S2_BANDS))]
    try:
        scfg = StacConfig(endpoint=str(stac), collection=collection, resolution=resolution, max_cloud=max_cloud)
    except ValueError as err:
        raise CropGlobeError(f"stac/collection/resolution: {err}") from None
    items = search_items(scfg, box, d0, d1)
    crs = item_crs(items[0])
    x0, y0, x1, y1 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform_bounds(*box)
    r = float(resolution)
    x0, y0, x1, y1 = np.floor(x0 / r) * r, np.floor(y0 / r) * r, np.ceil(x1 / r) * r, np.ceil(y1 / r) * r
    geobox = GeoBox.from_bbox((x0, y0, x1, y1), crs=crs, resolution=r)
    by_day: dict[str, list[Any]] = {}
    for it in items:
        by_day.setdefault(it.datetime.astimezone(dt.UTC).date().isoformat(), []).append(it)
    refl_t, scl_t = [], []
    for day in sorted(by_day):
        refl, scl = None, None
        for it in by_day[day]:
            r_i, s_i = _load_item(it, bands, geobox, chunk)
            refl, scl = (r_i, s_i) if refl is None else first_observed(refl, scl, r_i, s_i)
        refl_t.append(refl.transpose("band", "y", "x"))
        scl_t.append(scl)
    times = np.array(sorted(by_day), dtype="datetime64[ns]")
    cube = xr.Dataset({"reflectance": xr.concat(refl_t, dim="time").astype(np.float32),
                       "scl": xr.concat(scl_t, dim="time").astype(np.uint8)}).assign_coords(time=times)
    cube = cube.drop_vars([v for v in cube.coords if v not in ("time", "band", "y", "x")])
    cube = (
        cube.chunk({"time": -1, "band": -1, "y": 64, "x": 64}).rio.write_crs(crs).rio.write_transform(geobox.transform)
    )
    cube.attrs.update({"source": f"STAC {scfg.url} collection {collection}", "bbox": list(box),
                       "dates": f"{d0}..{d1}", "items": len(items), "processing_level": "L2A"})
    return write_cube(cube, out)
