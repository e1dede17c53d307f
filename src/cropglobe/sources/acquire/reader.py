"""Read point time series from STAC items with odc-stac on Dask, chunk by chunk, with a resume cache.

Each :class:`~cropglobe.sources.acquire.stac.Chunk` (one tile on one date) is one Dask task: for every
0.1-degree cell of its points, :func:`odc.stac.load` reads only the window around those points at
the configured resolution in the item's own CRS (nearest-neighbour, so 20 m bands keep their
native values), and the pixel under each point is taken. A task retries failed reads with
exponential backoff (``backoff_s * 2**attempt``) on top of GDAL's own HTTP retries
(``GDAL_HTTP_MAX_RETRY``). Finished chunks are written to the cache folder as ``.npz`` files
named by a hash of their items, bands, resolution and points, so a re-run after a crash reads
only the missing chunks. Tasks run on a Dask ``LocalCluster``, a scheduler address, or the local
threaded/synchronous scheduler; a rich progress bar counts chunks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cropglobe.atomic import atomic_path
from cropglobe.errors import CropGlobeError
from cropglobe.sources.acquire.config import DaskConfig, StacConfig
from cropglobe.sources.acquire.stac import Chunk, band_assets, first_observed, item_crs, l2a_reflectance

CACHE_VERSION = 1


@dataclass
class ChunkResult:
    """Values of one chunk: reflectance (points, bands) float32 NaN=nodata, and SCL codes (points)."""

    chunk: Chunk
    points: np.ndarray
    values: np.ndarray
    scl: np.ndarray
    from_cache: bool = False


def chunk_key(chunk: Chunk, points: pd.DataFrame, bands: list[str], resolution: float) -> str:
    """Return the cache key of a chunk: a hash of its items, bands, resolution and points."""
    sub = points.iloc[list(chunk.points)]
    spec = {
        "v": CACHE_VERSION, "items": [it.id for it in chunk.items], "bands": bands,
        "res": resolution, "ids": sub.sample_id.tolist(),
        "xy": np.round(sub[["lon", "lat"]].to_numpy(), 9).tolist(),
    }
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:24]


def _read_item(item: Any, lon: np.ndarray, lat: np.ndarray, cells: np.ndarray, bands: list[str],
               resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Read the pixels under the points from one item, one window per grid cell."""
    import odc.stac
    import xarray as xr
    from pyproj import Transformer

    keys, scl_key = band_assets(item, bands)
    crs = item_crs(item)
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    values = np.full((lon.size, len(bands)), np.nan, dtype=np.float32)
    scl = np.zeros(lon.size, dtype=np.uint8)
    pad = 3 * resolution / 111_000.0 if crs != "EPSG:4326" else 3 * resolution
    for cell in np.unique(cells):
        idx = np.flatnonzero(cells == cell)
        bbox = (lon[idx].min() - pad, lat[idx].min() - pad, lon[idx].max() + pad, lat[idx].max() + pad)
        ds = odc.stac.load([item], bands=[*keys.values(), scl_key], bbox=bbox, crs=crs,
                           resolution=resolution, resampling="nearest", groupby=None)
        xs, ys = to_crs.transform(lon[idx], lat[idx])
        at = ds.isel(time=0).sel(x=xr.DataArray(xs, dims="p"), y=xr.DataArray(ys, dims="p"), method="nearest")
        raw = np.stack([at[k].to_numpy().astype(np.float64) for k in keys.values()], axis=1)
        values[idx] = l2a_reflectance(raw, item).astype(np.float32)
        scl[idx] = at[scl_key].to_numpy().astype(np.uint8)
    return values, scl


