"""Contracts of unlabelled-target adaptation: AdaBN, seed ensembles, no target label in training."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from cropglobe import experiment, models, samples, taxonomy
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import adapt
from cropglobe.experiment.data import prepare_study
from cropglobe.models.ensemble import Calibration, prior_shift
from cropglobe.sources import simulate
from cropglobe.training.metrics import score_names


def _net(name: str = "tempcnn") -> torch.nn.Module:
    torch.manual_seed(0)
    return models.get_model(name, 4, 12, 7, seed=0).eval()


def test_adabn_changes_only_batchnorm_running_statistics() -> None:
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = (np.random.default_rng(0).normal(size=(40, 4, 12)) * 3 + 2).astype(np.float32)  # a shifted "target"
    adapted = adapt.adabn(net, x, batch_size=16)
    # the original is untouched
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    # every learned parameter identical
    for (name, p), (_, q) in zip(net.named_parameters(), adapted.named_parameters(), strict=True):
        assert torch.equal(p, q), name
    layers = adapt.bn_layers(adapted)
    assert layers
    bn_buffers = {f"{n}.{b}" for n, m in adapted.named_modules() if m in layers
                  for b in ("running_mean", "running_var", "num_batches_tracked")}
    for name, value in adapted.state_dict().items():
        if name in bn_buffers:
            if not name.endswith("num_batches_tracked"):
                assert not torch.allclose(value, before[name]), f"{name} did not change"
        else:
            assert torch.equal(value, before[name]), f"{name} changed but is not a BatchNorm statistic"
    assert not adapted.training and all(m.momentum == 0.1 for m in layers)  # momentum restored


def test_adabn_statistics_are_those_of_the_target_inputs() -> None:
    net = _net()
    x = (np.random.default_rng(1).normal(size=(30, 4, 12)) * 2 - 1).astype(np.float32)
    adapted = adapt.adabn(net, x, batch_size=1000)  # one batch: the statistics of all 30 samples
    first = adapt.bn_layers(adapted)[0]
    seen: list[torch.Tensor] = []
    hook = first.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    with torch.no_grad():
        adapted(torch.as_tensor(x))
    hook.remove()
    feats = seen[0].transpose(0, 1).reshape(seen[0].shape[1], -1)  # (C, N * L)
    torch.testing.assert_close(first.running_mean, feats.mean(1), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(first.running_var, feats.var(1, unbiased=True), rtol=1e-4, atol=1e-5)


def test_adabn_on_cropnet_and_errors() -> None:
    net = models.get_model("cropnet", 4, 12, 7, seed=0, widths=(4, 4, 4, 4)).eval()
    x = np.random.default_rng(2).normal(size=(9, 4, 12)).astype(np.float32)
    adapted = adapt.adabn(net, x, batch_size=4)  # batches of 3: never a one-sample batch
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), adapted.parameters(), strict=True))
    with pytest.raises(CropGlobeError, match="at least 2 target samples"):
        adapt.adabn(net, x[:1])
    with pytest.raises(CropGlobeError, match="no BatchNorm layer"):
        adapt.adabn(torch.nn.Linear(3, 2), x)


def test_ensemble_is_the_mean_of_the_members() -> None:
    rng = np.random.default_rng(3)
    members = [rng.dirichlet(np.ones(7), size=5) for _ in range(3)]
    mean = adapt.ensemble_proba(members)
    np.testing.assert_allclose(mean, (members[0] + members[1] + members[2]) / 3)
    np.testing.assert_allclose(mean.sum(1), 1.0)
    with pytest.raises(CropGlobeError, match="different shapes"):
        adapt.ensemble_proba([members[0], members[1][:2]])
    with pytest.raises(CropGlobeError, match="no member"):
        adapt.ensemble_proba([])


def _bumps(peak_bins: np.ndarray) -> np.ndarray:
    """Full-year series (N, 2, 73) with bands B4, B8 whose NDVI peaks at the given bins."""
    t = np.arange(73)
    nir = 0.2 + 0.3 * np.exp(-((t[None] - peak_bins[:, None]) / 6.0) ** 2)
    return np.stack([np.full_like(nir, 0.05), nir], axis=1).astype(np.float32)


def test_phenology_offset_from_unlabelled_ndvi_peaks() -> None:
    source, target = _bumps(np.array([38, 40, 40, 42])), _bumps(np.array([43, 44, 44, 46]))
    assert adapt.phenology_offset(source, target, ["B4", "B8"], (24, 31), 5.0) == pytest.approx(20.0)
    assert adapt.phenology_offset(target, source, ["B4", "B8"], (24, 31), 5.0, max_days=10) == -10.0
    x = target
    np.testing.assert_array_equal(adapt.shifted_windows(x, (24, 31), 0.0, 5.0), x[..., 24:55])
    np.testing.assert_allclose(adapt.shifted_windows(x, (24, 31), 10.0, 5.0), x[..., 26:57])
    with pytest.raises(CropGlobeError, match="B4 and B8"):
        adapt.ndvi_peak_bins(x, ["B2", "B3"], (24, 31))
    how = adapt.method_inputs("phenoshift", _cell("median2d"), x[..., 24:55], x[:2], x[2:4], ["B4", "B8"])
    assert (
        how is not None and how[1] == "none" and how[2]["phenoshift_days"] == pytest.approx(7.5)
    )  # medians 43.5 -> 45
    assert adapt.method_inputs("phenoshift", _cell("harmonic"), x, x[:2], x[:2], ["B4", "B8"]) is None


def _cell(feature: str):
    """A cell of ``feature`` with the season window (24, 31) on 5-day bins (its model is never called here)."""
    from cropglobe.cells.cell import Cell
    from cropglobe.recipe import CompositeSettings, RecipeSpec

    recipe = RecipeSpec(model_file="model", model="rf" if feature == "harmonic" else "cropnet-lite", feature=feature,
                        bands=["B4", "B8"], classes=list(taxonomy.CLASSES), composite=CompositeSettings(),
                        window_bins=(24, 31), bin_days=5.0)
    return Cell(recipe, model=object())


def _spec(path: str) -> dict:
    return {
        "name": "adapt", "data": {"path": path}, "sources": ["FRA"], "targets": ["BEL"],
        "composite": {"interval": 5, "window": "05-01:10-31"},
        "cells": [{"feature": "median2d", "model": "cropnet-lite",
                   "augmentation": {"shift": {"max_days": 10, "p": 0.5}}},
                  {"feature": "median1d", "model": "rf"}],
        "seeds": [0, 1], "train": {"epochs": 2, "batch_size": 16, "lr": 0.001},
        "model_options": {"rf": {"n_estimators": 10}},
        "adaptation": {"methods": ["adabn", "phenoshift", "prior", "selftrain", "align"], "ensemble": True,
                       "selftrain": {"portions": [0.5], "epochs": 1}},
    }


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same study twice: once with BEL's true labels, once with BEL's labels shuffled."""
    root = tmp_path_factory.mktemp("adapt")
    ds = simulate.simulate(["FRA", "BEL"], samples_per_class=6, seed=4)
    samples.save(ds, root / "true.zarr")
    labels = ds["label"].values.astype(str).copy()
    bel = np.flatnonzero(ds["country"].values == "BEL")
    labels[bel] = np.random.default_rng(5).choice(taxonomy.CLASSES, size=bel.size)  # garbage
    samples.save(ds.assign_coords(label=("sample", labels)), root / "garbage.zarr")
    out = {}
    for name in ("true", "garbage"):
        spec = experiment.parse_spec(_spec(str(root / f"{name}.zarr")))
        out[name] = (root / f"run-{name}", experiment.run(spec, root / f"run-{name}", progress=False))
    return out


