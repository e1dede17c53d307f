"""Reference samples of a class map: draw a stratified random sample, read one back, assess the map with it.

``cropglobe assess sample MAP.tif --out points.csv`` draws the sample (strata = the map's
classes, a fixed number of pixels per class or a total allocated by area with a floor per class,
as Olofsson et al. 2014 recommend for rare classes); the points are written with lon/lat (WGS84
pixel centres), the map class and an empty ``reference`` column to fill in by interpretation, as
CSV or as GeoParquet (``.parquet``: WKB point geometry in OGC:CRS84, GeoParquet 1.0 metadata).
``cropglobe assess accuracy MAP.tif points.csv`` reads the filled-in sample, looks the map class up at
each point and gives the stratified estimates of :mod:`cropglobe.mapping.areaestimate` with the
map's class areas in hectares (pixel areas as ``cropglobe map`` computes them).

The map is read in row blocks (memory bounded by a block) twice when drawing: once to count the
pixels of each class, once to pick the drawn ones, so a draw is exact and repeatable for a seed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cropglobe.errors import CropGlobeError

#: Rows of the map read at a time.
BLOCK_ROWS = 512
#: Columns of a sample file: where, the map class (code and name) and the reference label to fill in.
POINT_COLUMNS = ("id", "lon", "lat", "map_code", "map_class", "reference")


@dataclass(frozen=True)
class Strata:
    """The classes of a map and their pixel counts and areas (hectares), nodata excluded."""

    codes: list[int]
    names: list[str]
    pixels: np.ndarray
    hectares: np.ndarray
    simulated: bool = False  # the map's SIMULATED tag (a map of the simulator's cube)


def _open(path: str | os.PathLike) -> Any:
    import rasterio

    p = Path(path)
    if not p.is_file():
        raise CropGlobeError(f"{p}: no such map (expected a class GeoTIFF written by `cropglobe map`)")
    try:
        return rasterio.open(p)
    except Exception as err:  # rasterio raises its own error types for unreadable files
        raise CropGlobeError(f"{p}: cannot be read as a GeoTIFF ({err})") from None


def legend(src: Any) -> tuple[dict[int, str], int | None]:
    """The map's class names by code (``CLASS_NAMES`` tag of ``cropglobe map``, else the codes) and its nodata."""
    tags = src.tags()
    names: dict[int, str] = {}
    if "CLASS_NAMES" in tags:
        try:
            names = {int(k): str(v) for k, v in json.loads(tags["CLASS_NAMES"]).items()}
        except (ValueError, AttributeError):
            names = {}
    nodata = src.nodata if src.nodata is not None else (int(tags["NODATA_CLASS"]) if "NODATA_CLASS" in tags else None)
    return names, None if nodata is None else int(nodata)


def _blocks(src: Any) -> Iterator[tuple[int, np.ndarray]]:
    from rasterio.windows import Window

    for r0 in range(0, src.height, BLOCK_ROWS):
        h = min(BLOCK_ROWS, src.height - r0)
        yield r0, src.read(1, window=Window(0, r0, src.width, h))


def strata(path: str | os.PathLike) -> Strata:
    """Count the pixels and hectares of each class of a class map (integer codes; nodata left out).

    Raises:
        CropGlobeError: For a missing or unreadable file, a non-integer band or a map without data.
    """
    from cropglobe.mapping.write import pixel_area_ha

    with _open(path) as src:
        if not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
            raise CropGlobeError(f"{path}: band 1 is {src.dtypes[0]}; expected integer class codes (a class map)")
        names, nodata = legend(src)
        simulated = src.tags().get("SIMULATED", "").lower() == "true"
        pixels: dict[int, int] = {}
        hectares: dict[int, float] = {}
        for r0, block in _blocks(src):
            area = pixel_area_ha(src.transform, src.crs, slice(r0, r0 + block.shape[0]))
            for code in np.unique(block):
                if nodata is not None and code == nodata:
                    continue
                mask = block == code
                pixels[int(code)] = pixels.get(int(code), 0) + int(mask.sum())
                hectares[int(code)] = hectares.get(int(code), 0.0) + float((mask.sum(axis=1) * area).sum())
    if not pixels:
        raise CropGlobeError(f"{path}: the map has no classified pixel (all nodata)")
    codes = sorted(pixels)
    return Strata(codes, [names.get(c, str(c)) for c in codes], np.array([pixels[c] for c in codes]),
                  np.array([hectares[c] for c in codes]), simulated)


