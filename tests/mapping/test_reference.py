"""Stratified reference samples of a class map and the map's accuracy assessment from them (issue 27)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import areaestimate, reference

NAMES = ["corn", "soybean", "wheat"]


def _map(path, nodata_rows: int = 5):
    """A 60 x 80 class map of 10 m pixels (0.01 ha) in UTM 31N: corn left, soybean middle, wheat right."""
    import rasterio
    from rasterio.transform import from_origin

    data = np.zeros((60, 80), dtype=np.uint8)
    data[:, 40:70] = 1
    data[:, 70:] = 2
    data[:nodata_rows] = 255
    with rasterio.open(path, "w", driver="GTiff", height=60, width=80, count=1, dtype="uint8", nodata=255,
                       crs="EPSG:32631", transform=from_origin(500_000, 5_000_000, 10, 10)) as dst:
        dst.write(data, 1)
        dst.update_tags(CLASS_NAMES=json.dumps({str(i): c for i, c in enumerate(NAMES)}), NODATA_CLASS="255")
    return path, data


def test_strata_count_pixels_and_hectares(tmp_path):
    path, data = _map(tmp_path / "map.tif")
    found = reference.strata(path)
    assert found.names == NAMES and found.codes == [0, 1, 2]
    np.testing.assert_array_equal(found.pixels, [55 * 40, 55 * 30, 55 * 10])
    np.testing.assert_allclose(found.hectares, found.pixels * 0.01)


def test_draw_is_stratified_repeatable_and_on_the_drawn_class(tmp_path):
    path, _ = _map(tmp_path / "map.tif")
    points = reference.draw(path, per_class=20, seed=3)
    assert list(points.columns) == list(reference.POINT_COLUMNS)
    assert points["map_class"].value_counts().to_dict() == {"corn": 20, "soybean": 20, "wheat": 20}
    np.testing.assert_array_equal(reference.map_classes_at(path, points["lon"], points["lat"]), points["map_code"])
    assert not points.duplicated(["lon", "lat"]).any()
    pd.testing.assert_frame_equal(points, reference.draw(path, per_class=20, seed=3))
    assert not points[["lon", "lat"]].equals(reference.draw(path, per_class=20, seed=4)[["lon", "lat"]])


def test_allocation_by_area_with_a_floor():
    np.testing.assert_array_equal(reference.allocate(np.array([800, 150, 50]), total=100, minimum=0), [80, 15, 5])
    np.testing.assert_array_equal(reference.allocate(np.array([800, 150, 50]), total=100, minimum=10), [80, 15, 10])
    np.testing.assert_array_equal(reference.allocate(np.array([800, 150, 3]), per_class=10), [10, 10, 3])
    with pytest.raises(CropGlobeError, match="either per_class"):
        reference.allocate(np.array([1]), per_class=1, total=1)


@pytest.mark.parametrize("name", ["points.csv", "points.parquet"])
def test_points_round_trip_csv_and_geoparquet(tmp_path, name):
    path, _ = _map(tmp_path / "map.tif")
    points = reference.draw(path, per_class=5).assign(reference=lambda t: t["map_class"])
    reference.write_points(points, tmp_path / name)
    back = reference.read_points(tmp_path / name)
    np.testing.assert_allclose(back[["lon", "lat"]], points[["lon", "lat"]])
    assert list(back["reference"]) == list(points["reference"])
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        geo = json.loads(pq.read_schema(tmp_path / name).metadata[b"geo"])
        assert geo["primary_column"] == "geometry" and geo["columns"]["geometry"]["encoding"] == "WKB"
        only_geometry = pq.read_table(tmp_path / name).drop(["lon", "lat"])  # lon/lat from the geometry alone
        pq.write_table(only_geometry, tmp_path / "geom.parquet")
        again = reference.read_points(tmp_path / "geom.parquet")
        np.testing.assert_allclose(again[["lon", "lat"]], points[["lon", "lat"]])


def test_assess_counts_the_sample_and_weights_by_mapped_area(tmp_path):
    path, _ = _map(tmp_path / "map.tif")
    points = reference.draw(path, per_class=10, seed=1)
    truth = points["map_class"].copy()
    truth.iloc[:2] = "soybean"  # two corn points are soybean in the reference
    truth.iloc[25] = "sunflower"  # a class the map never shows
    points = points.assign(reference=truth)
    off = pd.DataFrame([{"id": 99, "lon": 10.0, "lat": 10.0, "reference": "corn"}])  # far off the map
    reference.write_points(pd.concat([points, off], ignore_index=True), tmp_path / "ref.csv")
    result = reference.assess(path, tmp_path / "ref.csv")
    est = result.estimate
    assert result.points_used == 30 and result.points_off_map == 1
    assert est.classes == [*NAMES, "sunflower"]
    counts = np.zeros((4, 4), dtype=int)
    np.fill_diagonal(counts[:3, :3], 10)
    counts[0, 0], counts[0, 1] = 8, 2
    counts[2, 2], counts[2, 3] = 9, 1  # point 25 is the 6th wheat point (points are ordered by class)
    np.testing.assert_array_equal(est.counts, counts)
    expected = areaestimate.estimate(counts, np.array([22.0, 16.5, 5.5, 0.0]), est.classes)
    np.testing.assert_allclose(est.area, expected.area)
    assert est.area[3] == pytest.approx(5.5 * 0.1)  # sunflower: a tenth of the wheat stratum


def test_assess_refuses_unlabelled_points(tmp_path):
    path, _ = _map(tmp_path / "map.tif")
    reference.write_points(reference.draw(path, per_class=3), tmp_path / "ref.csv")
    with pytest.raises(CropGlobeError, match="no point has a reference label"):
        reference.assess(path, tmp_path / "ref.csv")


def test_commands_draw_then_assess(tmp_path, capfd):
    from cropglobe.cli import main

    path, _ = _map(tmp_path / "map.tif")
    out = tmp_path / "points.parquet"
    with pytest.raises(SystemExit) as exc:
        main(["sample-reference", str(path), "--out", str(out), "--per-class", "8", "--seed", "2"])
    assert exc.value.code == 0, capfd.readouterr().err
    assert "wrote" in capfd.readouterr().out
    points = reference.read_points(out, column="map_class")
    points.assign(reference=points["map_class"]).to_csv(tmp_path / "labelled.csv", index=False)
    with pytest.raises(SystemExit) as exc:
        main(["accuracy", str(path), str(tmp_path / "labelled.csv"), "--out", str(tmp_path / "acc.csv")])
    captured = capfd.readouterr()
    assert exc.value.code == 0, captured.err
    assert "overall accuracy 1.000 ± 0.000" in captured.out
    table = pd.read_csv(tmp_path / "acc.csv")
    assert list(table["class"]) == [*NAMES, "(overall accuracy)"]
    np.testing.assert_allclose(table["area_ha"].iloc[:3], [22.0, 16.5, 5.5])
    with pytest.raises(SystemExit) as exc:  # a planted file that is not a previous table is kept
        main(["accuracy", str(path), str(tmp_path / "labelled.csv"), "--out", str(tmp_path / "labelled.csv")])
    assert exc.value.code == 2


def test_the_accuracy_command_reproduces_olofsson_2014(tmp_path, capfd):
    """``cropglobe assess accuracy`` on the worked example of Olofsson et al. (2014): a map whose strata have the
    paper's areas (200 pixels of 4,500 ha in the paper's 4 : 3 : 64 : 129 proportions) and the paper's 640
    reference points (its error matrix of sample counts, as in test_areaestimate) give its estimates."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.warp import transform as warp
    from tests.mapping.test_areaestimate import CLASSES, COUNTS

    from cropglobe.cli import main

    size = (4_500 * 1e4) ** 0.5  # metres: one pixel is 4,500 ha, the map 900,000 ha as the paper's
    codes = np.repeat(np.arange(4), [4, 3, 64, 129]).reshape(10, 20).astype(np.uint8)
    path = tmp_path / "olofsson.tif"
    crs = "EPSG:32631"
    with rasterio.open(path, "w", driver="GTiff", height=10, width=20, count=1, dtype="uint8", nodata=255,
                       crs=crs, transform=from_origin(500_000, 5_000_000, size, size)) as dst:
        dst.write(codes, 1)
        dst.update_tags(CLASS_NAMES=json.dumps({str(i): c for i, c in enumerate(CLASSES)}), NODATA_CLASS="255")
    rows = []
    for h in range(4):  # the points of stratum h lie on its pixels (cycled), labelled as the matrix's row h
        pixels = np.argwhere(codes == h)
        labels = np.repeat(CLASSES, COUNTS[h])
        r, c = pixels[np.arange(len(labels)) % len(pixels)].T
        lon, lat = warp(crs, "EPSG:4326", 500_000 + (c + 0.5) * size, 5_000_000 - (r + 0.5) * size)
        rows += [{"lon": x, "lat": y, "reference": name} for x, y, name in zip(lon, lat, labels, strict=True)]
    pd.DataFrame(rows).to_csv(tmp_path / "reference.csv", index=False)
    with pytest.raises(SystemExit) as exc:
        main(["assess", "accuracy", str(path), str(tmp_path / "reference.csv"), "--out", str(tmp_path / "acc.csv")])
    captured = capfd.readouterr()
    assert exc.value.code == 0, captured.err
    assert "overall accuracy 0.947 ± 0.018; 640 points used" in captured.out
    table = pd.read_csv(tmp_path / "acc.csv").set_index("class")
    np.testing.assert_array_equal(np.round(table.loc[CLASSES, "area_ha"]), [21_158, 11_686, 285_770, 581_386])
    np.testing.assert_array_equal(np.round(table.loc[CLASSES, "area_ci_ha"]), [6_158, 3_756, 15_510, 16_282])
    np.testing.assert_array_equal(np.round(table.loc[CLASSES, "users_accuracy"], 2), [0.88, 0.73, 0.93, 0.96])
    np.testing.assert_array_equal(np.round(table.loc[CLASSES, "producers_accuracy"], 2), [0.75, 0.85, 0.93, 0.96])
    np.testing.assert_allclose(table.loc[CLASSES, "map_area_ha"], [18_000, 13_500, 288_000, 580_500])