def test_target_labels_never_reach_training_or_adaptation(two_runs) -> None:
    (dir_a, res_a), (dir_b, res_b) = two_runs["true"], two_runs["garbage"]
    cells = sorted(p.name for p in (dir_a / "cells").iterdir())
    assert "FRA__median2d__cropnet-lite__shift-max_days10-p0.5__s0" in cells  # inline augmentation label
    for cell in cells:
        a, b = (
            np.load(dir_a / "cells" / cell / "target_proba.npz"),
            np.load(dir_b / "cells" / cell / "target_proba.npz"),
        )
        assert sorted(a) == sorted(b)
        for key in a:  # identical predictions (plain and AdaBN) whatever the target's labels
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{cell} {key}")
        if "cropnet" in cell:
            assert (dir_a / "cells" / cell / "model").read_bytes() == (dir_b / "cells" / cell / "model").read_bytes()
        # the calibration before the prior's EM is fitted on the source validation split only
        cal = "calibration.json"
        assert (dir_a / "cells" / cell / cal).read_text() == (dir_b / "cells" / cell / cal).read_text()
    cols = ["best_epoch", "best_val_macro_f1"]
    torch_a = res_a[res_a["model"] == "cropnet-lite"][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(torch_a, res_b[res_b["model"] == "cropnet-lite"][cols].reset_index(drop=True))
    # the scores on BEL do change: the garbage labels did reach the evaluation
    bel = (res_a["target"] == "BEL") & (res_a["adaptation"] == "none")
    assert not np.allclose(res_a[bel]["macro_f1"].values, res_b[bel]["macro_f1"].values)


def test_adaptation_rows_and_ensembles(two_runs) -> None:
    run_dir, res = two_runs["true"]
    lite, rf = res[res["model"] == "cropnet-lite"], res[res["model"] == "rf"]
    assert set(lite["adaptation"]) == {"none", "adabn", "phenoshift", "prior", "selftrain", "align", "ensemble",
                                       "adabn+ensemble", "phenoshift+ensemble", "prior+ensemble",
                                       "selftrain+ensemble", "align+ensemble"}
    assert set(rf["adaptation"]) == {"none", "phenoshift", "prior", "selftrain", "align", "ensemble",
                                     "phenoshift+ensemble", "prior+ensemble", "selftrain+ensemble",
                                     "align+ensemble"}  # no BatchNorm in RF
    al = res[res["adaptation"] == "align"]
    assert al["align_start_days"].notna().all() and (al["align_start_days"].abs() <= 60).all()
    st = res[res["adaptation"] == "selftrain"]  # half of each predicted class of the target pseudo-labelled
    assert (st["selftrain_pseudo"] > 0).all() and st.loc[st["model"] == "rf", "selftrain_best_epochs"].isna().all()
    assert st.loc[st["model"] == "cropnet-lite", "selftrain_best_epochs"].eq("0").all()  # 1 epoch per round
    assert not any(p.name.startswith("selftrain") for p in (run_dir / "cells").glob("*/*"))  # scratch removed
    priors = res.loc[res["adaptation"] == "prior", "target_prior"].map(json.loads)
    assert all(len(p) == len(taxonomy.CLASSES) and sum(p) == pytest.approx(1, abs=1e-3) for p in priors)
    assert res.loc[res["adaptation"] == "phenoshift", "phenoshift_days"].notna().all()
    assert (res.loc[res["adaptation"] == "prior", "calibration_t"] > 0).all()
    assert res.loc[res["adaptation"] != "prior", "calibration_t"].isna().all()
    ens = res[res["seed"] == -1]
    assert set(ens["target"]) == {"BEL"}  # the in-region hold-out differs per seed: no ensemble there
    prepared = prepare_study(experiment.parse_spec(_spec(str(run_dir.parent / "true.zarr"))))
    truth = prepared.full["label"].values[prepared.countries == "BEL"].astype(str)
    for _, row in ens.iterrows():
        method = "none" if row["adaptation"] == "ensemble" else row["adaptation"].removesuffix("+ensemble")
        key = f"{row['source']}__{row['feature']}__{row['model']}__{row['augmentation']}"
        members = [np.load(run_dir / "cells" / f"{key}__s{s}" / "target_proba.npz")[f"BEL|{method}"] for s in (0, 1)]
        mean = (members[0].astype(np.float64) + members[1]) / 2
        if method == "prior":  # the prior is estimated once, on the mean of the calibrated unadapted members
            files = [run_dir / "cells" / f"{key}__s{s}" / "calibration.json" for s in (0, 1)]
            cals = [Calibration.from_dict(json.loads(f.read_text())) for f in files]
            plain = [cals[s].apply(np.load(run_dir / "cells" / f"{key}__s{s}" / "target_proba.npz")["BEL|none"])
                     for s in (0, 1)]
            mean = prior_shift((plain[0] + plain[1]) / 2)[0]
        scores = score_names(truth, np.asarray(taxonomy.CLASSES)[mean.argmax(1)])
        assert json.loads(row["confusion"]) == scores.confusion
        assert row["macro_f1"] == pytest.approx(scores.macro_f1)
    report = (run_dir / "report.md").read_text()
    assert "+adapt:adabn" in report and "+adapt:adabn+ensemble" in report


def test_adaptation_config_errors() -> None:
    spec = _spec("x.zarr")
    with pytest.raises(CropGlobeError, match="adaptation"):
        experiment.parse_spec({**spec, "adaptation": {"methods": ["tent"]}})
    with pytest.raises(CropGlobeError, match="adaptation"):
        experiment.parse_spec({**spec, "adaptation": {"ensemble": True, "bogus": 1}})
    assert experiment.parse_spec({k: v for k, v in spec.items() if k != "adaptation"}).adaptation is None


def test_posthoc_adaptation_of_a_finished_run_matches_the_run(two_runs, tmp_path) -> None:
    from typer.testing import CliRunner

    from cropglobe.cli import app

    run_dir, res = two_runs["true"]
    result = CliRunner().invoke(app, ["adapt", str(run_dir), "-m", "adabn", "-m", "phenoshift", "-m", "prior",
                                       "-m", "selftrain", "-m", "align", "--out", str(tmp_path / "post")])
    assert result.exit_code == 0, result.output
    assert "adapting FRA__median1d__rf__none__s1 (none, adabn, phenoshift, prior, selftrain, align)" in result.output
    post = pd.read_parquet(tmp_path / "post" / "adaptation.parquet")
    assert post.loc[post["adaptation"] == "none", "matches_run"].all()
    key = ["source", "target", "model", "seed", "adaptation"]
    both = post.merge(res, on=key, suffixes=("_post", "_run"))
    assert len(both) == len(res)  # every row of the run, AdaBN and ensembles included
    np.testing.assert_allclose(both["macro_f1_post"], both["macro_f1_run"])
    prior = both["adaptation"] == "prior"  # the same source-validation calibration as the run's
    np.testing.assert_allclose(both.loc[prior, "calibration_t_post"], both.loc[prior, "calibration_t_run"], rtol=1e-2)
    table = (tmp_path / "post" / "adaptation.md").read_text()
    assert "| median2d / cropnet-lite +aug:shift-max_days10-p0.5 |" in table and "best epochs" in table
    assert "SIMULATED DATA" in table
    assert sorted(p.name for p in (tmp_path / "post").iterdir()) == ["adaptation.md", "adaptation.parquet"]


def test_adapt_cell_for_map_matches_the_runners_adabn(two_runs, tmp_path) -> None:
    from typer.testing import CliRunner

    from cropglobe.cli import app
    from cropglobe.mapping.predict_table import predict_samples

    run_dir, _ = two_runs["true"]
    ds = samples.load(run_dir.parent / "true.zarr")
    bel = ds.isel(sample=np.flatnonzero(ds["country"].values == "BEL"))
    samples.save(bel, tmp_path / "bel.zarr")
    cell = run_dir / "cells" / "FRA__median2d__cropnet-lite__shift-max_days10-p0.5__s0"
    result = CliRunner().invoke(
        app, ["adapt-cell", str(cell), str(tmp_path / "bel.zarr"), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "c" / "adaptation.json").read_text())
    assert info["method"] == "adabn" and info["labels_used"] is False
    assert (tmp_path / "c" / "recipe.json").read_text() == (cell / "recipe.json").read_text()
    table = predict_samples(tmp_path / "c", bel).table.set_index("sample_id")
    prepared = prepare_study(experiment.parse_spec(_spec(str(run_dir.parent / "true.zarr"))))
    ids = prepared.full["sample_id"].values.astype(str)[prepared.countries == "BEL"]
    got = table.loc[ids, [f"prob_{c}" for c in taxonomy.CLASSES]].to_numpy()
    want = np.load(cell / "target_proba.npz")["BEL|adabn"]
    np.testing.assert_allclose(got, want, atol=1e-5)  # the map's adapted cell = the runner's AdaBN rows
    again = CliRunner().invoke(app, ["adapt-cell", str(cell), str(tmp_path / "bel.zarr"), "--out", str(tmp_path / "c")])
    assert again.exit_code != 0 and "refusing to replace it" in str(again.exception)
    rf = run_dir / "cells" / "FRA__median1d__rf__none__s0"
    bad = CliRunner().invoke(app, ["adapt-cell", str(rf), str(tmp_path / "bel.zarr"), "--out", str(tmp_path / "d")])
    assert bad.exit_code != 0 and "AdaBN needs a torch" in str(bad.exception)
    # self-training for the map: the same fine-tuned model as the runner's selftrain rows, torch and tabular
    for name in ("FRA__median2d__cropnet-lite__shift-max_days10-p0.5__s1", "FRA__median1d__rf__none__s0"):
        st = CliRunner().invoke(app, ["adapt-cell", str(run_dir / "cells" / name), str(tmp_path / "bel.zarr"),
                                      "-m", "selftrain", "--out", str(tmp_path / name)])
        assert st.exit_code == 0, st.output
        info = json.loads((tmp_path / name / "adaptation.json").read_text())
        assert info["method"] == "selftrain" and info["labels_used"] is False and info["n_samples"] == len(ids)
        table = predict_samples(tmp_path / name, bel).table.set_index("sample_id")
        got = table.loc[ids, [f"prob_{c}" for c in taxonomy.CLASSES]].to_numpy()
        want = np.load(run_dir / "cells" / name / "target_proba.npz")["BEL|selftrain"]
        np.testing.assert_allclose(got, want, atol=1e-5)
    moved = tmp_path / "lone" / "cell"
    shutil.copytree(cell, moved)
    lone = CliRunner().invoke(app, ["adapt-cell", str(moved), str(tmp_path / "bel.zarr"), "-m", "selftrain",
                                    "--out", str(tmp_path / "e")])
    assert lone.exit_code != 0 and "needs the cell's transfer run" in str(lone.exception)
    assert not (tmp_path / "e").exists()


def test_posthoc_adaptation_of_some_seeds(two_runs, tmp_path) -> None:
    from cropglobe.experiment.posthoc import adapt_run

    run_dir, res = two_runs["true"]
    post = adapt_run(run_dir, methods=["prior"], seeds=[1], out=tmp_path / "one")
    assert set(post["seed"]) == {1} and post.loc[post["adaptation"] == "none", "matches_run"].all()
    assert "ensemble" not in set(post["adaptation"])  # one seed: no ensemble
    with pytest.raises(CropGlobeError, match="seeds of the run"):
        adapt_run(run_dir, seeds=[7], out=tmp_path / "bad")
    rf = adapt_run(run_dir, methods=["selftrain"], cells=["median1d__rf__none"], out=tmp_path / "rf")
    assert set(rf["model"]) == {"rf"} and "selftrain+ensemble" in set(rf["adaptation"])
    with pytest.raises(CropGlobeError, match="expected cells of the run"):
        adapt_run(run_dir, cells=["median2d__rf__none"], out=tmp_path / "bad")


def test_predict_with_prior_uses_the_cells_calibration(two_runs, tmp_path) -> None:
    from cropglobe.mapping.cell import load_cells
    from cropglobe.mapping.predict_table import PredictOptions, predict_samples

    run_dir, _ = two_runs["true"]
    ds = samples.load(run_dir.parent / "true.zarr")
    bel = ds.isel(sample=np.flatnonzero(ds["country"].values == "BEL"))
    prepared = prepare_study(experiment.parse_spec(_spec(str(run_dir.parent / "true.zarr"))))
    ids = prepared.full["sample_id"].values.astype(str)[prepared.countries == "BEL"]
    cols = [f"prob_{c}" for c in taxonomy.CLASSES]
    for name in ("FRA__median2d__cropnet-lite__shift-max_days10-p0.5__s0", "FRA__median1d__rf__none__s0"):
        cell = run_dir / "cells" / name
        assert load_cells([cell]).calibration() is not None
        result = predict_samples(cell, bel, options=PredictOptions(adapt="prior"))
        got = result.table.set_index("sample_id").loc[ids, cols].to_numpy()
        # the same calibrated EM as the runner's prior rows (the calibration.json it wrote)
        np.testing.assert_allclose(got, np.load(cell / "target_proba.npz")["BEL|prior"], atol=1e-4)
        assert result.metrics is not None and result.metrics["calibration_t"] > 0
    ensemble = load_cells([cell]).model_copy(update={"members": (cell / "model",)})
    assert ensemble.calibration() is None  # an ensemble: EM on the raw mean probability
    (cell / "calibration.json").rename(tmp_path / "calibration.json")  # older cells: EM on the raw probabilities
    try:
        raw = predict_samples(cell, bel, options=PredictOptions(adapt="prior")).table.set_index("sample_id")
        raw = raw.loc[ids, cols].to_numpy()
        plain = np.load(cell / "target_proba.npz")["BEL|none"].astype(np.float64)
        np.testing.assert_allclose(raw, prior_shift(plain)[0], atol=1e-4)
    finally:
        (tmp_path / "calibration.json").rename(cell / "calibration.json")
