"""Tiles on Dask: split the map into tiles, classify each in a task, hand results back as they finish.

Each tile is one Dask task. The task re-opens the cube from its :class:`~cropglobe.mapping.cube.CubeSource`
(cached per process), loads the model once per process, and reads the tile in row strips of about
``block_pixels`` pixels (rounded to whole storage chunks, up to 4x), so memory is bounded by the
strip size (time x bands x pixels x 2-4 bytes) and never by the map size. At most ``2 x threads``
tiles are in flight; the caller writes each finished tile into the output and drops it.

Schedulers: ``None`` / ``"threads"`` (default) runs an in-process :class:`distributed.LocalCluster`
(:func:`local_cluster`: no dashboard, no worker profiler) with one worker and one thread per core:
tiles read, composite and predict in parallel (the compiled kernels release the GIL, and so do torch
and LightGBM): every task's model call runs on one thread, torch and LightGBM alike, so no OpenMP
team shares its cores with the other tasks' compositing (a torch team on every core behind a lock
left the cores waiting on each other: the ``map --fast`` student's map of the ``bench map``
observation cube took 3.5 s of wall against 4.2 s, medians of alternating maps, docs/results.md). A map of
fewer tiles than a worker's threads shares the threads out among them (one tile: every core), and
a worker with one thread (or ``"synchronous"``) gives the model every core. ``"processes"`` starts worker
processes (one thread each); ``"synchronous"`` runs in this process without Dask (debugging, tiny
tests); anything else is a scheduler address (``tcp://host:8786``) of a running cluster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import locate
from cropglobe.mapping.cube import Cube, CubeSource
from cropglobe.mapping.predict import BlockContext, RawBlock, predict_block, used_dates

if TYPE_CHECKING:
    from cropglobe.cells.cell import Recipe

_MODELS: dict[str, Any] = {}
_LOAD = threading.Lock()


@dataclass(frozen=True)
class TileResult:
    """One finished tile: its window and the class / confidence arrays (h, w).

    ``proba``: the class probabilities of its valid pixels (P_valid, C) when the context asked for
    them (``BlockContext.collect_proba``), else None. ``series``: their gap-filled full-year series
    (P_valid, B, T) with ``BlockContext.collect_series`` (the first pass of ``--adapt align``), else None.
    ``deferred``: how many of its pixels a cascade's teacher classified (``BlockContext.defer``).
    """

    rows: slice
    cols: slice
    classes: np.ndarray
    confidence: np.ndarray
    proba: np.ndarray | None = None
    series: np.ndarray | None = None
    deferred: int = 0


@dataclass(frozen=True)
class TileJob:
    """What every tile of a map shares: the cube's source and grid, the block context, the strip size.

    Picklable (a Dask task's argument): the source re-opens the cube in the worker.

    Attributes:
        source: Where the cube's raw values are read from.
        ctx: The shared block context (recipe, dates, region, what tiles return).
        transform: The cube's affine transform (pixel -> CRS coordinates).
        crs: The cube's CRS.
        block_pixels: Pixels per row strip read and predicted at a time (bounds worker memory).
    """

    source: CubeSource
    ctx: BlockContext
    transform: Any
    crs: Any
    block_pixels: int = 16384

    @classmethod
    def of(cls, cube: Cube, ctx: BlockContext, block_pixels: int = 16384) -> TileJob:
        """The job of an opened cube."""
        return cls(cube.source, ctx, cube.transform, cube.crs, block_pixels)


def tile_grid(shape: tuple[int, int], tile: int) -> list[tuple[slice, slice]]:
    """Row/column windows of ``tile`` x ``tile`` pixels covering ``shape`` (edge tiles are smaller)."""
    if tile < 16:
        raise CropGlobeError(f"tile={tile}: expected a tile size of at least 16 pixels")
    rows, cols = shape
    return [(slice(r, min(r + tile, rows)), slice(c, min(c + tile, cols)))
            for r in range(0, rows, tile) for c in range(0, cols, tile)]


def _model(recipe: Recipe) -> Any:
    """The process's copy of a recipe's model (loaded once, shared by the tasks)."""
    key = recipe.model_key
    with _LOAD:
        if key not in _MODELS:
            _MODELS[key] = recipe.load_model()
    return _MODELS[key]


def run_tile(job: TileJob, rows: slice, cols: slice, threads: int | None = None) -> TileResult:
    """Classify one tile in row strips of about ``job.block_pixels`` pixels, whole storage chunks (the Dask task).

    ``threads``: the threads of the model's calls in this task (1 when the worker runs several tasks
    at once; None: the model's default, every core).
    """
    source, ctx, block_pixels = job.source, job.ctx, job.block_pixels
    model = _model(ctx.recipe)
    teacher = None if ctx.defer is None else _model(ctx.defer.teacher)  # a cascade's teacher
    deferred = 0
    h, w = rows.stop - rows.start, cols.stop - cols.start
    classes = np.empty((h, w), dtype=np.uint8)
    conf = np.empty((h, w), dtype=np.float32)
    probas: list[np.ndarray] | None = [] if ctx.collect_proba or ctx.collect_series else None
    strip = max(1, block_pixels // w)
    rows_per_chunk = source.chunk_rows
    if rows_per_chunk and strip % rows_per_chunk and rows_per_chunk * w <= 4 * block_pixels:
        strip = max(rows_per_chunk, strip // rows_per_chunk * rows_per_chunk)  # whole chunks: each decompressed once
    for r0 in range(rows.start, rows.stop, strip):
        rs = slice(r0, min(r0 + strip, rows.stop))
        lon, lat = locate.lonlat(job.transform, job.crs, rs, cols)
        dates = used_dates(ctx, lat)  # e.g. not the next year's dates of an 18-month cube
        refl, clear, scl = source.read_raw(rs, cols, ctx.read_bands, dates)  # decoded by the kernels
        t, b, hh, ww = refl.shape
        sub = ctx if dates == slice(None) else dataclasses.replace(ctx, times=ctx.times[dates])
        block = RawBlock(refl.reshape(t, b, hh * ww), None if clear is None else clear.reshape(t, -1),
                         None if scl is None else scl.reshape(t, -1), lon, lat)
        c, f, n = predict_block(block, sub, model, threads, probas, teacher)
        deferred += n
        classes[rs.start - rows.start:rs.stop - rows.start] = c.reshape(hh, ww)
        conf[rs.start - rows.start:rs.stop - rows.start] = f.reshape(hh, ww)
    stacked = None if probas is None else (np.concatenate(probas) if probas else np.zeros((0, 0), np.float32))
    if ctx.collect_series:
        return TileResult(rows, cols, classes, conf, series=stacked)
    return TileResult(rows, cols, classes, conf, stacked, deferred=deferred)


class _InputErrors(logging.Filter):
    """Drops a worker's "Compute Failed" record of a task that raised :class:`~cropglobe.errors.CropGlobeError`
    (e.g. a cube chunk failing its checksum): the client re-raises it and the CLI prints it as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "CropGlobeError(" not in record.getMessage()


@contextlib.contextmanager
def local_cluster(workers: int | None = None, processes: bool = False) -> Iterator[Any]:
    """Yield the local :class:`distributed.LocalCluster` a map runs on by default.

    Args:
        workers: Threads of the one in-process worker, or single-threaded worker processes with
            ``processes`` (default: the CPU count, at most 4).
        processes: Worker processes instead of one in-process worker.

    No dashboard and no statistical profiler in the workers (``distributed.worker.profile``: it
    walks every thread's stack each 10 ms for the dashboard; on the ``bench map`` cube that was
    about 5 % of a map's CPU time).
    """
    import dask
    from distributed import LocalCluster

    n = workers or max(1, min(4, os.cpu_count() or 1))
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=n if processes else 1, threads_per_worker=1 if processes else n,
                         processes=processes, dashboard_address=None, silence_logs=40) as cluster:
        yield cluster


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """Yield a ``distributed.Client`` for the scheduler (``None`` for ``"synchronous"``).

    Raises:
        CropGlobeError: When a scheduler address cannot be reached.
    """
    if scheduler == "synchronous":
        yield None
        return
    from distributed import Client

    if scheduler in (None, "local", "threads", "processes"):
        quiet = _InputErrors()
        worker_log = logging.getLogger("distributed.worker")
        worker_log.addFilter(quiet)  # a tile's CropGlobeError is the map's one error line, not also a worker log
        try:
            with local_cluster(workers, scheduler == "processes") as cluster, Client(cluster) as client:
                yield client
        finally:
            worker_log.removeFilter(quiet)
        return
    from cropglobe import daskclient

    with daskclient.connect(scheduler, "scheduler") as client:
        yield client


