"""Fixtures: a SIMULATED cube with known classes (fully cloudy corner) and a small trained cell with its recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CLOUDY = (slice(0, 8), slice(0, 5))


def train_cell(cell: Path, model: str = "lightgbm", feature: str = "harmonic", seed: int = 11) -> Path:
    """Train a small tabular model on simulated FRA samples and write model + recipe.json like a transfer cell."""
    from cropglobe import models, samples, taxonomy
    from cropglobe.features import families as features
    from cropglobe.sources import simulate
    from cropglobe.temporal import composite, season

    obs = simulate.simulate(["FRA"], samples_per_class=60, seed=seed)
    full = composite.composite(obs)
    x = features.get_feature(feature).fn(season.season(full))
    m = models.get_model(model, x.shape[1], 1, len(taxonomy.CLASSES), n_estimators=60)
    m.fit(x, samples.label_codes(full))
    cell.mkdir(parents=True, exist_ok=True)
    m.save(cell / "model", None, list(taxonomy.CLASSES))
    recipe = {"model_file": "model", "model": model, "feature": feature, "feature_options": {}, "flatten": False,
              "bands": [str(b) for b in full["band"].values], "classes": list(taxonomy.CLASSES),
              "composite": {"interval": 5, "window": "05-01:11-30", "align": "hemisphere", "clear_threshold": 0.75},
              "window_bins": list(season.window_bins(full)), "bin_days": 5}
    (cell / "recipe.json").write_text(json.dumps(recipe), encoding="utf-8")
    return cell


@pytest.fixture(scope="session")
def cell(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LightGBM-on-harmonic cell trained on simulated FRA."""
    return train_cell(tmp_path_factory.mktemp("cell") / "FRA__harmonic__lightgbm__none__s0")


@pytest.fixture(scope="session")
def sim_cube():
    """(cube dataset, truth) of 4x4 simulated FRA fields of 8x8 px, with a fully cloudy 8x5 block."""
    from cropglobe.mapping import simulated_cube

    return simulated_cube("FRA", (4, 4), 8, seed=3, cloudy=CLOUDY)


@pytest.fixture(scope="session")
def cube_store(sim_cube, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated cube written as Zarr."""
    from cropglobe.mapping import write_cube

    return write_cube(sim_cube[0], tmp_path_factory.mktemp("cube") / "cube.zarr")