def read_chunk(chunk: Chunk, lon: np.ndarray, lat: np.ndarray, cells: np.ndarray, bands: list[str],
               stac: StacConfig) -> tuple[np.ndarray, np.ndarray]:
    """Read one chunk (a Dask task): every item, merged per point, with retries and backoff.

    Items of the same tile and date (split granules) are merged: a point takes the first item that
    observed it (SCL code not 0).

    Raises:
        CropGlobeError: When reads still fail after ``stac.retries`` retries.
    """
    import odc.stac
    import rasterio

    gdal = {"GDAL_HTTP_MAX_RETRY": str(stac.retries), "GDAL_HTTP_RETRY_DELAY": str(max(stac.backoff_s, 0.01)),
            "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF"}
    odc.stac.configure_rio(**gdal)
    last: Exception | None = None
    for attempt in range(stac.retries + 1):
        try:
            with rasterio.Env(**gdal):
                values = np.full((lon.size, len(bands)), np.nan, dtype=np.float32)
                scl = np.zeros(lon.size, dtype=np.uint8)
                for item in chunk.items:
                    values, scl = first_observed(values, scl, *_read_item(item, lon, lat, cells, bands,
                                                                        stac.resolution))
                return values, scl
        except CropGlobeError:
            raise
        except Exception as err:  # I/O errors come as rasterio, OSError or odc wrappers
            last = err
            if attempt < stac.retries:
                time.sleep(stac.backoff_s * 2**attempt)
    raise CropGlobeError(
        f"chunk {chunk.name}: reading failed after {stac.retries + 1} attempts "
        f"({type(last).__name__}: {last}); finished chunks are cached, re-run to resume"
    )


@contextlib.contextmanager
def scheduler(cfg: DaskConfig) -> Iterator[Any]:
    """Yield the Dask scheduler to compute on: a LocalCluster client, a remote client, or a name."""
    if cfg.scheduler in ("threads", "synchronous"):
        yield cfg.scheduler
        return
    from distributed import Client, LocalCluster

    if cfg.scheduler == "local-cluster":
        with LocalCluster(n_workers=cfg.n_workers, threads_per_worker=cfg.threads_per_worker,
                          processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
    else:
        from cropglobe import daskclient

        with daskclient.connect(cfg.scheduler, "imagery.stac.dask.scheduler") as client:
            yield client


def _cache_file(cache: Path, key: str) -> Path:
    return cache / f"{key}.npz"


def _load_cached(path: Path, n: int, n_bands: int) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path) as z:
            values, scl = z["values"], z["scl"]
    except Exception:  # a damaged cache file is simply re-read
        return None
    if values.shape != (n, n_bands) or scl.shape != (n,):
        return None
    return values, scl


def read_all(chunks: list[Chunk], points: pd.DataFrame, bands: list[str], stac: StacConfig, cache: Path,
             *, progress: bool = True, after_chunk: Callable[[ChunkResult], None] | None = None) -> list[ChunkResult]:
    """Read every chunk (cached ones from disk), in chunk order, caching each as it finishes.

    Args:
        chunks: The planned chunks.
        points: Sample points (``sample_id``, ``lon``, ``lat``, ``cell``).
        bands: Canonical band names.
        stac: STAC options (resolution, retries, Dask).
        cache: Cache folder.
        progress: Show a rich progress bar.
        after_chunk: Called after each chunk is finished and cached (a test hook for crashes).

    Returns:
        One result per chunk, in the order of ``chunks``.
    """
    import dask
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    cache.mkdir(parents=True, exist_ok=True)
    lon, lat, cells = points.lon.to_numpy(), points.lat.to_numpy(), points.cell.to_numpy()
    results: dict[int, ChunkResult] = {}
    todo = []
    for i, ch in enumerate(chunks):
        idx = np.asarray(ch.points, dtype=np.int64)
        key = chunk_key(ch, points, bands, stac.resolution)
        got = _load_cached(_cache_file(cache, key), idx.size, len(bands))
        if got is not None:
            results[i] = ChunkResult(ch, idx, got[0], got[1], from_cache=True)
        else:
            todo.append((i, key, idx))
    columns = (TextColumn("chunks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar, scheduler(stac.dask) as sched:
        task = bar.add_task("read", total=len(chunks), completed=len(results))
        step = stac.dask.chunks_in_flight
        for start in range(0, len(todo), step):
            batch = todo[start:start + step]
            lazy = [dask.delayed(read_chunk)(chunks[i], lon[idx], lat[idx], cells[idx], bands, stac)
                    for i, _, idx in batch]
            outs = dask.compute(*lazy, scheduler=sched)
            for (i, key, idx), (values, scl) in zip(batch, outs, strict=True):
                with atomic_path(_cache_file(cache, key)) as tmp:
                    with open(tmp, "wb") as fh:
                        np.savez(fh, values=values, scl=scl)
                results[i] = ChunkResult(chunks[i], idx, values, scl)
                bar.advance(task)
                if after_chunk is not None:
                    after_chunk(results[i])
    return [results[i] for i in range(len(chunks))]
