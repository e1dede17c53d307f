"""Predicting sample tables with a transfer cell (mirrors src/cropglobe/mapping/predict_table.py); SIMULATED data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from cropglobe import experiment, samples, taxonomy
from cropglobe.errors import CropGlobeError
from cropglobe.mapping.predict_table import FEW_CLEAR, PREDICTED, PredictOptions, metrics_path, predict_file
from cropglobe.models.ensemble import prior_shift
from cropglobe.sources import simulate
from cropglobe.temporal import composite
from cropglobe.temporal.settings import CompositeSettings

SIM = {"countries": ["FRA", "BEL", "ARG"], "samples_per_class": 8, "seed": 2}
SPEC = {
    "name": "tiny-predict",
    "data": {"simulate": SIM},
    "sources": ["FRA"],
    "targets": "all",
    "cells": [{"feature": "median2d", "model": "cropnet-lite"}, {"feature": "harmonic", "model": "rf"}],
    "seeds": [0, 1],
    "train": {"epochs": 2, "batch_size": 16, "lr": 0.003},
    "model_options": {"rf": {"n_estimators": 20}},
    "remaps": "paper",
}
TORCH, RF = "FRA__median2d__cropnet-lite__none__s0", "FRA__harmonic__rf__none__s0"
PROBS = [f"prob_{c}" for c in taxonomy.CLASSES]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "r"
    experiment.run(experiment.parse_spec(SPEC), run_dir, progress=False)
    return run_dir


@pytest.fixture(scope="module")
def obs():
    return simulate.simulate(**SIM)


@pytest.fixture(scope="module")
def stores(obs, tmp_path_factory):
    """Observation-level SampleSets of the two targets, as `cropglobe simulate` + select would write them."""
    folder = tmp_path_factory.mktemp("samples")
    return {iso: samples.save(samples.select(obs, country=iso), folder / f"{iso}.zarr") for iso in ("BEL", "ARG")}


@pytest.fixture(scope="module")
def training_inputs():
    """The run's prepared data and feature cache (what the runner feeds its models)."""
    from cropglobe.experiment.data import prepare_study
    from cropglobe.experiment.runner import FeatureCache

    spec = experiment.parse_spec(SPEC)
    prepared = prepare_study(spec)
    return prepared, FeatureCache(prepared, spec.feature_options)


def _result_row(run_dir, cell, target):
    rows = json.loads((run_dir / "cells" / cell / "result.json").read_text())
    return next(r for r in rows if r["target"] == target)


