"""GeoParquet predictions (mirrors src/cropglobe/mapping/geoparquet.py; `cropglobe predict` output); SIMULATED data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cropglobe.mapping.geoparquet import GEOPARQUET_VERSION, with_geometry


def test_points_and_geo_metadata(tmp_path):
    table = pa.table({"sample_id": ["a", "b", "c"], "lon": [2.5, -1.0, np.nan], "lat": [48.0, 44.5, 45.0]})
    table = table.replace_schema_metadata({b"mine": b"kept"})
    out = with_geometry(table, table["lon"].to_numpy(zero_copy_only=False), table["lat"].to_numpy())
    pq.write_table(out, tmp_path / "p.parquet")
    schema = pq.read_schema(tmp_path / "p.parquet")
    geo = json.loads(schema.metadata[b"geo"])
    assert schema.metadata[b"mine"] == b"kept"
    assert geo["version"] == GEOPARQUET_VERSION and geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"] == {"encoding": "WKB", "geometry_types": ["Point"],
                                          "bbox": [-1.0, 44.5, 2.5, 48.0]}
    plain = pd.read_parquet(tmp_path / "p.parquet")  # still plain Parquet
    assert list(plain.columns) == ["sample_id", "lon", "lat", "geometry"]
    assert plain["geometry"].isna().tolist() == [False, False, True]
    import shapely

    points = shapely.from_wkb(plain["geometry"].iloc[:2].tolist())
    assert shapely.get_x(points).tolist() == [2.5, -1.0] and shapely.get_y(points).tolist() == [48.0, 44.5]


def test_geopandas_reads_a_geodataframe_in_crs84(tmp_path):
    gpd = pytest.importorskip("geopandas")
    table = pa.table({"id": [1, 2], "lon": [10.0, 11.0], "lat": [50.0, 51.0]})
    pq.write_table(with_geometry(table, [10.0, 11.0], [50.0, 51.0]), tmp_path / "p.parquet")
    frame = gpd.read_parquet(tmp_path / "p.parquet")
    assert frame.geometry.name == "geometry" and frame.crs is not None and frame.crs.equals("OGC:CRS84")
    assert frame.geometry.x.tolist() == [10.0, 11.0] and frame.geometry.y.tolist() == [50.0, 51.0]


def test_a_length_mismatch_is_refused():
    with pytest.raises(ValueError, match="expected 2"):
        with_geometry(pa.table({"id": [1, 2]}), [1.0], [2.0])


def test_predict_writes_geoparquet(cell, tmp_path):
    gpd = pytest.importorskip("geopandas")
    from cropglobe import samples
    from cropglobe.mapping.predict_table import PredictOptions, is_predictions_file, predict_file
    from cropglobe.sources import simulate

    store = samples.save(simulate.simulate(["FRA"], samples_per_class=3, seed=5), tmp_path / "fra.zarr")
    out = tmp_path / "p.parquet"
    predict_file(cell, store, out, PredictOptions(remaps=None))
    plain = pd.read_parquet(out)
    frame = gpd.read_parquet(out)
    assert len(frame) == len(plain) > 0 and frame.crs.equals("OGC:CRS84")
    np.testing.assert_allclose(frame.geometry.x, plain["lon"])
    np.testing.assert_allclose(frame.geometry.y, plain["lat"])
    assert is_predictions_file(out)  # cropglobe's own metadata is kept beside `geo`
    assert plain["simulated"].all()
