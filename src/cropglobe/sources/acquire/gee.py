"""Google Earth Engine recipe of CropGlobe: Cloud Score+ masked 5-day medians exported as CSV batches.

Recipe (Tong & Wang, arXiv:2509.03497, Sect. 3.1; Cloud Score+: Pasquarella et al., CVPR 2023):
``COPERNICUS/S2_SR_HARMONIZED`` linked with ``GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED``, pixels
with ``cs_cdf`` below the threshold (0.75) masked, median composites in 5-day bins over the
year (73 bins; from 1 July in the southern hemisphere, the aligned calendar), sampled at the
points at 10 m, exported as CSV tables (one Earth Engine task per batch of points) to Google
Drive or Cloud Storage. A JSON state file tracks every
batch's task id and state, so a re-run only submits batches without a running or finished task.

Split for testing: :func:`plan_batches`, :func:`batch_features`, :class:`TaskTracker` (submit /
refresh / resume, given functions that start a task and report task states) and
:func:`read_export_csv` (CSV -> composite SampleSet) run offline. :func:`build_image`,
:func:`start_export` and :func:`ee_task_states` need an authenticated ``ee.Initialize`` and are
not exercised by the offline tests.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe import samples
from cropglobe.atomic import write_text
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers.table import TableMapping, read_table
from cropglobe.temporal import season
from cropglobe.temporal.calendar import Calendar

if TYPE_CHECKING:
    from cropglobe.sources.acquire.config import GeeConfig

S2_COLLECTION = "COPERNICUS/S2_SR_HARMONIZED"
CS_COLLECTION = "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED"
#: Earth Engine band names of the canonical bands (the collection spells them without zeros).
EE_BANDS = {"B2": "B2", "B3": "B3", "B4": "B4", "B5": "B5", "B6": "B6", "B7": "B7", "B8": "B8",
            "B8A": "B8A", "B11": "B11", "B12": "B12", "B1": "B1", "B9": "B9"}
NODATA = -1  # value written for bins without a clear observation (sampleRegions drops masked rows)
DONE, FAILED_STATES, ACTIVE = (
    "COMPLETED",
    ("FAILED", "CANCELLED", "CANCEL_REQUESTED"),
    ("UNSUBMITTED", "READY", "RUNNING"),
)


def bin_starts(interval: int = 5) -> np.ndarray:
    """Return bin-start days of year (1, 6, ..., 361 for 5 days: 73 bins): the aligned calendar of
    :func:`cropglobe.temporal.season.axis`."""
    return Calendar(interval).bin_start


def column_names(bands: Sequence[str], interval: int = 5) -> list[str]:
    """Return the exported value columns ``<band>_<bin index:03d>`` in band-major order."""
    n = bin_starts(interval).size
    return [f"{b}_{k:03d}" for b in bands for k in range(n)]


def plan_batches(points: pd.DataFrame, batch_size: int) -> list[np.ndarray]:
    """Split point indices into export batches, grouped by grid cell so batches stay compact."""
    order = np.argsort(points.cell.to_numpy(), kind="stable") if "cell" in points else np.arange(len(points))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def batch_name(run: str, k: int) -> str:
    """Return the task description / file prefix of batch ``k`` (Earth Engine allows [A-Za-z0-9_-])."""
    safe = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in run)
    return f"{safe}_b{k:04d}"


def batch_features(points: pd.DataFrame, idx: np.ndarray) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection of one batch (input of ``ee.FeatureCollection``)."""
    feats = []
    for row in points.iloc[idx].itertuples(index=False):
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(row.lon), float(row.lat)]},
                      "properties": {"sample_id": str(row.sample_id), "label": str(row.label),
                                     "lon": float(row.lon), "lat": float(row.lat)}})
    return {"type": "FeatureCollection", "features": feats}


