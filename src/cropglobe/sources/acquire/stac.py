"""STAC search for Sentinel-2 L2A items and the split of the work into (tile, date) chunks.

Sources: a STAC API (pystac-client; Earth Search and Planetary Computer by name) or a static
catalog (pystac; a local path or an http(s) URL of ``catalog.json``/``collection.json``). HTTP
reads retry with exponential backoff (urllib3 ``Retry`` through pystac's ``RetryStacIO`` and
pystac-client's ``StacApiIO``). Planetary Computer assets are signed with ``planetary_computer``.

Reflectance convention (ESA, "Sentinel-2 L2A products: processing baseline 04.00", 2022): L2A
digital numbers are ``reflectance * 10000``; from processing baseline 04.00 on, products carry a
``BOA_ADD_OFFSET`` of -1000, so ``reflectance = (DN - 1000) / 10000``. :func:`boa_offset` applies
it when an item says ``s2:processing_baseline >= 04.00`` and does not say the provider already
removed it (``earthsearch:boa_offset_applied: true``). DN 0 is nodata.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pystac
import xarray as xr

from cropglobe import bands as _bands
from cropglobe.errors import CropGlobeError
from cropglobe.sources.acquire.config import AcquireConfig, StacConfig

_RETRY_STATUS = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Chunk:
    """One unit of work: the items of one tile on one date and the points they cover."""

    tile: str
    date: str
    items: tuple[pystac.Item, ...]
    points: tuple[int, ...] = field(default=())

    @property
    def name(self) -> str:
        """A readable chunk name ``tile/date``."""
        return f"{self.tile}/{self.date}"


def _retry(cfg: StacConfig) -> Any:
    from urllib3.util.retry import Retry

    return Retry(total=cfg.retries, backoff_factor=cfg.backoff_s, status_forcelist=_RETRY_STATUS,
                 allowed_methods=None, raise_on_status=True)


def _is_static(url: str) -> bool:
    return url.endswith(".json") or Path(url).exists()


def search(cfg: AcquireConfig) -> list[pystac.Item]:
    """Find the items of the configured collection over the region's bbox and season.

    Args:
        cfg: The acquisition config (``imagery.stac``, ``region``, ``year``, ``season``).

    Returns:
        Items sorted by datetime and id, with absolute asset hrefs.

    Raises:
        CropGlobeError: For an unknown collection, an unreachable source or no items.
    """
    start, end = cfg.date_range()
    return search_items(cfg.imagery.stac, cfg.region.bbox, start, end)


def search_items(scfg: StacConfig, bbox: Any, start: str, end: str) -> list[pystac.Item]:
    """Find the items of ``scfg.collection`` over a lon/lat ``bbox`` (or anywhere) between two ISO dates.

    The search behind :func:`search`, for callers without an :class:`AcquireConfig` (``cropglobe map --bbox``).

    Raises:
        CropGlobeError: For an unknown collection, an unreachable source or no items.
    """
    if _is_static(scfg.url):
        items = _search_static(scfg, bbox, start, end)
    else:
        items = _search_api(scfg, bbox, start, end)
    items = [it for it in items if _cloud(it) <= scfg.max_cloud]
    if not items:
        raise CropGlobeError(
            f"imagery.stac: no items of collection {scfg.collection!r} at {scfg.url} for bbox "
            f"{list(bbox) if bbox else '(label map)'} between {start} and {end} with cloud cover "
            f"<= {scfg.max_cloud:g}%: expected at least one"
        )
    for it in items:
        it.make_asset_hrefs_absolute()
    return sorted(items, key=lambda it: (it.datetime or dt.datetime.min, it.id))


def _cloud(item: pystac.Item) -> float:
    value = item.properties.get("eo:cloud_cover")
    return 0.0 if value is None else float(value)


def _search_static(scfg: StacConfig, bbox: Any, start: str, end: str) -> list[pystac.Item]:
    from pystac.stac_io import RetryStacIO

    stac_io = RetryStacIO(retry=_retry(scfg)) if "://" in scfg.url else None
    try:
        root = pystac.read_file(scfg.url, stac_io=stac_io)
    except Exception as err:  # any failure to read the catalog is reported the same way
        raise CropGlobeError(
            f"imagery.stac.endpoint: cannot read STAC catalog {scfg.url} ({type(err).__name__}: {err})"
        ) from None
    if not isinstance(root, pystac.Catalog):
        raise CropGlobeError(
            f"imagery.stac.endpoint: {scfg.url} is a STAC {type(root).__name__}, expected a catalog or collection"
        )
    collections = {c.id: c for c in root.get_all_collections()}
    if isinstance(root, pystac.Collection):
        collections[root.id] = root
    if scfg.collection not in collections:
        raise CropGlobeError(
            f"imagery.stac.collection: unknown collection {scfg.collection!r} in {scfg.url}; "
            f"available: {', '.join(sorted(collections)) or '(none)'}"
        )
    lo = dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC)
    hi = dt.datetime.fromisoformat(end).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    out = []
    for item in collections[scfg.collection].get_items(recursive=True):
        when = item.datetime
        if when is None or not lo <= when.astimezone(dt.UTC) < hi:
            continue
        if bbox is not None and item.bbox is not None:
            w, s, e, n = item.bbox
            if e < bbox[0] or w > bbox[2] or n < bbox[1] or s > bbox[3]:
                continue
        out.append(item)
    return out


def _search_api(scfg: StacConfig, bbox: Any, start: str, end: str) -> list[pystac.Item]:
    from pystac_client import Client
    from pystac_client.stac_api_io import StacApiIO

    try:
        client = Client.open(scfg.url, stac_io=StacApiIO(max_retries=_retry(scfg)))
        ids = [c.id for c in client.get_collections()]
    except Exception as err:  # network/API failures are reported as one line
        raise CropGlobeError(
            f"imagery.stac.endpoint: cannot open STAC API {scfg.url} ({type(err).__name__}: {err})"
        ) from None
    if scfg.collection not in ids:
        raise CropGlobeError(
            f"imagery.stac.collection: unknown collection {scfg.collection!r} at {scfg.url}; "
            f"available: {', '.join(sorted(ids))}"
        )
    found = client.search(collections=[scfg.collection], bbox=bbox, datetime=f"{start}/{end}",
                          query={"eo:cloud_cover": {"lte": scfg.max_cloud}})
    items = list(found.items())
    if "planetarycomputer" in scfg.url:
        import planetary_computer

        items = [planetary_computer.sign(it) for it in items]
    return items


def band_assets(item: pystac.Item, bands: list[str], where: str = "bands") -> tuple[dict[str, str], str]:
    """Map canonical band names to the item's asset keys and find its SCL asset.

    Earth Search names assets ``blue`` ... ``swir22``/``scl``, Planetary Computer ``B02`` ... ``SCL``.

    Returns:
        ``({band: asset_key}, scl_key)``.

    Raises:
        CropGlobeError: When a requested band or the SCL asset is missing.
    """
    found: dict[str, str] = {}
    scl = ""
    for key in item.assets:
        if key.lower() == "scl":
            scl = key
            continue
        try:
            name = _bands.canonical_band(key)
        except CropGlobeError:
            continue
        found.setdefault(name, key)
    missing = [b for b in bands if b not in found]
    if missing:
        raise CropGlobeError(
            f"{where}: {', '.join(missing)} not in collection items (item {item.id} has bands "
            f"{', '.join(sorted(found, key=_band_order))}); expected bands the collection provides"
        )
    if not scl:
        raise CropGlobeError(
            f"imagery.stac: item {item.id} has no SCL asset; expected an L2A collection with scene classification"
        )
    return {b: found[b] for b in bands}, scl


def _band_order(name: str) -> tuple[int, str]:
    order = list(_bands.S2_BANDS)
    return (order.index(name), name) if name in order else (99, name)


def boa_offset(item: pystac.Item) -> float:
    """Return the DN offset to add before scaling: -1000 for baseline >= 04.00 unless removed."""
    props = item.properties
    if props.get("earthsearch:boa_offset_applied") is True:
        return 0.0
    baseline = props.get("s2:processing_baseline")
    try:
        return -1000.0 if baseline is not None and float(baseline) >= 4.0 else 0.0
    except ValueError:
        raise CropGlobeError(
            f"item {item.id}: s2:processing_baseline={baseline!r}, expected a number like '05.09'"
        ) from None


def item_crs(item: pystac.Item) -> str:
    """The item's CRS (``proj:epsg`` or ``proj:code``; EPSG:4326 when it declares none)."""
    epsg = item.properties.get("proj:epsg") or (item.properties.get("proj:code") or "").removeprefix("EPSG:")
    return f"EPSG:{epsg}" if epsg else "EPSG:4326"