def task_threads(n_tiles: int, worker_threads: list[int]) -> int | None:
    """Threads of each task's model call: one, side by side with the other tasks, unless cores would idle.

    Args:
        n_tiles: Tiles of the map.
        worker_threads: Threads of each worker of the cluster.

    Returns:
        1 where a worker runs several tiles at once; ``threads // tiles`` for a map of fewer tiles
        than a worker's threads (one tile: every thread); None (the model's default, every core)
        for one single-threaded worker.
    """
    per_worker = max(worker_threads, default=1)
    if len(worker_threads) == 1 and per_worker == 1:
        return None
    return max(1, per_worker // max(1, min(n_tiles, per_worker)))


def map_tiles(client: Any, job: TileJob, windows: list[tuple[slice, slice]]) -> Iterator[TileResult]:
    """Run every tile of ``job`` and yield results as they finish (at most ``2 x workers`` in flight)."""
    if client is None:
        for rows, cols in windows:
            yield run_tile(job, rows, cols)
        return
    from distributed import as_completed

    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = task_threads(len(windows), [w.get("nthreads", 1) for w in workers.values()])
    limit = max(2, 2 * sum(w.get("nthreads", 1) for w in workers.values()))
    pending = list(windows)[::-1]

    def submit() -> Any:
        rows, cols = pending.pop()
        return client.submit(run_tile, job, rows, cols, threads, pure=False)

    futures = as_completed([submit() for _ in range(min(limit, len(pending)))])
    for fut in futures:
        result = fut.result()
        fut.release()
        if pending:
            futures.add(submit())
        yield result