def allocate(pixels: np.ndarray, per_class: int | None = None, total: int | None = None,
             minimum: int = 0) -> np.ndarray:
    """Sample size per class: ``per_class`` each (equal allocation), or ``total`` by area share with a floor.

    Sizes never exceed a class's pixels; with a floor (``minimum``) the sizes may add up to more
    than ``total``.

    Raises:
        CropGlobeError: When neither or both of ``per_class`` and ``total`` are given, or sizes are < 1.
    """
    pixels = np.asarray(pixels, dtype=np.int64)
    if (per_class is None) == (total is None):
        raise CropGlobeError("give either per_class (equal allocation) or total (by area, with minimum per class)")
    if per_class is not None:
        if per_class < 1:
            raise CropGlobeError(f"per_class={per_class}: expected 1 or more")
        return np.minimum(per_class, pixels)
    assert total is not None
    if total < 1 or minimum < 0:
        raise CropGlobeError(f"total={total}, minimum={minimum}: expected total >= 1 and minimum >= 0")
    share = pixels / pixels.sum()
    sizes = np.maximum(np.floor(share * total).astype(np.int64), minimum)
    rest = total - sizes.sum()
    if rest > 0:  # largest remainders first
        order = np.argsort(-(share * total - np.floor(share * total)), kind="stable")
        sizes[order[:rest]] += 1
    return np.minimum(sizes, pixels)


def draw(path: str | os.PathLike, per_class: int | None = None, total: int | None = None, minimum: int = 0,
         seed: int = 0) -> pd.DataFrame:
    """A stratified random sample of pixels of a class map: one row per point (:data:`POINT_COLUMNS`).

    Args:
        path: The class GeoTIFF.
        per_class: Pixels per class (equal allocation).
        total: Or the total sample, allocated by mapped area with ``minimum`` per class.
        minimum: The floor per class with ``total``.
        seed: Random seed (the same seed draws the same points).

    Raises:
        CropGlobeError: As :func:`strata` and :func:`allocate`.
    """
    from pyproj import Transformer

    found = strata(path)
    sizes = allocate(found.pixels, per_class, total, minimum)
    rng = np.random.default_rng(seed)
    wanted = {code: np.sort(rng.choice(count, size=size, replace=False))
              for code, count, size in zip(found.codes, found.pixels, sizes, strict=True)}
    seen = dict.fromkeys(found.codes, 0)
    rows, cols, codes = [], [], []
    with _open(path) as src:
        for r0, block in _blocks(src):
            for code in found.codes:
                flat = np.flatnonzero(block.ravel() == code)
                if flat.size == 0:
                    continue
                ranks = wanted[code]
                lo, hi = np.searchsorted(ranks, [seen[code], seen[code] + flat.size])
                picked = flat[ranks[lo:hi] - seen[code]]
                seen[code] += flat.size
                rows.append(r0 + picked // block.shape[1])
                cols.append(picked % block.shape[1])
                codes.append(np.full(picked.size, code))
        transform, crs = src.transform, src.crs
    r, c, k = (np.concatenate(a) if a else np.array([], dtype=np.int64) for a in (rows, cols, codes))
    x = transform.c + (c + 0.5) * transform.a + (r + 0.5) * transform.b
    y = transform.f + (c + 0.5) * transform.d + (r + 0.5) * transform.e
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    names = dict(zip(found.codes, found.names, strict=True))
    order = np.lexsort((c, r, k))
    return pd.DataFrame({"id": np.arange(k.size), "lon": np.round(np.asarray(lon)[order], 7),
                         "lat": np.round(np.asarray(lat)[order], 7), "map_code": k[order].astype(np.int64),
                         "map_class": [names[int(v)] for v in k[order]], "reference": ""})


def is_geoparquet_name(path: str | os.PathLike) -> bool:
    """True for a ``.parquet`` / ``.geoparquet`` file name (points are written as GeoParquet there)."""
    return Path(path).suffix.lower() in (".parquet", ".geoparquet")


def write_points(points: pd.DataFrame, path: str | os.PathLike, geoparquet: bool | None = None) -> None:
    """Write points as CSV, or as GeoParquet (WKB points in OGC:CRS84) to the file ``path``.

    ``geoparquet`` defaults to :func:`is_geoparquet_name` of ``path``.
    """
    path = Path(path)
    if is_geoparquet_name(path) if geoparquet is None else geoparquet:
        import pyarrow as pa
        import pyarrow.parquet as pq
        import shapely

        geometry = shapely.to_wkb(shapely.points(points["lon"].to_numpy(), points["lat"].to_numpy()))
        table = pa.Table.from_pandas(points, preserve_index=False).append_column("geometry", pa.array(geometry))
        bbox = [float(points["lon"].min()), float(points["lat"].min()), float(points["lon"].max()),
                float(points["lat"].max())] if len(points) else []
        geo = {"version": "1.0.0", "primary_column": "geometry",
               "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"],
                                        **({"bbox": bbox} if bbox else {})}}}  # no "crs": OGC:CRS84 (lon/lat)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()})
        pq.write_table(table, path)
    else:
        points.to_csv(path, index=False)


