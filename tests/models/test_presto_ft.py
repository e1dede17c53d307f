"""``presto-ft``: pretrained Presto encoder + linear head on packed ``presto-input`` rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cropglobe import experiment, models, samples
from cropglobe.errors import CropGlobeError
from cropglobe.features import families as features
from cropglobe.features.presto import embed
from cropglobe.features.presto.inputs import build_inputs, steps_of_width
from cropglobe.sources import simulate
from cropglobe.temporal import composite, season

SIM = {"countries": ["FRA", "BEL"], "samples_per_class": 6, "seed": 3}
CELL = "FRA__presto-input__presto-ft__none__s0"


@pytest.fixture(scope="module")
def weights(presto_weights: Path) -> Path:
    return presto_weights


@pytest.fixture(scope="module")
def window():
    return season.season(composite.composite(simulate.simulate(["FRA", "ARG"], samples_per_class=2, seed=5)))


def _spec(weights: Path) -> dict:
    return {
        "name": "presto-ft-tiny", "data": {"simulate": SIM}, "sources": ["FRA"], "targets": ["BEL"],
        "cells": [{"feature": "presto-input", "model": "presto-ft"}], "seeds": [0],
        "train": {"epochs": 2, "batch_size": 16, "lr": 1e-3, "precision": "32-true"},
        "model_options": {"presto-ft": {"weights": str(weights)}},
    }


@pytest.fixture(scope="module")
def cell(weights, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("presto-ft")
    experiment.run(experiment.parse_spec(_spec(weights)), root / "run", progress=False)
    return root / "run" / "cells" / CELL


def test_packed_rows_unpack_to_the_presto_inputs(window):
    inputs = build_inputs(window)
    rows = features.get_feature("presto-input").fn(window)
    t = inputs.x.shape[1]
    assert rows.dtype == np.float32 and rows.shape == (len(inputs), 35 * t + 3) and steps_of_width(rows.shape[1]) == t
    from cropglobe.models.presto_ft import PrestoClassifier

    x, mask, month, latlon, ll_mask = PrestoClassifier(rows.shape[1], 7).unpack(torch.from_numpy(rows))
    for got, want in zip((x, mask, month, latlon, ll_mask), inputs.arrays(), strict=True):
        np.testing.assert_array_equal(got.numpy(), want)
    assert not ll_mask.any() and (month.numpy() != inputs.months[None, :] - 1).any(), "ARG months are calendar months"
    with pytest.raises(CropGlobeError, match="not packed Presto inputs"):
        steps_of_width(35)


def test_the_pretrained_encoder_is_loaded_and_its_sha256_recorded(window, weights):
    rows = features.get_feature("presto-input").fn(window)
    net = models.get_model("presto-ft", rows.shape[1], 1, 7, seed=0, weights=str(weights))
    assert net.cropglobe_spec.options["weights_sha256"] == embed.file_sha256(weights)
    # the encoder is Presto's: the fine-tuning model's embedding is the frozen feature
    frozen = features.get_feature("presto").fn(window, weights=str(weights), cache=False)
    x, mask, month, latlon, ll_mask = net.unpack(torch.from_numpy(rows))
    with torch.no_grad():
        emb = net.eval().encoder(x, mask, month, latlon=latlon, latlon_mask=ll_mask).numpy()
    np.testing.assert_allclose(emb, frozen, atol=1e-5)
    assert all(p.requires_grad for n, p in net.named_parameters() if "pos_embed" not in n and "month_embed" not in n)
    with pytest.raises(CropGlobeError, match="trained on Presto weights with sha256"):
        models.get_model("presto-ft", rows.shape[1], 1, 7, weights=str(weights), weights_sha256="0" * 64)


def test_a_mismatched_state_dict_is_one_clear_error(window, weights, tmp_path):
    width = features.get_feature("presto-input").fn(window).shape[1]
    state = torch.load(weights, map_location="cpu", weights_only=True)
    state["encoder.norm.weight"] = torch.zeros(64)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(CropGlobeError, match=r"bad.pt: key 'encoder.norm.weight' has shape \(64,\)"):
        models.get_model("presto-ft", width, 1, 7, weights=str(tmp_path / "bad.pt"))
    # a saved presto-ft model whose weights do not fit its spec
    net = models.get_model("presto-ft", width, 1, 7, weights=str(weights))
    models.save_model(net, tmp_path / "ok.pt")
    blob = torch.load(tmp_path / "ok.pt", weights_only=True)
    del blob["state_dict"]["head.bias"]
    torch.save(blob, tmp_path / "broken.pt")
    with pytest.raises(CropGlobeError, match="broken.pt: weights do not match a 'presto-ft' model"):
        models.load_model(tmp_path / "broken.pt")


def test_presto_ft_pairs_only_with_presto_input():
    from cropglobe.experiment.data import check_cells
    from cropglobe.experiment.study import CellSpec

    with pytest.raises(CropGlobeError, match="takes the feature family presto-input, not 'harmonic'"):
        check_cells([CellSpec(feature="harmonic", model="presto-ft")])
    with pytest.raises(CropGlobeError, match="'presto-input' is the input of presto-ft only, not of 'rf'"):
        check_cells([CellSpec(feature="presto-input", model="rf")])


def test_transfer_saves_a_model_that_predicts_the_same_after_loading(cell, weights, tmp_path):
    from cropglobe.mapping import load_recipe
    from cropglobe.mapping.predict import predict_proba, recipe_features

    recipe = json.loads((cell / "recipe.json").read_text())
    assert recipe["model"] == "presto-ft" and recipe["feature"] == "presto-input"
    assert recipe["model_options"]["weights_sha256"] == embed.file_sha256(weights)
    r = load_recipe(cell)
    bel = samples.select(simulate.simulate(**SIM), country="BEL")
    win = season.season(composite.composite(bel, r.composite))
    x = recipe_features(win, r)
    model = r.load_model()
    proba = predict_proba(model, r, x)
    assert proba.shape == (win.sizes["sample"], len(r.classes)) and np.allclose(proba.sum(1), 1, atol=1e-5)
    # loading needs no pretrained file: the model file holds the fine-tuned encoder
    moved = shutil.copytree(cell, tmp_path / "cell")
    again = models.load_model(moved / "model")
    np.testing.assert_allclose(predict_proba(again, r, x), proba, atol=1e-6)
    assert not np.allclose(again.encoder.norm.weight.detach().numpy(),
                           models.get_model("presto-ft", x.shape[1], 1, 7, weights=str(weights))
                           .encoder.norm.weight.detach().numpy()), "the encoder was fine-tuned"

    # cropglobe predict gives the same probabilities
    from typer.testing import CliRunner

    from cropglobe.cli import app

    src = samples.save(bel, tmp_path / "bel.zarr")
    out = tmp_path / "pred.parquet"
    res = CliRunner().invoke(app, ["predict", str(cell), str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(out).set_index("sample_id")
    probs = table.loc[win["sample_id"].values.astype(str), [f"prob_{c}" for c in r.classes]].to_numpy()
    np.testing.assert_allclose(probs, proba, atol=1e-5)