class TaskTracker:
    """Export tasks per batch in a JSON state file: which to submit, which are running or done."""

    def __init__(self, path: str | os.PathLike) -> None:
        """Open (or start) the state file at ``path``."""
        self.path = Path(path)
        self.state: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                self.state = json.loads(self.path.read_text(encoding="utf-8"))["batches"]
            except (ValueError, KeyError) as err:
                raise CropGlobeError(f"{self.path}: not a cropglobe GEE task state file ({err})") from None

    def save(self) -> None:
        """Write the state atomically."""
        write_text(self.path, json.dumps({"batches": self.state}, indent=1, sort_keys=True))

    def to_submit(self, n_batches: int) -> list[int]:
        """Batches with no task yet, or whose task failed or was cancelled."""
        return [k for k in range(n_batches)
                if str(k) not in self.state or self.state[str(k)]["state"] in FAILED_STATES]

    def submit(self, n_batches: int, start: Callable[[int], str]) -> list[int]:
        """Start a task for every batch that needs one; ``start(k)`` returns the task id."""
        started = []
        for k in self.to_submit(n_batches):
            tries = self.state.get(str(k), {}).get("attempts", 0)
            self.state[str(k)] = {"task_id": start(k), "state": "READY", "attempts": tries + 1}
            self.save()  # after every start, so a crash never loses a running task's id
            started.append(k)
        return started

    def refresh(self, states: Callable[[list[str]], dict[str, str]]) -> dict[str, int]:
        """Update states from ``states(task_ids) -> {task_id: state}``; return counts per state."""
        active = [v["task_id"] for v in self.state.values() if v["state"] not in (DONE, *FAILED_STATES)]
        if active:
            now = states(active)
            for v in self.state.values():
                v["state"] = now.get(v["task_id"], v["state"])
            self.save()
        counts: dict[str, int] = {}
        for v in self.state.values():
            counts[v["state"]] = counts.get(v["state"], 0) + 1
        return counts

    def complete(self, n_batches: int) -> bool:
        """True when every batch's task has completed."""
        return all(self.state.get(str(k), {}).get("state") == DONE for k in range(n_batches))


def export_mapping(bands: Sequence[str], country: str, year: int, interval: int = 5) -> Any:
    """Return the generic-table-reader mapping of this module's CSV exports (wide layout, DN x 1e4)."""
    names = "|".join(sorted(bands, key=len, reverse=True))
    return TableMapping.model_validate({
        "description": "cropglobe GEE export: 5-day Cloud Score+ median composites (S2_SR_HARMONIZED)",
        "layout": "wide", "id": "sample_id", "label": {"column": "label"},
        "wide": {"pattern": rf"^(?P<band>{names})_(?P<time>\d{{3}})$"},
        "time": {"format": "index", "start_doy": 1, "step_days": interval, "bin_days": interval},
        "country": {"value": country}, "year": {"value": int(year)}, "lon": "lon", "lat": "lat",
        "scale": 1e-4, "nodata": NODATA,
    })


def read_export_csv(paths: Sequence[str | os.PathLike], *, bands: Sequence[str], country: str, year: int,
                    interval: int = 5, attrs: dict[str, Any] | None = None, shift_days: int = 0) -> xr.Dataset:
    """Import exported CSV batches through the generic table reader as a one-year composite.

    Values are S2_SR_HARMONIZED digital numbers (offset already harmonised by Google), converted
    with scale 1e-4; ``-1`` marks a bin without a clear observation (NaN). With ``shift_days``
    (southern exports, see :func:`season_shift`) the bins are on the aligned calendar.

    Raises:
        CropGlobeError: On a missing file or a missing column (named with the file).
    """
    for p in paths:
        if not Path(p).is_file():
            raise CropGlobeError(f"{p}: exported CSV batch not found (download it from Drive/GCS first)")
    ds = read_table(list(paths), export_mapping(bands, country, year, interval))
    ds = ds.sel(band=[b for b in bands])
    ds = ds.assign_coords(shift_days=("sample", np.full(ds.sizes["sample"], int(shift_days), dtype=np.int32)))
    alignment = f"hemisphere (southern samples +{int(shift_days)} days)" if shift_days else "none"
    ds.attrs.update({"sensor": "Sentinel-2", "processing_level": "L2A", "backend": "gee",
                     "collection": S2_COLLECTION, "endpoint": "earthengine", "alignment": alignment,
                     "season_window": "01-01:12-31", "cloud_mask": f"{CS_COLLECTION} cs_cdf",
                     "source": f"Earth Engine export ({len(paths)} CSV batches)", **(attrs or {})})
    return samples.validate(ds, where=str(paths[0]))


def season_shift(country: str | None, lat: np.ndarray) -> int:
    """Days from 1 January to the start of the composited year: 182 in the southern hemisphere.

    The southern season (November-May) then lies inside one exported year (July-June), whose bins
    are the aligned calendar of :mod:`cropglobe.temporal.season` (bin 1 = 1 July).
    """
    lat = np.asarray(lat, dtype=float)
    if not country:  # no country: the points' median latitude decides (as for a country on both sides)
        return season.HEMISPHERE_SHIFT_DAYS if float(np.nanmedian(lat)) < 0 else 0
    shifts, _ = Calendar(align="hemisphere").shifts(country, lat)  # one country, one hemisphere: one shift
    return int(shifts[0])


