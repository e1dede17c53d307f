"""Run an acquisition: plan, read chunks, assemble the observation-level SampleSet, composite, save.

The observation-level set has a datetime ``time`` axis (the union of acquisition dates, UTC
day), reflectance NaN where a sample was not observed or (with ``clear.mask``) not clear, and
the SCL code of every (sample, date) in ``scl`` (0 = not observed). When a sample is seen by two
tiles on one date, the clear observation wins, then the first tile in name order.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from cropglobe import samples
from cropglobe.sources.acquire.config import AcquireConfig
from cropglobe.sources.acquire.gee import run_gee
from cropglobe.sources.acquire.plan import Plan, make_plan
from cropglobe.sources.acquire.reader import ChunkResult, read_all
from cropglobe.temporal.composite import composite
from cropglobe.temporal.settings import CompositeSettings


@dataclass
class AcquireResult:
    """What a run did: the plan, the SampleSet written, and chunk counts (read vs from cache)."""

    plan: Plan
    dataset: xr.Dataset | None = None
    output: Path | None = None
    chunks_read: int = 0
    chunks_cached: int = 0
    gee: dict | None = None


def assemble(plan: Plan, results: list[ChunkResult]) -> xr.Dataset:
    """Merge chunk results into an observation-level SampleSet (see the module docstring)."""
    cfg = plan.config
    pts = plan.points
    dates = sorted({r.chunk.date for r in results})
    t_index = {d: i for i, d in enumerate(dates)}
    n, n_b, n_t = len(pts), len(cfg.bands), len(dates)
    refl = np.full((n, n_b, n_t), np.nan, dtype=np.float32)
    scl = np.zeros((n, n_t), dtype=np.uint8)
    keep = np.asarray(cfg.clear.scl_keep, dtype=np.uint8)
    for res in sorted(results, key=lambda r: (r.chunk.date, r.chunk.tile)):
        t = t_index[res.chunk.date]
        old_clear = np.isin(scl[res.points, t], keep)
        new_clear = np.isin(res.scl, keep)
        take = (res.scl != 0) & ((scl[res.points, t] == 0) | (new_clear & ~old_clear))
        rows = res.points[take]
        refl[rows, :, t] = res.values[take]
        scl[rows, t] = res.scl[take]
    if cfg.clear.mask:
        refl[~np.broadcast_to(np.isin(scl, keep)[:, None, :], refl.shape)] = np.nan
    s = cfg.imagery.stac
    attrs = {
        "sensor": "Sentinel-2", "processing_level": "L2A", "backend": "stac",
        "collection": s.collection, "endpoint": s.url, "time_kind": "observations",
        "source": f"cropglobe acquire: {cfg.labels.path} + STAC {s.url} {s.collection}",
        "resolution_m": float(s.resolution), "clear_scl": [int(c) for c in cfg.clear.scl_keep],
        "clear_masked": bool(cfg.clear.mask), "label_buffer_m": float(cfg.labels.buffer_m),
        "grid_deg": float(cfg.sampling.grid_deg), "sampling_seed": int(cfg.sampling.seed),
        "reflectance_rule": "(DN + BOA offset) * 1e-4, DN 0 = nodata, offset -1000 for processing "
                            "baseline >= 04.00 unless earthsearch:boa_offset_applied",
    }
    ds = samples.build(
        samples.SampleArrays(refl, bands=cfg.bands, time=np.array(dates, dtype="datetime64[ns]"),
        sample_id=pts.sample_id.to_numpy(), label=pts.label.to_numpy(), country=cfg.region.country,
        year=cfg.year, lon=pts.lon.to_numpy(), lat=pts.lat.to_numpy(), scl=scl), attrs=attrs,
        where=f"acquire {cfg.output}",
    )
    return samples.add_history(ds, f"acquire: {len(results)} chunks, {n} samples, {n_t} dates")


def apply_composite(ds: xr.Dataset, cfg: AcquireConfig) -> xr.Dataset:
    """Composite the observation-level set as the config asks (``cropglobe.temporal.composite.composite``)."""
    if cfg.composite is None:
        return ds

    c = cfg.composite
    out = composite(ds, CompositeSettings.model_construct(
        interval=c.interval, window=c.window, align=c.align, clear_threshold=c.clear_threshold, min_clear=c.min_clear,
        scl_keep=tuple(int(x) for x in cfg.clear.scl_keep)))
    for key in ("backend", "collection", "endpoint", "processing_level", "sensor"):
        out.attrs.setdefault(key, ds.attrs[key])
    return out


def acquire(cfg: AcquireConfig, *, dry_run: bool = False, progress: bool = True,
            after_chunk: Callable[[ChunkResult], None] | None = None) -> AcquireResult:
    """Run (or, with ``dry_run``, only plan) an acquisition from a loaded config.

    Args:
        cfg: The config (see :func:`cropglobe.sources.acquire.config.load_config`).
        dry_run: Plan only: sample the label map and search items, read no imagery pixels.
        progress: Show a progress bar over chunks.
        after_chunk: Test hook called after each chunk is read and cached.

    Returns:
        The plan, and for a real run the SampleSet written to ``cfg.output`` and chunk counts.

    Raises:
        CropGlobeError: On bad input, or reads that fail after all retries (finished chunks stay
            cached so a re-run resumes).
    """
    plan = make_plan(cfg)
    if dry_run:
        return AcquireResult(plan)
    if cfg.imagery.backend == "gee":
        report = run_gee(plan)
        return AcquireResult(plan, output=cfg.output if "output" in report else None, gee=report)
    cache = cfg.cache_dir()
    results = read_all(plan.chunks, plan.points, plan.config.bands, cfg.imagery.stac, cache,
                       progress=progress, after_chunk=after_chunk)
    ds = apply_composite(assemble(plan, results), cfg)
    samples.save(ds, cfg.output)
    if not cfg.imagery.stac.keep_cache:
        shutil.rmtree(cache, ignore_errors=True)
    n_cached = sum(r.from_cache for r in results)
    return AcquireResult(plan, ds, cfg.output, chunks_read=len(results) - n_cached, chunks_cached=n_cached)
