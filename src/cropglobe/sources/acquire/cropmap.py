"""Crop maps -> labelled sample points: inward edge buffer, then seeded 0.1-degree grid sampling.

Recipe of CropGlobe (Tong & Wang, arXiv:2509.03497, Sect. 3.1): pixels within 60 m of a field
edge are never sampled (mixed pixels), and samples are spread by drawing at most *k* per class
in each 0.1-degree cell.

* Raster maps: the distance from every pixel centre to the nearest pixel of another class (or
  nodata, or the edge of the read window) comes from an exact Euclidean distance transform
  (:func:`scipy.ndimage.distance_transform_edt`) in the map's own pixel units scaled to metres;
  a pixel is kept when ``distance - half pixel diagonal >= buffer_m`` — conservative, so no point
  lies within ``buffer_m`` of any pixel of another class. Geographic maps use metres per degree
  at the window's centre latitude.
* Vector parcels: each parcel is buffered inwards by ``buffer_m`` in the UTM zone of its centroid,
  then ``points_per_parcel`` uniform random points are drawn inside (geopandas ``sample_points``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from cropglobe.errors import CropGlobeError
from cropglobe.sources.acquire.config import AcquireConfig, Labels, Sampling
from cropglobe.taxonomy import OTHER


def sample_points(cfg: AcquireConfig) -> pd.DataFrame:
    """Turn the config's crop map into sample points.

    Returns:
        A frame with columns ``sample_id``, ``lon``, ``lat``, ``label``, ``cell`` sorted by id.

    Raises:
        CropGlobeError: On an unreadable map, unmapped codes, or a region without samples.
    """
    lab = cfg.labels
    if lab.kind == "raster":
        cand = raster_candidates(lab, cfg.region.bbox)
    else:
        cand = vector_candidates(lab, cfg.region.bbox, seed=cfg.sampling.seed)
    if cfg.region.bbox is not None:
        w, s, e, n = cfg.region.bbox
        cand = cand[(cand.lon >= w) & (cand.lon <= e) & (cand.lat >= s) & (cand.lat <= n)]
    pts = grid_sample(cand, cfg.sampling)
    if pts.empty:
        raise CropGlobeError(
            f"{lab.path}: no sample points in region {cfg.region.bbox or 'of the map'} after the "
            f"{lab.buffer_m:g} m edge buffer: expected labelled fields inside the region"
        )
    pts = pts.sort_values(["label", "lat", "lon"], kind="stable").reset_index(drop=True)
    pts.insert(0, "sample_id", [f"{cfg.region.country}-{cfg.year}-{i:06d}" for i in range(len(pts))])
    return pts


def _class_lookup(lab: Labels, values: np.ndarray, where: str) -> np.ndarray:
    """Map codes/names to class names ('' for ignored); raise for unmapped values."""
    keys = np.asarray(values).astype(str)
    uniq, inverse = np.unique(keys, return_inverse=True)
    mapped = []
    unmapped = []
    for u in uniq:
        if u in lab.classes:
            mapped.append(lab.classes[u])
        elif u in lab.ignore:
            mapped.append("")
        elif lab.unmapped == "other":
            mapped.append(OTHER)
        else:
            mapped.append("")
            unmapped.append(u)
    if unmapped and lab.unmapped == "error":
        listing = ", ".join(repr(str(u)) for u in unmapped[:20]) + (" ..." if len(unmapped) > 20 else "")
        raise CropGlobeError(
            f"{where}: {len(unmapped)} code(s) in the map have no class in labels.classes: {listing}; "
            "expected every code to be mapped, listed in labels.ignore, or labels.unmapped: other/ignore"
        )
    return np.asarray(mapped, dtype=object)[inverse.reshape(-1)]


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]


def raster_candidates(lab: Labels, bbox: tuple[float, float, float, float] | None) -> pd.DataFrame:
    """Return every buffered, labelled pixel centre of a raster crop map inside ``bbox``.

    Args:
        lab: The labels section (path, class table, buffer).
        bbox: Lon/lat window to read, or None for the whole map.

    Returns:
        Frame with ``lon``, ``lat``, ``label``.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.windows import Window, from_bounds
    from scipy import ndimage

    where = str(lab.path)
    try:
        src = rasterio.open(lab.path)
    except RasterioIOError as err:
        raise CropGlobeError(f"{where}: cannot open the label raster ({err})") from None
    with src:
        if src.crs is None:
            raise CropGlobeError(f"{where}: the label raster has no CRS; expected a georeferenced GeoTIFF")
        win = Window(0, 0, src.width, src.height)
        if bbox is not None:
            from rasterio.warp import transform_bounds

            b = transform_bounds("EPSG:4326", src.crs, *bbox, densify_pts=21)
            w = from_bounds(*b, transform=src.transform)
            # pad by the buffer so the region's edge is not taken for a field edge
            res_m = min(abs(src.res[0]), abs(src.res[1])) * (111_000.0 if src.crs.is_geographic else 1.0)
            pad = math.ceil(lab.buffer_m / res_m) + 1
            c0, r0 = max(math.floor(w.col_off) - pad, 0), max(math.floor(w.row_off) - pad, 0)
            c1 = min(math.ceil(w.col_off + w.width) + pad, src.width)
            r1 = min(math.ceil(w.row_off + w.height) + pad, src.height)
            if c1 <= c0 or r1 <= r0 or not _overlaps(b, tuple(src.bounds)):
                raise CropGlobeError(f"{where}: region bbox {list(bbox)} does not overlap the label map")
            win = Window(c0, r0, c1 - c0, r1 - r0)
        codes = src.read(1, window=win)
        transform = src.window_transform(win)
        nodata = src.nodata
        crs = CRS.from_user_input(src.crs)
    valid = np.ones(codes.shape, bool) if nodata is None else codes != nodata
    flat = _class_lookup(lab, np.where(valid, codes, 0)[valid], where)
    classes = np.full(codes.shape, "", dtype=object)
    classes[valid] = flat
    rx, ry = abs(transform.a), abs(transform.e)
    if crs.is_geographic:
        lat0 = transform.f - ry * codes.shape[0] / 2
        rx, ry = rx * 111_320.0 * math.cos(math.radians(lat0)), ry * 110_574.0
    half_diag = 0.5 * math.hypot(rx, ry)
    rows_all, cols_all, labels_all = [], [], []
    for cls in sorted({c for c in np.unique(classes) if c}):
        mask = np.pad(classes == cls, 1, constant_values=False)  # window edge counts as an edge
        dist = ndimage.distance_transform_edt(mask, sampling=(ry, rx))[1:-1, 1:-1]
        keep = (classes == cls) & (dist - half_diag >= lab.buffer_m)
        r, c = np.nonzero(keep)
        rows_all.append(r)
        cols_all.append(c)
        labels_all.append(np.full(r.size, cls, dtype=object))
    if not rows_all:
        return pd.DataFrame({"lon": [], "lat": [], "label": []})
    rows, cols = np.concatenate(rows_all), np.concatenate(cols_all)
    xs, ys = transform * (cols + 0.5, rows + 0.5)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    return pd.DataFrame({"lon": lon, "lat": lat, "label": np.concatenate(labels_all)})