@pytest.mark.parametrize("cell", [TORCH, RF])
def test_one_row_per_sample_with_probabilities(run_dir, stores, obs, cell, tmp_path):
    res = predict_file(run_dir / "cells" / cell, stores["BEL"], tmp_path / "p.parquet")
    t = pd.read_parquet(tmp_path / "p.parquet")
    bel = samples.select(obs, country="BEL")
    assert list(t["sample_id"]) == list(bel["sample_id"].values.astype(str))
    assert list(t.columns[:6]) == ["sample_id", "country", "year", "lon", "lat", "label"]
    assert (t["label"] == bel["label"].values.astype(str)).all() and (t["country"] == "BEL").all()
    assert np.allclose(t[PROBS].sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(t["confidence"], t[PROBS].max(axis=1))
    assert (t["predicted"] == np.asarray(taxonomy.CLASSES)[t[PROBS].to_numpy().argmax(1)]).all()
    assert (t["status"] == PREDICTED).all() and t["simulated"].all() and res.n_dropped == 0


@pytest.mark.parametrize("cell", [TORCH, RF])
@pytest.mark.parametrize("target", ["BEL", "ARG"])
def test_predictions_equal_the_transfer_evaluation(run_dir, stores, training_inputs, cell, target, tmp_path):
    """Per sample: the model on the run's own inputs (all countries composited together); per target: result.json."""
    from cropglobe.mapping import load_recipe
    from cropglobe.mapping.predict import predict_proba

    res = predict_file(run_dir / "cells" / cell, stores[target], tmp_path / "p.parquet")
    prepared, cache = training_inputs
    idx = np.flatnonzero(prepared.countries == target)
    start, count = prepared.window
    x = cache.full_series()[idx][..., start:start + count] if "median2d" in cell else cache.features("harmonic")[idx]
    recipe = load_recipe(run_dir / "cells" / cell)
    expected = predict_proba(recipe.load_model(), recipe, x)
    got = res.table.set_index("sample_id").loc[prepared.full["sample_id"].values[idx].astype(str), PROBS]
    np.testing.assert_allclose(got.to_numpy(), expected, atol=1e-5)
    row, m = _result_row(run_dir, cell, target), res.metrics["targets"][target]
    assert m["confusion"] == json.loads(row["confusion"])
    ref = json.loads(row["per_class"])
    assert {c: pytest.approx(v) for c, v in ref.items()} == m["per_class"]
    for key in ("oa", "macro_f1", "weighted_f1", "kappa"):
        assert m[key] == pytest.approx(row[key]), key
    assert m["n"] == row["n"] and ",".join(m["classes_present"]) == row["classes"]


def test_metrics_json_matches_a_direct_computation_with_the_run_remap(run_dir, obs, tmp_path):
    arg = samples.select(obs, country="ARG")
    labels = arg["label"].values.astype(str)
    labels[labels == "other"] = "wheat"  # reference labels the paper's ARG remap sends back to other
    store = samples.save(arg.assign_coords(label=("sample", labels)), tmp_path / "arg.zarr")
    out = tmp_path / "arg.parquet"
    predict_file(run_dir / "cells" / RF, store, out)
    saved = json.loads(metrics_path(out).read_text())
    assert metrics_path(out).name == "arg.metrics.json" and saved["data"] == "SIMULATED DATA"
    keep = taxonomy.paper_remaps()["ARG"]["keep"]
    assert saved["targets"]["ARG"]["remap"] == keep and "wheat" not in keep
    t = pd.read_parquet(out)
    assert (t["label"] == "wheat").sum() == 8
    truth = np.where(t["label"].isin(keep), t["label"], "other")
    pred = np.where(t["predicted"].isin(keep), t["predicted"], "other")
    m = saved["targets"]["ARG"]
    present = sorted(set(truth), key=taxonomy.CLASSES.index)
    assert m["classes_present"] == present
    assert m["oa"] == pytest.approx(skm.accuracy_score(truth, pred))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(truth, pred, labels=present, average="macro", zero_division=0))
    assert m["kappa"] == pytest.approx(skm.cohen_kappa_score(truth, pred))
    assert m["confusion"] == skm.confusion_matrix(truth, pred, labels=list(taxonomy.CLASSES)).tolist()
    f1 = skm.f1_score(truth, pred, labels=list(taxonomy.CLASSES), average=None, zero_division=0)
    assert [m["per_class"][c]["f1"] for c in taxonomy.CLASSES] == pytest.approx(f1.tolist())
    # without the run's remap, wheat is scored as itself
    plain = predict_file(run_dir / "cells" / RF, store, tmp_path / "plain.parquet", PredictOptions(remaps="none"))
    assert "wheat" in plain.metrics["targets"]["ARG"]["classes_present"]
    assert plain.metrics["targets"]["ARG"]["remap"] is None


def test_unlabelled_set_gives_predictions_but_no_metrics(run_dir, stores, obs, tmp_path):
    out = tmp_path / "p.parquet"
    labelled = predict_file(run_dir / "cells" / RF, stores["BEL"], out)
    assert metrics_path(out).is_file()
    bare = tmp_path / "bare.zarr"
    samples.write_zarr(samples.select(obs, country="BEL").drop_vars("label"), bare)
    res = predict_file(run_dir / "cells" / RF, bare, out)
    assert res.metrics is None and not metrics_path(out).exists(), "stale metrics left next to new predictions"
    t = pd.read_parquet(out)
    assert "label" not in t.columns
    assert list(t["predicted"]) == list(labelled.table["predicted"])


