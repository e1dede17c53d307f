"""End-to-end acquisition on a generated static STAC catalog: values, clouds, buffer, grid, retries, resume."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from pyproj import Transformer
from tests.sources.acquire import scene
from typer.testing import CliRunner

from cropglobe import samples
from cropglobe.cli import app
from cropglobe.sources.acquire import acquire, load_config

TO_UTM = Transformer.from_crs("EPSG:4326", scene.CRS, always_xy=True)


def _config(root: Path, catalog: str, out: Path, name: str = "cfg.yaml", **over: object) -> Path:
    path = root / name
    path.write_text(scene.config_text(catalog, root / "cdl.tif", out, **over))
    return path


@pytest.fixture(scope="module")
def reference(scene_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    """The run over the local catalog through the CLI (threads scheduler)."""
    out = tmp_path_factory.mktemp("ref") / "ref.zarr"
    cfg = _config(scene_dir, str(scene_dir / "stac" / "catalog.json"), out, name="ref.yaml")
    res = CliRunner().invoke(app, ["acquire", str(cfg), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "chunks read 6, from cache 0" in res.output
    return samples.load(out)


def _item_files(scene_root: Path, date_index: int) -> dict[str, Path]:
    return {tile: scene_root / "stac" / "data" / f"S2_{tile}_{scene.DATES[date_index]:%Y%m%d}" for tile in scene.TILES}


def test_series_equal_raster_values_and_clouds_masked(reference: xr.Dataset, scene_dir: Path) -> None:
    ds = reference
    assert ds.attrs["sensor"] == "Sentinel-2" and ds.attrs["processing_level"] == "L2A"
    assert ds.attrs["backend"] == "stac" and ds.attrs["collection"] == "sentinel-2-l2a"
    assert ds.attrs["endpoint"].endswith("catalog.json") and ds.attrs["time_kind"] == "observations"
    assert list(ds.band.values) == ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
    np.testing.assert_array_equal(ds.time.values, np.array([d.date() for d in scene.DATES], dtype="datetime64[ns]"))
    x, y = TO_UTM.transform(ds.lon.values, ds.lat.values)
    n_cloudy = 0
    for t in range(len(scene.DATES)):
        files = _item_files(scene_dir, t)
        for i in range(ds.sizes["sample"]):
            tile = "31TAA" if x[i] < scene.X0 + 120 * scene.IMG_RES else "31TBB"
            keys = scene.ES_KEYS if tile == "31TAA" else scene.PC_KEYS
            with rasterio.open(files[tile] / ("scl.tif" if tile == "31TAA" else "SCL.tif")) as src:
                code = next(src.sample([(x[i], y[i])]))[0]
            assert ds.scl.values[i, t] == code
            got = ds.reflectance.values[i, :, t]
            if code == 9:
                n_cloudy += 1
                assert np.isnan(got).all(), "cloudy observation not masked"
                continue
            expected = []
            for key in keys:
                with rasterio.open(files[tile] / f"{key}.tif") as src:
                    raw = float(next(src.sample([(x[i], y[i])]))[0])
                expected.append((raw - (1000 if t == scene.OFFSET_DATE else 0)) * 1e-4)
            np.testing.assert_allclose(got, np.float32(expected), rtol=0, atol=1e-7)
    assert n_cloudy > 0, "the fixture should put some samples under the cloud"


def test_no_sample_within_60m_of_a_class_edge(reference: xr.Dataset, scene_dir: Path) -> None:
    x, y = TO_UTM.transform(reference.lon.values, reference.lat.values)
    with rasterio.open(scene_dir / "cdl.tif") as src:
        codes = src.read(1)
    names = np.vectorize(lambda c: scene.CODES.get(int(c), ""))(codes)
    res, half = scene.LABEL_RES, scene.LABEL_RES / 2
    for xi, yi, label in zip(x, y, reference.label.values, strict=True):
        col, row = int((xi - scene.X0) // res), int((scene.Y0 - yi) // res)
        assert names[row, col] == label
        for r in range(row - 4, row + 5):
            for c in range(col - 4, col + 5):
                cx, cy = scene.X0 + (c + 0.5) * res, scene.Y0 - (r + 0.5) * res
                d = math.hypot(max(abs(xi - cx) - half, 0), max(abs(yi - cy) - half, 0))
                if d < 60.0:
                    inside = 0 <= r < codes.shape[0] and 0 <= c < codes.shape[1]
                    assert inside and names[r, c] == label, (
                        f"sample at ({xi:.0f}, {yi:.0f}) within {d:.0f} m of an edge"
                    )


def test_grid_cap_holds(reference: xr.Dataset) -> None:
    lab = reference.label.values
    cells = np.floor(reference.lon.values / 0.1).astype(int) * 1000 + np.floor(reference.lat.values / 0.1).astype(int)
    _, counts = np.unique(np.char.add(lab.astype(str), cells.astype(str)), return_counts=True)
    assert counts.max() <= 3
    assert (lab == "wheat").sum() == 10  # per-class cap
    assert len(np.unique(cells)) >= 6  # spread over the region


def _assert_same(a: xr.Dataset, b: xr.Dataset) -> None:
    np.testing.assert_array_equal(a.sample_id.values, b.sample_id.values)
    np.testing.assert_array_equal(a.reflectance.values, b.reflectance.values)
    np.testing.assert_array_equal(a.scl.values, b.scl.values)
    np.testing.assert_array_equal(a.time.values, b.time.values)
    np.testing.assert_array_equal(a.label.values, b.label.values)


def test_flaky_http_server_retries_and_gives_the_same_result(reference: xr.Dataset, scene_dir: Path,
                                                             flaky_server, tmp_path: Path) -> None:
    out = tmp_path / "http.zarr"
    cfg = _config(tmp_path, f"{flaky_server.url}/stac/catalog.json", out)
    shutil.copy(scene_dir / "cdl.tif", tmp_path / "cdl.tif")
    res = acquire(load_config(cfg), progress=False)
    assert flaky_server.failures >= 5, "the server should have failed requests"
    assert any(p.endswith(".tif") for p in flaky_server.paths), "imagery should be read over HTTP"
    assert res.dataset.attrs["endpoint"].startswith("http://127.0.0.1:")
    _assert_same(samples.load(out), reference)


def test_killed_run_resumes_from_cache(reference: xr.Dataset, scene_copy: Path) -> None:
    out = scene_copy / "resume.zarr"
    over = {"imagery": {"backend": "stac", "stac": {
        "endpoint": str(scene_copy / "stac" / "catalog.json"), "resolution": scene.IMG_RES, "retries": 0,
        "backoff_s": 0.0, "dask": {"scheduler": "synchronous", "chunks_in_flight": 1}}}}
    cfg = load_config(_config(scene_copy, "unused", out, **over))
    done: list[str] = []

    def crash(result) -> None:
        done.append(result.chunk.name)
        if len(done) == 2:
            raise KeyboardInterrupt("simulated kill after 2 chunks")

    with pytest.raises(KeyboardInterrupt):
        acquire(cfg, progress=False, after_chunk=crash)
    assert not out.exists(), "nothing partial is written"
    assert len(list(cfg.cache_dir().glob("*.npz"))) == 2
    # the finished chunks' imagery is gone: the re-run can only succeed from the cache
    for name in done:
        tile, day = name.split("/")
        shutil.rmtree(scene_copy / "stac" / "data" / f"S2_{tile}_{day.replace('-', '')}")
    res = acquire(cfg, progress=False)
    assert (res.chunks_cached, res.chunks_read) == (2, 4)
    assert not cfg.cache_dir().exists(), "the cache is removed after a successful run"
    _assert_same(samples.load(out), reference)


def test_dry_run_prints_plan_without_reading_pixels(scene_copy: Path) -> None:
    shutil.rmtree(scene_copy / "stac" / "data" / "S2_31TAA_20230503" / "blue.tif", ignore_errors=True)
    for tif in (scene_copy / "stac" / "data").rglob("*.tif"):
        tif.unlink()  # no pixels to read at all
    out = scene_copy / "dry.zarr"
    cfg = _config(scene_copy, str(scene_copy / "stac" / "catalog.json"), out)
    res = CliRunner().invoke(app, ["acquire", "--dry-run", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "items: 6 (2 tiles, 3 dates" in res.output
    assert "chunks: 6 (tile x date)" in res.output
    assert "points: 91" in res.output and "wheat: 10" in res.output
    assert not out.exists()


def test_composite_is_applied_when_configured(scene_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "comp.zarr"
    shutil.copy(scene_dir / "cdl.tif", tmp_path / "cdl.tif")
    over = {"composite": {"interval": 5, "window": "05-05:07-20", "align": "none", "min_clear": 1}}
    cfg = load_config(_config(tmp_path, str(scene_dir / "stac" / "catalog.json"), out, **over))
    cfg.imagery.stac.dask.scheduler = "synchronous"
    ds = acquire(cfg, progress=False).dataset
    assert ds.attrs["time_kind"] == "composite" and ds.sizes["time"] == 73
    assert ds.attrs["backend"] == "stac" and ds.attrs["processing_level"] == "L2A"
    assert samples.load(out).attrs["time_kind"] == "composite"