def build_image(ee: Any, bbox: Sequence[float], year: int, bands: Sequence[str], interval: int = 5,
                cs_threshold: float = 0.75, shift_days: int = 0) -> Any:
    """Return the Earth Engine image of 5-day median composites (needs ``ee.Initialize``; untested offline).

    The composited year starts ``shift_days`` after 1 January of ``year`` (see :func:`season_shift`).
    """
    region = ee.Geometry.Rectangle(list(bbox))
    ee_bands = [EE_BANDS[b] for b in bands]
    cs = ee.ImageCollection(CS_COLLECTION)
    start = ee.Date(f"{year}-01-01").advance(int(shift_days), "day")
    s2 = (ee.ImageCollection(S2_COLLECTION).filterBounds(region)
          .filterDate(start, start.advance(1, "year")).linkCollection(cs, ["cs_cdf"]))
    s2 = s2.map(lambda im: im.updateMask(im.select("cs_cdf").gte(cs_threshold)).select(ee_bands))
    empty = ee.Image.constant([0] * len(bands)).rename(ee_bands).toUint16().updateMask(0)
    parts = []
    starts = bin_starts(interval)
    for k, doy in enumerate(starts):
        d0 = start.advance(int(doy) - 1, "day")
        d1 = start.advance(1, "year") if k == starts.size - 1 else start.advance(int(doy) - 1 + interval, "day")
        col = s2.filterDate(d0, d1)
        med = ee.Image(ee.Algorithms.If(col.size().gt(0), col.median(), empty))
        parts.append(med.select(ee_bands).rename([f"{b}_{k:03d}" for b in bands]))
    return ee.Image.cat(parts).unmask(NODATA).toInt32()


def start_export(ee: Any, image: Any, fc: dict[str, Any], name: str, gee: GeeConfig, selectors: list[str]) -> str:
    """Start one CSV export task and return its id (needs ``ee.Initialize``; untested offline).

    Args:
        ee: The initialised ``ee`` module.
        image: The batch's composite image (:func:`build_image`).
        fc: The batch's points as a GeoJSON feature collection (:func:`batch_features`).
        name: The task's description and file name.
        gee: The config's ``imagery.gee``: ``destination``, ``folder``, ``bucket`` and ``scale_m``.
        selectors: The CSV columns.
    """
    table = image.sampleRegions(collection=ee.FeatureCollection(fc), properties=["sample_id", "label", "lon", "lat"],
                                scale=gee.scale_m, geometries=False)
    folder, bucket = gee.folder, gee.bucket
    if gee.destination == "gcs":
        task = ee.batch.Export.table.toCloudStorage(
            table,
            description=name,
            bucket=bucket,
            fileNamePrefix=f"{folder}/{name}",
            fileFormat="CSV",
            selectors=selectors,
        )
    else:
        task = ee.batch.Export.table.toDrive(table, description=name, folder=folder, fileNamePrefix=name,
                                             fileFormat="CSV", selectors=selectors)
    task.start()
    return str(task.id)


def ee_task_states(ee: Any, ids: list[str]) -> dict[str, str]:
    """Return ``{task_id: state}`` from Earth Engine (needs ``ee.Initialize``; untested offline)."""
    return {s["id"]: s["state"] for s in ee.data.getTaskStatus(ids)}


def run_gee(plan: Any) -> dict[str, Any]:
    """Submit or resume the export tasks of a plan and report progress; import when all are done.

    When ``imagery.gee.csv_dir`` holds every batch CSV (downloaded from Drive/GCS), no task is
    touched: the batches are imported and written to the config's output.
    """
    cfg = plan.config
    g = cfg.imagery.gee
    csv_dir = g.csv_dir
    run = f"cropglobe_{cfg.region.country}_{cfg.year}"
    names = [batch_name(run, k) for k in range(len(plan.batches))]
    shift = season_shift(cfg.region.country, plan.points.lat.to_numpy())
    if csv_dir is not None:
        ds = read_export_csv([csv_dir / f"{n}.csv" for n in names], bands=cfg.bands, country=cfg.region.country,
                             year=cfg.year, interval=g.interval_days, shift_days=shift)
        samples.save(ds, cfg.output)
        return {"imported": len(names), "output": str(cfg.output)}
    import ee

    try:
        ee.Initialize(project=g.project)
    except Exception as err:  # authentication problems are reported as one line
        raise CropGlobeError(
            f"imagery.gee: Earth Engine is not available ({err}); run `earthengine authenticate`"
        ) from None
    bbox = cfg.region.bbox or (float(plan.points.lon.min()), float(plan.points.lat.min()),
                               float(plan.points.lon.max()), float(plan.points.lat.max()))
    image = build_image(ee, bbox, cfg.year, cfg.bands, g.interval_days, g.cs_threshold, shift)
    selectors = ["sample_id", "label", "lon", "lat", *column_names(cfg.bands, g.interval_days)]
    tracker = TaskTracker(g.state_file or cfg.output.with_name(cfg.output.name + ".gee-tasks.json"))
    started = tracker.submit(len(names), lambda k: start_export(
        ee, image, batch_features(plan.points, plan.batches[k]), names[k], g, selectors))
    counts = tracker.refresh(lambda ids: ee_task_states(ee, ids))
    return {"started": len(started), "states": counts, "complete": tracker.complete(len(names))}
