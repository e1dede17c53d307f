"""The ``presto`` feature family: embeddings, disk cache, weights resolution and pinning, transfer runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cropglobe import experiment
from cropglobe.errors import CropGlobeError
from cropglobe.features import families as features
from cropglobe.features.presto import embed
from cropglobe.sources import simulate
from cropglobe.temporal import composite, season


@pytest.fixture(scope="module")
def weights(presto_weights: Path) -> Path:
    return presto_weights


@pytest.fixture(scope="module")
def window():
    ds = simulate.simulate(["FRA", "ARG"], samples_per_class=2, seed=5)
    return season.season(composite.composite(ds))


@pytest.fixture(autouse=True)
def _no_user_weights(monkeypatch, tmp_path):
    monkeypatch.delenv(embed.ENV_WEIGHTS, raising=False)
    monkeypatch.delenv(embed.ENV_CACHE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # no downloaded weights, no user cache


def test_registered_as_a_vector_family_reading_s2_bands():
    spec = features.get_feature("presto")
    assert spec.kind == "vector"
    assert spec.bands(["B2", "B8", "NDVI", "EVI"]) == ["B2", "B8", "NDVI"]


def test_embeddings_are_batched_and_cached(window, weights, tmp_path, monkeypatch):
    fn = features.get_feature("presto").fn
    cache = tmp_path / "cache"
    a = fn(window, weights=str(weights), batch_size=7, cache_dir=str(cache))
    assert a.shape == (window.sizes["sample"], 128) and a.dtype == np.float32 and np.isfinite(a).all()
    assert len(list(cache.glob("*.npy"))) == 1
    b = fn(window, weights=str(weights), batch_size=1000, cache=False)
    np.testing.assert_allclose(a, b, atol=1e-5)          # batch size does not change the embeddings

    def boom(*args, **kwargs):
        raise AssertionError("the encoder must not run when the cache holds the embeddings")
    monkeypatch.setattr(embed, "encoder_for", boom)
    np.testing.assert_array_equal(fn(window, weights=str(weights), cache_dir=str(cache)), a)
    # other inputs are another key: the cache is not consulted for them
    with pytest.raises(AssertionError):
        fn(window.isel(sample=slice(0, 3)), weights=str(weights), cache_dir=str(cache))


def test_weights_come_from_the_option_or_the_environment(window, weights, monkeypatch):
    with pytest.raises(CropGlobeError,
                       match="no Presto weights.*CROPGLOBE_PRESTO_WEIGHTS.*cropglobe data download presto"):
        embed.presto_features(window, embed.PrestoOptions(cache=False))
    with pytest.raises(CropGlobeError, match=r"weights file .*nope\.pt \(from option presto.weights\) not found"):
        embed.presto_features(window, embed.PrestoOptions(weights="nope.pt", cache=False))
    monkeypatch.setenv(embed.ENV_WEIGHTS, str(weights))
    assert embed.resolve_weights() == weights
    assert embed.presto_features(window.isel(sample=slice(0, 2)), embed.PrestoOptions(cache=False)).shape == (2, 128)


def test_recorded_options_pin_the_weights(weights, tmp_path):
    rec = features.get_feature("presto").recorded_options({"weights": str(weights), "cache_dir": "x"})
    assert rec == {"weights": str(weights), "weights_sha256": embed.file_sha256(weights), "cache": False}
    assert rec["weights_sha256"] == "559c9d76f525bdf2dd3774da8b1e7f1510769b73baacac12e9e4d8d5c67fbe65"
    assert features.get_feature("presto").recorded_options(rec) == rec     # map time: same weights pass
    other = tmp_path / "other.pt"
    other.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(CropGlobeError, match="trained on Presto weights with sha256 559c9d76"):
        features.get_feature("presto").recorded_options({**rec, "weights": str(other)})


def test_transfer_presto_rf_end_to_end(weights, tmp_path):
    spec = experiment.parse_spec({
        "name": "presto-tiny",
        "data": {"simulate": {"countries": ["FRA", "BEL"], "samples_per_class": 6, "seed": 3}},
        "sources": ["FRA"], "targets": ["BEL"],
        "cells": [{"feature": "presto", "model": "rf"}],
        "seeds": [0],
        "model_options": {"rf": {"n_estimators": 10}},
        "feature_options": {"presto": {"weights": str(weights), "cache_dir": str(tmp_path / "cache")}},
    })
    results = experiment.run(spec, tmp_path / "run", progress=False)
    assert set(results["target"]) == {"FRA", "BEL"} and results["macro_f1"].between(0, 1).all()
    cell = tmp_path / "run" / "cells" / "FRA__presto__rf__none__s0"
    recipe = json.loads((cell / "recipe.json").read_text())
    assert recipe["feature"] == "presto" and recipe["feature_options"]["weights_sha256"] == embed.file_sha256(weights)
    assert "cache_dir" not in recipe["feature_options"] and recipe["feature_options"]["cache"] is False

    from cropglobe.mapping.cell import load_recipe

    r = load_recipe(cell)
    assert r.feature_options["weights_sha256"] == recipe["feature_options"]["weights_sha256"]
    model = r.load_model()
    win = season.season(composite.composite(simulate.simulate(["BEL"], samples_per_class=1, seed=9)))
    proba = model.predict_proba(features.get_feature("presto").fn(win, **r.feature_options))
    assert proba.shape == (win.sizes["sample"], len(r.classes))
    recipe["feature_options"]["weights_sha256"] = "0" * 64      # mapping refuses other weights
    (cell / "recipe.json").write_text(json.dumps(recipe))
    with pytest.raises(CropGlobeError, match="recipe.json: presto: weights .* trained on Presto weights"):
        load_recipe(cell)