def test_dropped_samples_are_listed_without_a_prediction(run_dir, obs, tmp_path):
    bel = samples.select(obs, country="BEL")
    clear = bel["clear"].values.copy()
    clear[[0, 5, 9]] = 0.0  # never clear: composite drops them
    store = samples.save(bel.assign(clear=(("sample", "time"), clear)), tmp_path / "cloudy.zarr")
    res = predict_file(run_dir / "cells" / RF, store, tmp_path / "p.parquet")
    t = pd.read_parquet(tmp_path / "p.parquet")
    gone = t.index.isin([0, 5, 9])
    assert len(t) == bel.sizes["sample"] and (t.loc[gone, "status"] == FEW_CLEAR).all()
    assert t.loc[gone, "predicted"].isna().all() and t.loc[gone, PROBS + ["confidence"]].isna().all().all()
    assert t.loc[~gone, "predicted"].notna().all() and res.dropped == {FEW_CLEAR: 3}
    assert res.metrics["n_dropped"] == 3 and res.metrics["n_scored"] == len(t) - 3
    assert res.metrics["targets"]["BEL"]["n"] == len(t) - 3


def test_missing_band_is_one_clear_error_and_writes_nothing(run_dir, obs, tmp_path):
    bel = samples.select(obs, country="BEL")
    store = samples.save(bel.drop_sel(band="B8"), tmp_path / "nob8.zarr")
    out = tmp_path / "p.parquet"
    with pytest.raises(CropGlobeError, match=r"band B8 missing .*the model .* needs B2, B3, B4, B5"):
        predict_file(run_dir / "cells" / TORCH, store, out)
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob(".p.parquet*"))
    # harmonic features read 6 bands: a set without the red-edge band B5 still predicts
    store = samples.save(bel.drop_sel(band="B5"), tmp_path / "nob5.zarr")
    assert predict_file(run_dir / "cells" / RF, store, out).table["predicted"].notna().all()


def test_aligned_composite_input_equals_observation_input(run_dir, stores, obs, tmp_path):
    bel = samples.select(obs, country="BEL")
    from_obs = predict_file(run_dir / "cells" / TORCH, stores["BEL"], tmp_path / "a.parquet")
    comp = samples.save(composite.composite(bel), tmp_path / "comp.zarr")
    from_comp = predict_file(run_dir / "cells" / TORCH, comp, tmp_path / "b.parquet")
    np.testing.assert_allclose(from_comp.table[PROBS].to_numpy(), from_obs.table[PROBS].to_numpy(), atol=1e-6)
    other = samples.save(composite.composite(bel, CompositeSettings(interval=10)), tmp_path / "comp10.zarr")
    with pytest.raises(CropGlobeError, match="composited on 37 day-of-year bins.*aligned 5-day calendar"):
        predict_file(run_dir / "cells" / TORCH, other, tmp_path / "c.parquet")
    assert not (tmp_path / "c.parquet").exists()


def test_bad_output_name_and_remaps_fail_before_any_work(run_dir, stores, tmp_path):
    with pytest.raises(CropGlobeError, match="expected a .parquet file name"):
        predict_file(run_dir / "cells" / RF, stores["BEL"], tmp_path / "p.csv")
    bad = tmp_path / "remaps.yaml"
    bad.write_text("BEL: {keep: [maize_typo]}\n")
    with pytest.raises(CropGlobeError, match="maize_typo"):
        predict_file(run_dir / "cells" / RF, stores["BEL"], tmp_path / "p.parquet", PredictOptions(remaps=bad))
    assert not list(tmp_path.glob("*.parquet"))


def test_several_countries_are_scored_per_target_and_pooled(run_dir, obs, tmp_path):
    both = samples.save(samples.select(obs, country=["BEL", "ARG"]), tmp_path / "both.zarr")
    res = predict_file(run_dir / "cells" / RF, both, tmp_path / "p.parquet")
    m = res.metrics
    assert sorted(m["targets"]) == ["ARG", "BEL"] and m["targets"]["BEL"]["remap"] is None
    for iso in ("BEL", "ARG"):
        assert m["targets"][iso]["confusion"] == json.loads(_result_row(run_dir, RF, iso)["confusion"])
    pooled = np.add(m["targets"]["BEL"]["confusion"], m["targets"]["ARG"]["confusion"])
    assert m["all"]["confusion"] == pooled.tolist() and m["all"]["n"] == len(res.table)