def l2a_reflectance(raw: Any, item: pystac.Item) -> Any:
    """Sentinel-2 L2A digital numbers of ``item`` -> reflectance: ``(DN + boa_offset) / 10000``, DN 0 -> NaN.

    ``raw`` is a float numpy array (computed in its precision) or a lazy float32 ``xarray.DataArray``
    (kept lazy, float32 arithmetic): the one decoding of acquisition points and STAC map cubes.
    """
    offset = boa_offset(item)
    if isinstance(raw, xr.DataArray):
        f32 = np.float32
        return xr.where(raw == 0, f32(np.nan), np.clip(raw + f32(offset), 0, None) * f32(1e-4)).astype(f32)
    return np.where(raw == 0, np.nan, np.clip(raw + offset, 0, None) * 1e-4)


def first_observed(values: Any, scl: Any, new_values: Any, new_scl: Any) -> tuple[Any, Any]:
    """Merge one more item of the same day: a pixel (or point) keeps the first item that observed it (SCL not 0).

    Works on numpy arrays (values (N, B), scl (N,); merged in place) and on xarray DataArrays
    (broadcast by dimension name, kept lazy).

    Returns:
        The merged ``(values, scl)``.
    """
    take = (scl == 0) & (new_scl != 0)
    if isinstance(values, xr.DataArray):
        return xr.where(take, new_values, values), xr.where(take, new_scl, scl).astype(np.uint8)
    values[take], scl[take] = new_values[take], new_scl[take]
    return values, scl


