"""Regions and years as transfer units; studies that mix band sets, id ranges and processing levels.

Every data set here is SIMULATED (cropglobe simulator), generated in code.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cropglobe import experiment, samples
from cropglobe.errors import CropGlobeError
from cropglobe.experiment.data import prepare_study
from cropglobe.sources import simulate


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    """SIMULATED: France 2022 and France 2023 (same simulator seed: the same sample ids), and Belgium 2023
    without B8A, imported as three files, Belgium named as region 'flanders'."""
    root = tmp_path_factory.mktemp("regions")
    f22 = simulate.simulate(["FRA"], samples_per_class=5, year=2022, seed=1)
    f23 = simulate.simulate(["FRA"], samples_per_class=5, year=2023, seed=1)
    bel = samples.with_region(simulate.simulate(["BEL"], samples_per_class=5, year=2023, seed=2), "Flanders")
    bel = bel.sel(band=[b for b in bel["band"].values if b != "B8A"])
    bel.attrs["bands"] = [str(b) for b in bel["band"].values]
    samples.save(f22, root / "fra_2022.zarr")
    samples.save(f23, root / "fra_2023.zarr")
    samples.save(bel, root / "bel.zarr")
    return root


def _spec(root, **fields):
    raw = {"name": "regions", "data": {"path": [str(root / "fra_2022.zarr"), str(root / "fra_2023.zarr"),
                                                str(root / "bel.zarr")]},
           "composite": {"interval": 5, "window": "05-01:09-30", "align": "none"},
           "sources": ["FRA:2022"], "targets": ["FRA:2023"], "cells": [{"feature": "median1d", "model": "rf"}],
           "seeds": [0], "model_options": {"rf": {"n_estimators": 20}}}
    raw.update(fields)
    return experiment.parse_spec(raw)


def test_ids_are_namespaced_and_bands_harmonised(years):
    prep = prepare_study(_spec(years))
    ids = prep.full["sample_id"].values.astype(str)
    assert len(set(ids)) == len(ids)
    assert {i.split("/")[0] for i in ids} == {"fra_2022", "fra_2023", "bel"}
    assert "B8A" not in prep.full["band"].values and prep.full.sizes["band"] == 9
    assert "bands used: B2" in prep.description and "without B8A" in prep.description
    assert prep.targets == ["FRA:2023"] and prep.sources == [["FRA:2022"]]


def test_explicit_bands_and_no_common_band(years, tmp_path):
    prep = prepare_study(_spec(years, bands=["B4", "B8"]))
    assert list(prep.full["band"].values) == ["B4", "B8"]
    with pytest.raises(CropGlobeError, match=r"bands \['B8A'\] are not in .*bel.zarr"):
        prepare_study(_spec(years, bands=["B8A"]))
    only = samples.load(years / "bel.zarr")
    only = only.sel(band=["B2"])
    only.attrs["bands"] = ["B2"]
    other = samples.load(years / "fra_2022.zarr").sel(band=["B3"])
    other.attrs["bands"] = ["B3"]
    samples.save(only, tmp_path / "a.zarr")
    samples.save(other, tmp_path / "b.zarr")
    spec = _spec(years, data={"path": [str(tmp_path / "a.zarr"), str(tmp_path / "b.zarr")]}, sources=["BEL"],
                 targets=["FRA"])
    with pytest.raises(CropGlobeError, match="share no band"):
        prepare_study(spec)


def test_nine_ten_and_six_band_sets_with_mixed_processing_levels(years, tmp_path):
    six = ["B2", "B3", "B4", "B8", "B11", "B12"]
    l1c = samples.load(years / "bel.zarr").sel(band=six)  # a 6-band L1C set next to 10- and 9-band L2A sets
    l1c.attrs.update(processing_level="L1C", bands=six)
    samples.save(samples.with_region(l1c, "l1c-set"), tmp_path / "bel_l1c.zarr")
    spec = _spec(years, data={"path": [str(years / "fra_2022.zarr"), str(years / "bel.zarr"),
                                       str(tmp_path / "bel_l1c.zarr")]}, sources=["FRA"], targets=["l1c-set"])
    with pytest.warns(UserWarning, match="mix sensors / processing levels"):
        prep = prepare_study(spec)
    assert list(prep.full["band"].values) == six
    assert "processing levels:" in prep.description and "L1C" in prep.description
    assert "fra_2022.zarr without B5, B6, B7, B8A" in prep.description
    rows = experiment.run(spec, tmp_path / "run", progress=False)
    assert set(rows["target"]) == {"FRA", "l1c-set"}


def test_targets_all_by_country_and_year(years):
    prep = prepare_study(_spec(years, targets="all", group_by=["country", "year"]))
    assert prep.targets == ["BEL:2023", "FRA:2023"]
    prep = prepare_study(_spec(years, targets="all", group_by=["region"]))
    assert prep.targets == ["flanders"]  # FRA (no region: its country) overlaps the source FRA:2022


def test_transfer_across_years_runs_and_records_its_region(years, tmp_path):
    out = tmp_path / "run"
    results = experiment.run(_spec(years, targets=["FRA:2023", "flanders"]), out, progress=False)
    rows = results.set_index("target")
    assert set(rows.index) == {"FRA:2022", "FRA:2023", "flanders"}
    assert rows.loc["FRA:2023", "scenario"] == "cross-year"
    assert rows.loc["flanders", "scenario"] == "cross-country"
    assert rows.loc["FRA:2022", "scenario"] == "in-region"
    pooled = experiment.run(_spec(years, sources=["FRA:2022+flanders"], targets=["FRA:2023"]), tmp_path / "pool",
                            progress=False)
    assert pooled.set_index("target").loc["FRA:2023", "scenario"] == "cross-year"  # the closest member decides
    cell = out / "cells" / "FRA-2022__median1d__rf__none__s0"
    recipe = json.loads((cell / "recipe.json").read_text())
    assert recipe["trained_on"] == ["FRA:2022"] and (out / "splits" / "FRA-2022_seed0.json").exists()


def test_classes_absent_from_the_source_are_scored_as_other(years, tmp_path):
    f22 = samples.load(years / "fra_2022.zarr")
    no_corn = f22.isel(sample=np.flatnonzero(f22["label"].values != "corn"))
    samples.save(no_corn, tmp_path / "no_corn.zarr")
    base = {"data": {"path": [str(tmp_path / "no_corn.zarr"), str(years / "fra_2023.zarr")]}}
    keep = experiment.run(_spec(years, **base), tmp_path / "keep", progress=False)
    other = experiment.run(_spec(years, absent_classes="other", **base), tmp_path / "other", progress=False)
    row = other[other["target"] == "FRA:2023"].iloc[0]
    assert "corn" not in row["classes"].split(",")
    assert "corn" in keep[keep["target"] == "FRA:2023"].iloc[0]["classes"].split(",")


def test_region_name_is_checked():
    ds = simulate.simulate(["FRA"], samples_per_class=2, seed=0)
    with pytest.raises(CropGlobeError, match="without ':'"):
        samples.with_region(ds, "a:b")
    assert set(samples.with_region(ds, " SW-France ")["region"].values) == {"sw-france"}


def test_colliding_ids_from_files_of_one_name_are_one_clear_error(years, tmp_path):
    from cropglobe.experiment import harmonise

    a = samples.load(years / "fra_2022.zarr")
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    with pytest.raises(CropGlobeError, match="cannot tell them apart"):
        harmonise.namespace_ids([a, a.copy()], [str(tmp_path / "x" / "s.zarr"), str(tmp_path / "y" / "s.zarr")])
    kept = harmonise.namespace_ids([a], [str(years / "fra_2022.zarr")])  # one path: ids untouched
    assert kept[0]["sample_id"].values.tolist() == a["sample_id"].values.tolist()


@pytest.mark.parametrize(("preset", "methods"), [("season-wide", ["none"]), ("season-wide-open", ["none"]),
                                                 ("season-wide", ["none", "selftrain"])])
def test_season_wide_training_reads_no_target_label(years, tmp_path, preset, methods):
    """The configurations of the season-shift study (TempCNN + season-wide augmentation, alone, with
    open-set placeholders, and self-trained on the unlabelled target): garbage target labels give
    bit-identical models and target probabilities."""
    f23 = samples.load(years / "fra_2023.zarr")
    junk = f23.assign_coords(label=("sample", np.random.default_rng(3).permutation(f23["label"].values)))
    samples.save(junk, tmp_path / "fra_2023.zarr")
    cells = [{"feature": "median2d", "model": "tempcnn", "augmentation": preset}]
    common = {"cells": cells, "train": {"epochs": 2, "batch_size": 16, "lr": 0.001},
              "adaptation": {"methods": methods, "ensemble": True,
                             "selftrain": {"portions": [0.5], "epochs": 1}}}
    true = _spec(years, **common)
    garbage = _spec(years, data={"path": [str(years / "fra_2022.zarr"), str(tmp_path / "fra_2023.zarr"),
                                          str(years / "bel.zarr")]}, **common)
    experiment.run(true, tmp_path / "a", progress=False)
    experiment.run(garbage, tmp_path / "b", progress=False)
    cell = f"cells/FRA-2022__median2d__tempcnn__{preset}__s0"
    assert (tmp_path / "a" / cell / "model").read_bytes() == (tmp_path / "b" / cell / "model").read_bytes()
    a, b = np.load(tmp_path / "a" / cell / "target_proba.npz"), np.load(tmp_path / "b" / cell / "target_proba.npz")
    assert sorted(a) == sorted(b) and {f"FRA:2023|{m}" for m in methods} <= set(a)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