@pytest.mark.parametrize("cell", [TORCH, RF])
def test_seed_ensemble_and_prior_adaptation(run_dir, stores, obs, cell, tmp_path):
    """--member averages the cells' probabilities; --adapt prior re-weights them by the EM prior of the samples."""
    other = cell.replace("__s0", "__s1")
    single = [predict_file(run_dir / "cells" / c, stores["BEL"], tmp_path / f"{c}.parquet").table[PROBS].to_numpy()
              for c in (cell, other)]
    both = predict_file(run_dir / "cells" / cell, stores["BEL"], tmp_path / "e.parquet",
                        options=PredictOptions(members=[run_dir / "cells" / other]))
    np.testing.assert_allclose(both.table[PROBS].to_numpy(), (single[0] + single[1]) / 2, atol=1e-5)
    assert both.target_prior is None
    adapted = predict_file(run_dir / "cells" / cell, stores["BEL"], tmp_path / "a.parquet",
                           options=PredictOptions(members=[run_dir / "cells" / other], adapt="prior"))
    want, prior = prior_shift((single[0] + single[1]) / 2)
    np.testing.assert_allclose(adapted.table[PROBS].to_numpy(), want, atol=1e-4)
    assert adapted.target_prior == pytest.approx(dict(zip(taxonomy.CLASSES, prior, strict=True)), abs=1e-3)
    assert json.loads(metrics_path(tmp_path / "a.parquet").read_text())["target_prior"] == adapted.target_prior
    # the prior comes from the inputs alone: the same samples without labels give the same probabilities
    bare = tmp_path / "bare.zarr"
    samples.write_zarr(samples.select(obs, country="BEL").drop_vars("label"), bare)
    blind = predict_file(run_dir / "cells" / cell, bare, tmp_path / "b.parquet",
                         PredictOptions(members=[run_dir / "cells" / other], adapt="prior"))
    np.testing.assert_allclose(blind.table[PROBS].to_numpy(), adapted.table[PROBS].to_numpy())


def test_ensemble_members_must_share_inputs(run_dir, stores, tmp_path):
    with pytest.raises(CropGlobeError, match="cannot be an ensemble member.*field 'feature' differs"):
        predict_file(run_dir / "cells" / TORCH, stores["BEL"], tmp_path / "p.parquet",
                     PredictOptions(members=[run_dir / "cells" / RF]))
    with pytest.raises(CropGlobeError, match="adapt='tent'"):
        predict_file(run_dir / "cells" / TORCH, stores["BEL"], tmp_path / "p.parquet", PredictOptions(adapt="tent"))
    assert not (tmp_path / "p.parquet").exists()


def test_run_remaps_score_classes_absent_from_the_source_as_the_study_does(obs, tmp_path):
    """Under the run's ``absent_classes: other``, ``--remaps run`` scores like the study (REAL-data gap of issue 28)."""
    fra = samples.select(obs, country="FRA")
    no_corn = samples.save(fra.isel(sample=np.flatnonzero(fra["label"].values != "corn")), tmp_path / "fra.zarr")
    bel = samples.save(samples.select(obs, country="BEL"), tmp_path / "bel.zarr")
    spec = {"name": "absent", "data": {"path": [str(no_corn), str(bel)]}, "sources": ["FRA"], "targets": ["BEL"],
            "cells": [{"feature": "harmonic", "model": "rf"}], "seeds": [0], "absent_classes": "other",
            "model_options": {"rf": {"n_estimators": 20}}}
    experiment.run(experiment.parse_spec(spec), tmp_path / "run", progress=False)
    cell = tmp_path / "run" / "cells" / RF
    recipe = json.loads((cell / "recipe.json").read_text())
    assert "corn" not in recipe["source_classes"] and "other" in recipe["source_classes"]
    study = _result_row(tmp_path / "run", RF, "BEL")
    got = predict_file(cell, bel, tmp_path / "bel.parquet").metrics
    assert "corn" not in got["targets"]["BEL"]["classes_present"] and "corn" not in got["targets"]["BEL"]["remap"]
    assert got["targets"]["BEL"]["macro_f1"] == pytest.approx(study["macro_f1"])
    assert got["targets"]["BEL"]["oa"] == pytest.approx(study["oa"])
    assert got["absent_classes"].startswith("other: classes outside the source's")
    # a recipe written before format 5 does not record its source's classes: the rule is named, not applied
    old = {k: v for k, v in recipe.items() if k != "source_classes"} | {"format_version": 4}
    (cell / "recipe.json").write_text(json.dumps(old))
    before = predict_file(cell, bel, tmp_path / "old.parquet").metrics
    assert "corn" in before["targets"]["BEL"]["classes_present"]
    assert "does not record its source's classes" in before["absent_classes"]
