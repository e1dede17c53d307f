"""The acquisition plan: sample points, items and chunks (or GEE batches), made without reading pixels.

``cropglobe data acquire --dry-run CONFIG`` prints :func:`describe` of :func:`make_plan`; a real run
executes the same plan, so what the dry run shows is what will be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pystac

from cropglobe.errors import CropGlobeError
from cropglobe.sources.acquire import cropmap as labels
from cropglobe.sources.acquire import gee, stac
from cropglobe.sources.acquire.config import AcquireConfig


@dataclass
class Plan:
    """What a run will do: points to sample, items found, chunks (STAC) or batches (GEE)."""

    config: AcquireConfig
    points: pd.DataFrame
    items: list[pystac.Item] = field(default_factory=list)
    chunks: list[stac.Chunk] = field(default_factory=list)
    covered: np.ndarray | None = None
    batches: list[np.ndarray] = field(default_factory=list)


def make_plan(cfg: AcquireConfig) -> Plan:
    """Sample the label map and, for STAC, search items and split them into chunks.

    Checks that the requested bands and the SCL asset exist in the collection's items.

    Raises:
        CropGlobeError: On any bad input (labels, collection, bands, empty region or no items).
    """
    points = labels.sample_points(cfg)
    if cfg.imagery.backend == "gee":
        return Plan(cfg, points, batches=gee.plan_batches(points, cfg.imagery.gee.batch_size))
    if cfg.region.bbox is None:
        cfg = cfg.model_copy(deep=True)
        cfg.region.bbox = (float(points.lon.min()), float(points.lat.min()),
                           float(points.lon.max()), float(points.lat.max()))
    items = stac.search(cfg)
    stac.band_assets(items[0], cfg.bands, where=f"bands (collection {cfg.imagery.stac.collection!r})")
    chunks, covered = stac.make_chunks(items, points)
    if not chunks:
        raise CropGlobeError(
            f"imagery.stac: none of the {len(items)} items of {cfg.imagery.stac.collection!r} covers any "
            f"of the {len(points)} sample points; expected imagery over the label map's region"
        )
    return Plan(cfg, points, items=items, chunks=chunks, covered=covered)


def describe(plan: Plan) -> str:
    """Return a human-readable summary of the plan (what ``--dry-run`` prints)."""
    cfg = plan.config
    pts = plan.points
    lines = [
        f"region: {cfg.region.country} bbox={list(cfg.region.bbox) if cfg.region.bbox else '(label map)'} "
        f"year={cfg.year} season={cfg.season}",
        f"labels: {cfg.labels.path} ({cfg.labels.kind}, buffer {cfg.labels.buffer_m:g} m)",
        f"points: {len(pts)} in {pts.cell.nunique()} grid cells of {cfg.sampling.grid_deg:g} deg "
        f"(at most {cfg.sampling.per_cell} per class per cell)",
    ]
    for cls, n in pts.label.value_counts().sort_index().items():
        lines.append(f"  {cls}: {n}")
    lines.append(f"bands: {', '.join(cfg.bands)}")
    if cfg.imagery.backend == "gee":
        g = cfg.imagery.gee
        lines.append(f"backend: gee (COPERNICUS/S2_SR_HARMONIZED + Cloud Score+ cs_cdf >= {g.cs_threshold}, "
                     f"{g.interval_days}-day medians) -> {g.destination}")
        lines.append(f"batches: {len(plan.batches)} of at most {g.batch_size} points")
        return "\n".join(lines)
    s = cfg.imagery.stac
    lines.append(f"backend: stac {s.url} collection={s.collection} resolution={s.resolution:g} m")
    dates = sorted({c.date for c in plan.chunks})
    tiles = sorted({c.tile for c in plan.chunks})
    lines.append(f"items: {len(plan.items)} ({len(tiles)} tiles, {len(dates)} dates"
                 f"{f', {dates[0]} .. {dates[-1]}' if dates else ''})")
    lines.append(f"chunks: {len(plan.chunks)} (tile x date)")
    for ch in plan.chunks:
        lines.append(f"  {ch.name}: {len(ch.items)} item(s), {len(ch.points)} points")
    if plan.covered is not None and not plan.covered.all():
        lines.append(f"points without imagery: {int((~plan.covered).sum())} (kept, all NaN)")
    return "\n".join(lines)
