"""Offline parts of the Earth Engine recipe: batching, task tracking/resume, CSV import, dry run.

Not tested here (needs an authenticated Earth Engine): ``build_image``, ``start_export`` and
``ee_task_states``. The task tracker is driven by plain functions standing in for the Earth
Engine task service (``start(k) -> id``, ``states(ids) -> {id: state}``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.sources.acquire import scene

from cropglobe.errors import CropGlobeError
from cropglobe.sources.acquire import acquire, describe, gee, load_config

BANDS = ["B2", "B4", "B8", "B8A", "B11"]


def _points(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"sample_id": [f"S{i:03d}" for i in range(n)], "lon": rng.uniform(3, 3.3, n),
                         "lat": rng.uniform(45, 45.2, n), "label": rng.choice(["corn", "wheat"], n),
                         "cell": rng.choice(["a", "b", "c"], n)})


def test_batches_cover_every_point_once_grouped_by_cell() -> None:
    pts = _points(23)
    batches = gee.plan_batches(pts, 5)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert sorted(np.concatenate(batches).tolist()) == list(range(23))
    cells = np.concatenate([pts.cell.to_numpy()[b] for b in batches])
    assert (cells[:-1] <= cells[1:]).all()
    fc = gee.batch_features(pts, batches[0])
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 5
    f0 = fc["features"][0]
    assert f0["geometry"]["coordinates"] == [pts.lon[batches[0][0]], pts.lat[batches[0][0]]]
    assert gee.batch_name("cropglobe FRA/2023", 3) == "cropglobe_FRA_2023_b0003"
    assert gee.bin_starts(5).size == 73 and gee.bin_starts(5)[-1] == 361


def test_task_tracker_submits_resumes_and_resubmits_failures(tmp_path: Path) -> None:
    state = tmp_path / "tasks.json"
    started: list[int] = []

    def start(k: int) -> str:
        started.append(k)
        return f"T{k}-{len(started)}"

    tr = gee.TaskTracker(state)
    assert tr.submit(4, start) == [0, 1, 2, 3]
    counts = tr.refresh(
        lambda ids: {
            i: ("COMPLETED" if i.startswith(("T0", "T1")) else "FAILED" if i.startswith("T2") else "RUNNING")
            for i in ids
        }
    )
    assert counts == {"COMPLETED": 2, "FAILED": 1, "RUNNING": 1}
    assert not tr.complete(4)
    # a new process (after a crash) reads the state file: only the failed batch is started again
    tr2 = gee.TaskTracker(state)
    assert tr2.submit(4, start) == [2]
    assert tr2.state["2"]["attempts"] == 2 and tr2.state["3"]["task_id"] == "T3-4"
    seen: list[list[str]] = []

    def done(ids: list[str]) -> dict[str, str]:
        seen.append(ids)
        return {i: "COMPLETED" for i in ids}

    tr2.refresh(done)
    assert sorted(seen[0]) == ["T2-5", "T3-4"]  # finished tasks are not polled again
    assert gee.TaskTracker(state).complete(4)
    state.write_text("not json")
    with pytest.raises(CropGlobeError, match="not a cropglobe GEE task state file"):
        gee.TaskTracker(state)


def _export_csv(path: Path, pts: pd.DataFrame, values: np.ndarray) -> None:
    cols = gee.column_names(BANDS)
    frame = pd.DataFrame(values.reshape(len(pts), -1), columns=cols)
    frame.insert(0, "system:index", [f"{i}_0" for i in range(len(pts))])
    for c in ("sample_id", "label", "lon", "lat"):
        frame[c] = pts[c].to_numpy()
    frame[".geo"] = '{"type":"MultiPoint","coordinates":[]}'
    frame.to_csv(path, index=False)


def test_exported_csv_imports_as_calendar_composite(tmp_path: Path) -> None:
    pts = _points(7)
    rng = np.random.default_rng(1)
    values = rng.integers(1, 9000, size=(7, len(BANDS), 73))
    values[0, :, 5] = gee.NODATA
    batches = gee.plan_batches(pts, 4)
    paths = []
    for k, b in enumerate(batches):
        paths.append(tmp_path / f"{gee.batch_name('run', k)}.csv")
        _export_csv(paths[-1], pts.iloc[b].reset_index(drop=True), values[b])
    ds = gee.read_export_csv(paths, bands=BANDS, country="FRA", year=2023)
    assert ds.attrs["time_kind"] == "composite" and ds.attrs["backend"] == "gee"
    assert ds.attrs["collection"] == "COPERNICUS/S2_SR_HARMONIZED"
    assert list(ds.band.values) == BANDS and ds.sizes["time"] == 73
    assert ds.time.values[:3].tolist() == [1, 6, 11] and int(ds.bin_days.values[0]) == 5
    by_id = ds.sel(sample=np.argsort(ds.sample_id.values))
    expected = values.astype(np.float32) * np.float32(1e-4)
    expected[values == gee.NODATA] = np.nan
    np.testing.assert_allclose(by_id.reflectance.values, expected, rtol=1e-6)
    assert list(by_id.label.values) == list(pts.label)
    with pytest.raises(CropGlobeError, match="exported CSV batch not found"):
        gee.read_export_csv([tmp_path / "missing.csv"], bands=BANDS, country="FRA", year=2023)


def test_gee_dry_run_and_import_through_acquire(scene_dir: Path, tmp_path: Path) -> None:
    cfg = yaml.safe_load(scene.config_text("unused", scene_dir / "cdl.tif", tmp_path / "gee.zarr"))
    cfg["bands"] = BANDS
    cfg["imagery"] = {"backend": "gee", "gee": {"batch_size": 40, "csv_dir": str(tmp_path / "csv")}}
    path = tmp_path / "gee.yaml"
    path.write_text(yaml.safe_dump(cfg))
    conf = load_config(path)
    plan = acquire(conf, dry_run=True).plan
    text = describe(plan)
    assert "backend: gee" in text and "cs_cdf >= 0.75" in text and f"batches: {len(plan.batches)}" in text
    assert len(plan.batches) == int(np.ceil(len(plan.points) / 40))
    (tmp_path / "csv").mkdir()
    values = np.full((len(plan.points), len(BANDS), 73), 1234)
    for k, b in enumerate(plan.batches):
        name = gee.batch_name(f"cropglobe_{conf.region.country}_{conf.year}", k)
        _export_csv(tmp_path / "csv" / f"{name}.csv", plan.points.iloc[b].reset_index(drop=True), values[b])
    res = acquire(conf, progress=False)
    assert res.gee == {"imported": len(plan.batches), "output": str(tmp_path / "gee.zarr")}
    assert (tmp_path / "gee.zarr").exists()


def test_southern_exports_cover_the_aligned_year(tmp_path: Path) -> None:
    assert gee.season_shift("FRA", np.array([45.0])) == 0
    assert gee.season_shift("ARG", np.array([-34.0])) == 182
    assert gee.season_shift(None, np.array([-20.0, -21.0])) == 182
    pts = _points(3)
    values = np.random.default_rng(2).integers(1, 9000, size=(3, len(BANDS), 73))
    path = tmp_path / "south.csv"
    _export_csv(path, pts, values)
    ds = gee.read_export_csv([path], bands=BANDS, country="ARG", year=2023, shift_days=182)
    assert ds.attrs["alignment"].startswith("hemisphere") and set(ds.shift_days.values) == {182}
