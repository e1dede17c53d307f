"""Label sampling: vector parcels (inward buffer in UTM), grid caps, seeds, example configs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cropglobe.errors import CropGlobeError
from cropglobe.sources.acquire import load_config
from cropglobe.sources.acquire.config import Labels, Sampling
from cropglobe.sources.acquire.cropmap import grid_sample, vector_candidates

REPO = Path(__file__).resolve().parents[3]


def _parcels(path: Path) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    geoms, crops = [], []
    for i in range(12):
        for j in range(8):
            x, y = 500_000 + i * 400, 4_990_000 + j * 400
            geoms.append(shapely.box(x, y, x + 380, y + 380 - (j % 3) * 150))  # some 80 m wide strips
            crops.append(rng.choice(["Maize", "Winter wheat", "Soya"]))
    gdf = gpd.GeoDataFrame({"crop": crops}, geometry=geoms, crs="EPSG:32631")
    gdf.to_file(path, driver="GPKG")
    return gdf


def test_vector_points_lie_60m_inside_their_parcel(tmp_path: Path) -> None:
    gdf = _parcels(tmp_path / "p.gpkg")
    lab = Labels(kind="vector", path=tmp_path / "p.gpkg", column="crop",
                 classes={"Maize": "corn", "Winter wheat": "wheat", "Soya": "soybean"}, points_per_parcel=2)
    cand = vector_candidates(lab, None, seed=0)
    thin = int((gdf.geometry.bounds.maxy - gdf.geometry.bounds.miny < 120).sum())
    assert len(cand) == 2 * (len(gdf) - thin)  # parcels narrower than 2 x 60 m give no points
    pts = gpd.GeoSeries(gpd.points_from_xy(cand.lon, cand.lat), crs="EPSG:4326").to_crs("EPSG:32631")
    for p, label in zip(pts, cand.label, strict=True):
        owner = gdf[gdf.contains(p)]
        assert len(owner) == 1
        assert owner.geometry.iloc[0].exterior.distance(p) >= 60.0 - 1e-6
        assert {"Maize": "corn", "Winter wheat": "wheat", "Soya": "soybean"}[owner.crop.iloc[0]] == label
    again = vector_candidates(lab, None, seed=0)
    pd.testing.assert_frame_equal(cand.reset_index(drop=True), again.reset_index(drop=True))


def test_vector_unmapped_names_and_missing_column(tmp_path: Path) -> None:
    _parcels(tmp_path / "p.gpkg")
    lab = Labels(kind="vector", path=tmp_path / "p.gpkg", column="crop", classes={"Maize": "corn"})
    with pytest.raises(
        CropGlobeError, match=r"2 code\(s\) in the map have no class in labels.classes: 'Soya', 'Winter wheat'"
    ):
        vector_candidates(lab, None, seed=0)
    lab = Labels(kind="vector", path=tmp_path / "p.gpkg", column="kultur", classes={"Maize": "corn"})
    with pytest.raises(CropGlobeError, match=r"no column 'kultur' \(labels.column\)"):
        vector_candidates(lab, None, seed=0)


def test_grid_sample_caps_and_seed() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    cand = pd.DataFrame({"lon": rng.uniform(3.0, 3.5, n), "lat": rng.uniform(45.0, 45.3, n),
                         "label": rng.choice(["corn", "wheat", "rice"], n)})
    s = Sampling(grid_deg=0.1, per_cell=4, per_class={"rice": 20}, seed=5)
    out = grid_sample(cand, s)
    per = out.groupby(["label", "cell"]).size()
    assert per.max() <= 4
    assert (out.label == "rice").sum() == 20
    assert (out.label == "corn").sum() == 4 * out[out.label == "corn"].cell.nunique() == 4 * 15
    pd.testing.assert_frame_equal(out, grid_sample(cand, s))
    assert not grid_sample(cand, Sampling(grid_deg=0.1, per_cell=4, seed=6)).equals(
        grid_sample(cand, Sampling(grid_deg=0.1, per_cell=4, seed=5))
    )


@pytest.mark.parametrize("name", ["usa_cdl_earth_search.yaml", "fra_parcels_planetary_computer.yaml", "arg_gee.yaml"])
def test_example_configs_are_valid(name: str) -> None:
    cfg = load_config(REPO / "configs" / "acquire" / name)
    assert cfg.output.is_absolute() and cfg.labels.path.is_absolute()