def vector_candidates(lab: Labels, bbox: tuple[float, float, float, float] | None, seed: int) -> pd.DataFrame:
    """Return random points inside inward-buffered parcels of a vector crop map.

    Args:
        lab: The labels section (path, column, class table, buffer, points per parcel).
        bbox: Lon/lat filter applied while reading, or None.
        seed: Seed of the point draw.

    Returns:
        Frame with ``lon``, ``lat``, ``label``.
    """
    import geopandas as gpd

    where = str(lab.path)
    if not Path(lab.path).exists():
        raise CropGlobeError(f"{where}: no such vector label file (GeoPackage, GeoParquet or Shapefile)")
    try:
        if str(lab.path).endswith(".parquet"):
            gdf = gpd.read_parquet(lab.path, bbox=bbox)
        else:
            gdf = gpd.read_file(lab.path, bbox=bbox)
    except Exception as err:  # any reader failure is a bad input here
        raise CropGlobeError(f"{where}: cannot be read as vector parcels ({type(err).__name__}: {err})") from None
    if lab.column not in gdf.columns:
        raise CropGlobeError(f"{where}: no column {lab.column!r} (labels.column); columns are {list(gdf.columns)}")
    if gdf.crs is None:
        raise CropGlobeError(f"{where}: the parcels have no CRS; expected a georeferenced layer")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf.assign(label=_class_lookup(lab, gdf[lab.column].to_numpy(), where))
    gdf = gdf[gdf.label != ""].to_crs("EPSG:4326")
    if gdf.empty:
        return pd.DataFrame({"lon": [], "lat": [], "label": []})
    cent = gdf.geometry.representative_point()
    zone = np.floor((cent.x.to_numpy() + 180) / 6).astype(int) % 60 + 1
    epsg = np.where(cent.y.to_numpy() >= 0, 32600, 32700) + zone
    rng = np.random.default_rng(seed)
    parts = []
    for code in np.unique(epsg):
        sub = gdf[epsg == code].to_crs(epsg=int(code))
        shrunk = sub.geometry.buffer(-lab.buffer_m)
        ok = ~shrunk.is_empty & (shrunk.area > 0)
        if not ok.any():
            continue
        pts = shrunk[ok].sample_points(lab.points_per_parcel, rng=rng)
        pts = gpd.GeoDataFrame({"label": sub.label[ok].to_numpy()}, geometry=pts.to_numpy(), crs=sub.crs)
        pts = pts.explode(index_parts=False).to_crs("EPSG:4326")
        parts.append(pd.DataFrame({"lon": pts.geometry.x, "lat": pts.geometry.y, "label": pts.label}))
    if not parts:
        return pd.DataFrame({"lon": [], "lat": [], "label": []})
    return pd.concat(parts, ignore_index=True)