def tile_of(item: pystac.Item) -> str:
    """Return the item's MGRS tile (``s2:mgrs_tile``, ``grid:code`` or ``mgrs:*``), else its id."""
    p = item.properties
    if p.get("s2:mgrs_tile"):
        return str(p["s2:mgrs_tile"])
    if p.get("grid:code"):
        return str(p["grid:code"]).removeprefix("MGRS-")
    if p.get("mgrs:utm_zone") is not None:
        return f"{p['mgrs:utm_zone']}{p.get('mgrs:latitude_band', '')}{p.get('mgrs:grid_square', '')}"
    return item.id


def make_chunks(items: list[pystac.Item], points: pd.DataFrame) -> tuple[list[Chunk], np.ndarray]:
    """Group items by (tile, UTC date) and attach the points inside each group's footprints.

    Args:
        items: Searched items.
        points: Frame with ``lon``, ``lat``.

    Returns:
        Chunks sorted by date then tile (only those covering points), and a boolean array saying
        which points are covered by at least one chunk.
    """
    import shapely

    groups: dict[tuple[str, str], list[pystac.Item]] = {}
    for it in items:
        when = (it.datetime or dt.datetime.min).astimezone(dt.UTC) if it.datetime else None
        day = when.date().isoformat() if when else "unknown"
        groups.setdefault((day, tile_of(it)), []).append(it)
    lon, lat = points.lon.to_numpy(), points.lat.to_numpy()
    covered = np.zeros(len(points), dtype=bool)
    chunks = []
    for (day, tile), group in sorted(groups.items()):
        inside = np.zeros(len(points), dtype=bool)
        for it in group:
            geom = shapely.geometry.shape(it.geometry) if it.geometry else shapely.box(*it.bbox)
            inside |= shapely.contains_xy(geom, lon, lat)
        if inside.any():
            covered |= inside
            chunks.append(Chunk(tile, day, tuple(group), tuple(int(i) for i in np.flatnonzero(inside))))
    return chunks, covered