def read_points(path: str | os.PathLike, column: str = "reference") -> pd.DataFrame:
    """Read a reference sample (CSV or (Geo)Parquet) with lon/lat (or a WKB point geometry) and ``column``.

    Raises:
        CropGlobeError: For a missing file, missing columns, a geometry CRS other than lon/lat, or no labels.
    """
    p = Path(path)
    if not p.is_file():
        raise CropGlobeError(f"{p}: no such reference sample (expected CSV or GeoParquet with lon, lat, {column})")
    try:
        if is_geoparquet_name(p):
            table = _read_parquet(p)
        else:
            table = pd.read_csv(p, dtype={column: str}, keep_default_na=False)
    except (ValueError, OSError) as err:
        raise CropGlobeError(f"{p}: cannot be read ({err})") from None
    missing = [c for c in ("lon", "lat", column) if c not in table]
    if missing:
        raise CropGlobeError(f"{p}: missing columns {', '.join(missing)}; expected lon, lat (WGS84) and {column} "
                             "(the reference class of each point)")
    table = table.assign(**{column: table[column].astype(str).str.strip()})
    labelled = table[(table[column] != "") & (table[column].str.lower() != "nan")]
    if labelled.empty:
        raise CropGlobeError(f"{p}: no point has a {column} label; fill in the reference class of each point")
    return labelled.reset_index(drop=True)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(b"geo", b"{}") or b"{}")
    frame = table.to_pandas()
    if ("lon" not in frame or "lat" not in frame) and meta:
        import shapely

        name = meta.get("primary_column", "geometry")
        crs = (meta.get("columns", {}).get(name) or {}).get("crs")
        if crs is not None and not _is_lonlat(crs):
            raise CropGlobeError(f"{path}: geometry CRS is not lon/lat (OGC:CRS84 / EPSG:4326); reproject the points")
        points = shapely.from_wkb(frame[name].to_numpy())
        frame = frame.assign(lon=shapely.get_x(points), lat=shapely.get_y(points))
    return frame.drop(columns=[c for c in ("geometry",) if c in frame])


def _is_lonlat(crs: Any) -> bool:
    ident = crs.get("id", {}) if isinstance(crs, dict) else {}
    return (ident.get("authority"), str(ident.get("code"))) in (("OGC", "CRS84"), ("EPSG", "4326"))


def map_classes_at(path: str | os.PathLike, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The map's class code at each lon/lat (-1 outside the map or on nodata)."""
    from pyproj import Transformer

    with _open(path) as src:
        _, nodata = legend(src)
        x, y = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True).transform(np.asarray(lon, dtype=float),
                                                                                    np.asarray(lat, dtype=float))
        inv = ~src.transform
        col, row = inv * (np.asarray(x), np.asarray(y))
        row, col = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
        inside = (row >= 0) & (row < src.height) & (col >= 0) & (col < src.width)
        out = np.full(len(row), -1, dtype=np.int64)
        if inside.any():  # pixel centres of the rows and columns found: the pixel itself is read
            cx, cy = src.transform * (col[inside] + 0.5, row[inside] + 0.5)
            out[inside] = [int(v[0]) for v in src.sample(zip(cx, cy, strict=True), indexes=1)]
        if nodata is not None:
            out[out == nodata] = -1
    return out


@dataclass(frozen=True)
class Assessment:
    """The estimates and what was left out: points off the map or on nodata, and the class order."""

    estimate: Any  # areaestimate.AreaAccuracy
    points_used: int
    points_off_map: int
    simulated: bool = False


def assess(map_path: str | os.PathLike, reference_path: str | os.PathLike, column: str = "reference",
           z: float = 1.96) -> Assessment:
    """Stratified accuracy and area estimates of a class map from a labelled reference sample.

    Reference labels are class names of the map's legend (or its codes); other names are
    reference classes the map never shows (they get an area estimate, no user's accuracy).

    Raises:
        CropGlobeError: For unreadable inputs, no usable point, or a mapped class without a sample.
    """
    from cropglobe.mapping import areaestimate

    found = strata(map_path)
    points = read_points(reference_path, column)
    codes = map_classes_at(map_path, points["lon"].to_numpy(), points["lat"].to_numpy())
    keep = codes >= 0
    if not keep.any():
        raise CropGlobeError(f"{reference_path}: none of the {len(points)} points falls on a classified pixel of "
                             f"{map_path} (lon/lat in WGS84 expected)")
    by_code = {str(c): n for c, n in zip(found.codes, found.names, strict=True)}
    labels = [by_code.get(v, v) for v in points.loc[keep, column]]
    classes = list(found.names) + sorted(set(labels) - set(found.names))
    index = {c: i for i, c in enumerate(classes)}
    code_index = {c: index[n] for c, n in zip(found.codes, found.names, strict=True)}
    counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
    unknown = [c for c in codes[keep] if int(c) not in code_index]
    if unknown:
        raise CropGlobeError(f"{map_path}: codes {sorted(set(map(int, unknown)))} at sample points are not classes "
                             "of the map")
    np.add.at(counts, ([code_index[int(c)] for c in codes[keep]], [index[v] for v in labels]), 1)
    area = np.concatenate([found.hectares, np.zeros(len(classes) - len(found.names))])
    return Assessment(areaestimate.estimate(counts, area, classes, z), int(keep.sum()), int((~keep).sum()),
                      found.simulated)
