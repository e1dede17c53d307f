"""Generate a tiny static STAC catalog of Sentinel-2-like COGs and a crop-map GeoTIFF (test fixture).

Layout (UTM 31N, EPSG:32631), all generated here:

* crop map: 30 m pixels, 700 x 700, fields of 25 x 25 pixels with CDL-style codes
  (1 corn, 5 soybean, 3 rice, 24 wheat, 111 water = ignored, 0 nodata);
* two tiles (``31TAA`` west, ``31TBB`` east, overlapping by 3 km) x three dates, one COG per band
  (100 m pixels) plus ``scl``. Tile A uses Earth Search asset names (``blue`` ... ``scl``), tile B
  Planetary Computer names (``B02`` ... ``SCL``). DN values are a function of world position,
  band and date, so overlapping tiles agree. The second date is cloudy (SCL 9) in its north
  third; the third date has processing baseline 05.00 and DNs carrying the +1000 BOA offset.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pystac
import rasterio
from pyproj import Transformer
from pystac.extensions.projection import ProjectionExtension
from rasterio.io import MemoryFile
from rasterio.shutil import copy as rio_copy
from rasterio.transform import from_origin

CRS = "EPSG:32631"
X0, Y0 = 500_000.0, 4_990_000.0
LABEL_RES, LABEL_N, FIELD = 30.0, 700, 25
IMG_RES, IMG_ROWS = 100.0, 210
TILES = {"31TAA": (X0, 120, "es"), "31TBB": (X0 + 9_000.0, 120, "pc")}
DATES = [dt.datetime(2023, 5, 3, 10, 30, tzinfo=dt.UTC),
         dt.datetime(2023, 6, 12, 10, 30, tzinfo=dt.UTC),
         dt.datetime(2023, 7, 22, 10, 30, tzinfo=dt.UTC)]
ES_KEYS = ["blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "swir16", "swir22"]
PC_KEYS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
CODES = {1: "corn", 5: "soybean", 3: "rice", 24: "wheat"}
CLOUDY_DATE, OFFSET_DATE = 1, 2


def dn(x: np.ndarray, y: np.ndarray, band: int, date: int) -> np.ndarray:
    """Digital number (without BOA offset) at world position (pixel centre x, y)."""
    col = np.floor((x - X0) / IMG_RES).astype(np.int64)
    row = np.floor((Y0 - y) / IMG_RES).astype(np.int64)
    return (500 + 200 * band + (3 * col + 7 * row + 11 * date + 17 * band) % 1000).astype(np.uint16)


def scl(x: np.ndarray, y: np.ndarray, date: int) -> np.ndarray:
    """SCL code at world position: 9 (cloud, high probability) in the north third on the cloudy date."""
    row = np.floor((Y0 - y) / IMG_RES).astype(np.int64)
    out = np.full(np.broadcast(x, y).shape, 4, dtype=np.uint8)
    if date == CLOUDY_DATE:
        out[np.broadcast_to(row < 70, out.shape)] = 9
    return out


def _write_cog(path: Path, data: np.ndarray, transform: object) -> None:
    profile = {"driver": "GTiff", "height": data.shape[0], "width": data.shape[1], "count": 1,
               "dtype": data.dtype.name, "crs": CRS, "transform": transform, "nodata": 0}
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(data, 1)
        with mem.open() as src:
            rio_copy(src, str(path), driver="COG", BLOCKSIZE=64)


def write_label_map(path: Path, seed: int = 0) -> Path:
    """Write the crop-map GeoTIFF and return its path."""
    rng = np.random.default_rng(seed)
    n_fields = LABEL_N // FIELD
    choices = np.array([1, 5, 3, 24, 24, 111, 0], dtype=np.uint8)
    fields = rng.choice(choices, size=(n_fields, n_fields))
    codes = np.kron(fields, np.ones((FIELD, FIELD), dtype=np.uint8))
    profile = {"driver": "GTiff", "height": LABEL_N, "width": LABEL_N, "count": 1, "dtype": "uint8",
               "crs": CRS, "transform": from_origin(X0, Y0, LABEL_RES, LABEL_RES), "nodata": 0}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(codes, 1)
    return path


def write_catalog(root: Path) -> Path:
    """Write the static catalog (collection ``sentinel-2-l2a``) and return the catalog.json path."""
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    catalog = pystac.Catalog("test-s2", "generated Sentinel-2-like test catalog")
    extent = pystac.Extent(pystac.SpatialExtent([[-180, -90, 180, 90]]),
                           pystac.TemporalExtent([[DATES[0], DATES[-1]]]))
    coll = pystac.Collection("sentinel-2-l2a", "test L2A", extent)
    catalog.add_child(coll)
    other = pystac.Collection("landsat-c2-l2", "another collection", extent)
    catalog.add_child(other)
    for tile, (x_left, width, style) in TILES.items():
        transform = from_origin(x_left, Y0, IMG_RES, IMG_RES)
        xs = x_left + (np.arange(width) + 0.5) * IMG_RES
        ys = Y0 - (np.arange(IMG_ROWS) + 0.5) * IMG_RES
        gx, gy = np.meshgrid(xs, ys)
        corners = [(x_left, Y0), (x_left + width * IMG_RES, Y0), (x_left + width * IMG_RES, Y0 - IMG_ROWS * IMG_RES),
                   (x_left, Y0 - IMG_ROWS * IMG_RES)]
        ring = [list(to_ll.transform(*c)) for c in corners]
        lons, lats = zip(*ring, strict=True)
        for d, when in enumerate(DATES):
            item_id = f"S2_{tile}_{when:%Y%m%d}"
            folder = root / "data" / item_id
            folder.mkdir(parents=True)
            props = {"s2:mgrs_tile": tile, "eo:cloud_cover": 30.0 if d == CLOUDY_DATE else 1.0,
                     "s2:processing_baseline": "05.00" if d == OFFSET_DATE else "03.01"}
            item = pystac.Item(item_id, {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
                               [min(lons), min(lats), max(lons), max(lats)], when, props)
            proj = ProjectionExtension.ext(item, add_if_missing=True)
            proj.epsg = 32631
            proj.shape = [IMG_ROWS, width]
            proj.transform = list(transform)[:6]
            keys = ES_KEYS if style == "es" else PC_KEYS
            for b, key in enumerate(keys):
                data = dn(gx, gy, b, d) + (1000 if d == OFFSET_DATE else 0)
                _write_cog(folder / f"{key}.tif", data.astype(np.uint16), transform)
                item.add_asset(key, pystac.Asset(str(folder / f"{key}.tif"), media_type=pystac.MediaType.COG,
                                                 roles=["data"]))
            scl_key = "scl" if style == "es" else "SCL"
            _write_cog(folder / f"{scl_key}.tif", scl(gx, gy, d), transform)
            item.add_asset(scl_key, pystac.Asset(str(folder / f"{scl_key}.tif"), media_type=pystac.MediaType.COG,
                                                 roles=["data"]))
            coll.add_item(item)
    catalog.normalize_hrefs(str(root))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


def config_text(catalog: str, label_map: Path, output: Path, **over: object) -> str:
    """Return the YAML config of a run over the generated scene (``over`` replaces top-level keys)."""
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    w, s = to_ll.transform(X0 + 300, Y0 - LABEL_N * LABEL_RES + 300)
    e, n = to_ll.transform(X0 + LABEL_N * LABEL_RES - 300, Y0 - 300)
    import yaml

    cfg: dict = {
        "region": {"country": "FRA", "bbox": [round(w, 6), round(s, 6), round(e, 6), round(n, 6)]},
        "year": 2023,
        "labels": {"kind": "raster", "path": str(label_map), "classes": {str(k): v for k, v in CODES.items()},
                   "ignore": ["111"]},
        "sampling": {"grid_deg": 0.1, "per_cell": 3, "per_class": {"wheat": 10}, "seed": 7},
        "imagery": {"backend": "stac", "stac": {
            "endpoint": catalog, "collection": "sentinel-2-l2a", "resolution": IMG_RES, "retries": 4,
            "backoff_s": 0.05, "keep_cache": False,
            "dask": {"scheduler": "threads", "chunks_in_flight": 3}}},
        "output": str(output),
    }
    for key, value in over.items():
        cfg[key] = value
    return yaml.safe_dump(cfg, sort_keys=False)