def grid_sample(cand: pd.DataFrame, sampling: Sampling) -> pd.DataFrame:
    """Keep at most ``per_cell`` random candidates per class and grid cell, then per-class caps.

    Args:
        cand: Candidates with ``lon``, ``lat``, ``label``.
        sampling: Grid size, per-cell count, per-class caps and seed.

    Returns:
        The kept rows with an added ``cell`` column (``"<ix>_<iy>"`` of the grid cell).
    """
    if cand.empty:
        return cand.assign(cell=pd.Series([], dtype=str))
    rng = np.random.default_rng(sampling.seed)
    ix = np.floor(cand.lon.to_numpy() / sampling.grid_deg).astype(np.int64)
    iy = np.floor(cand.lat.to_numpy() / sampling.grid_deg).astype(np.int64)
    frame = cand.reset_index(drop=True).assign(ix=ix, iy=iy, r=rng.random(len(cand)))
    frame = frame.sort_values(["label", "ix", "iy", "r"], kind="stable")
    rank = frame.groupby(["label", "ix", "iy"], sort=False).cumcount()
    kept = frame[rank.to_numpy() < sampling.per_cell]
    out = []
    for cls, group in kept.groupby("label", sort=True):
        cap = sampling.per_class.get(str(cls))
        if cap is not None and len(group) > cap:
            group = group.sort_values("r").iloc[:cap]
        out.append(group)
    res = pd.concat(out) if out else kept
    cell = res.ix.astype(str) + "_" + res.iy.astype(str)
    return res.assign(cell=cell.to_numpy()).drop(columns=["ix", "iy", "r"]).reset_index(drop=True)
