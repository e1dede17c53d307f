"""``cropglobe map --member`` (seed ensembles) and ``--adapt prior`` on a SIMULATED cube."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import rasterio

from cropglobe import taxonomy
from cropglobe.mapping import MapOptions, make_map

from .conftest import CLOUDY, train_cell

#: 16-pixel tiles, no Dask threads.
SYNC = MapOptions(tile=16, scheduler="synchronous")


@pytest.fixture(scope="module")
def second_cell(tmp_path_factory):
    """The same cell trained on another simulated draw (a second 'seed')."""
    return train_cell(tmp_path_factory.mktemp("cell2") / "FRA__harmonic__lightgbm__none__s1", seed=12)


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.tags()


def test_a_cell_as_its_own_member_gives_the_same_map(cell, cube_store, tmp_path):
    single = make_map(cell, cube_store, tmp_path / "a.tif", SYNC)
    doubled = make_map(cell, cube_store, tmp_path / "b.tif", replace(SYNC, members=(str(cell),)))
    for kind in ("classes", "confidence"):
        a, _ = _read(single.paths[kind])
        b, tags = _read(doubled.paths[kind])
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert "ENSEMBLE" in tags and doubled.target_prior is None


def test_ensemble_confidence_is_the_mean_probability(cell, second_cell, cube_store, tmp_path):
    ens = make_map(cell, cube_store, tmp_path / "e.tif", replace(SYNC, members=(str(second_cell),)))
    one = make_map(cell, cube_store, tmp_path / "o.tif", SYNC)
    two = make_map(second_cell, cube_store, tmp_path / "t.tif", SYNC)
    conf_e, conf_1, conf_2 = (_read(r.paths["confidence"])[0] for r in (ens, one, two))
    clear = np.isfinite(conf_e)
    # the mean of two distributions has a top probability between the mean of the tops' minimum and maximum
    assert (conf_e[clear] <= np.maximum(conf_1, conf_2)[clear] + 1e-5).all()
    assert not np.allclose(conf_e[clear], conf_1[clear])


def test_prior_adaptation_estimates_the_regions_class_shares(cell, cube_store, sim_cube, tmp_path):
    _, truth = sim_cube
    plain = make_map(cell, cube_store, tmp_path / "p.tif", SYNC)
    adapted = make_map(cell, cube_store, tmp_path / "a.tif", replace(SYNC, adapt="prior"))
    clear = np.ones_like(truth, dtype=bool)
    clear[CLOUDY] = False
    shares = {c: float((truth[clear] == k).mean()) for k, c in enumerate(taxonomy.CLASSES)}
    prior = adapted.target_prior
    assert prior is not None and sum(prior.values()) == pytest.approx(1, abs=1e-3)
    for c in taxonomy.CLASSES:  # EM on the model's probabilities recovers the simulated region's class mix
        assert prior[c] == pytest.approx(shares[c], abs=0.08), c
    got, tags = _read(adapted.paths["classes"])
    assert tags["ADAPT"] == "prior" and json.loads(tags["TARGET_PRIOR"]) == prior
    base, _ = _read(plain.paths["classes"])
    assert (got[clear] == truth[clear]).mean() >= (base[clear] == truth[clear]).mean() - 0.02
    # a sample of tiles: every 3rd of the 4 tiles (2 of them) when prior_pixels is 300 of 1,024
    sampled = make_map(cell, cube_store, tmp_path / "s.tif", replace(SYNC, adapt="prior", prior_pixels=300))
    assert sum(sampled.target_prior.values()) == pytest.approx(1, abs=1e-3) and sampled.target_prior != prior
    everything = make_map(cell, cube_store, tmp_path / "w.tif", replace(SYNC, adapt="prior", prior_pixels=1024))
    assert everything.target_prior == prior


def test_bad_adapt_and_member_fail_before_writing(cell, cube_store, tmp_path):
    run = [sys.executable, "-c", "from cropglobe.cli import main; main()", "map", str(cell), str(cube_store),
           "--out", str(tmp_path / "m.tif")]
    bad = subprocess.run([*run, "--adapt", "tent"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "'tent' is not one of 'none', 'prior', 'align', 'selftrain'" in bad.stderr
    missing = subprocess.run([*run, "--member", str(tmp_path / "nope")], capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "nope" in missing.stderr
    assert not list(tmp_path.glob("m*"))


def test_align_adaptation_records_the_offset_and_keeps_an_aligned_map(cube_store, sim_cube, tmp_path):
    """The simulated cube is on the cell's own calendar: align keeps (about) the same map, and says so."""
    _, truth = sim_cube
    median = train_cell(tmp_path / "FRA__median1d__lightgbm__none__s0", feature="median1d")
    plain = make_map(median, cube_store, tmp_path / "p.tif", SYNC)
    aligned = make_map(median, cube_store, tmp_path / "a.tif", replace(SYNC, adapt="align"))
    got, tags = _read(aligned.paths["classes"])
    base, _ = _read(plain.paths["classes"])
    found = json.loads(tags["ALIGNMENT"])
    assert tags["ADAPT"] == "align" and abs(found["align_start_days"]) <= 20 and abs(found["align_end_days"]) <= 20
    clear = np.ones_like(truth, dtype=bool)
    clear[CLOUDY] = False
    assert (got[clear] == truth[clear]).mean() >= (base[clear] == truth[clear]).mean() - 0.05
    assert (got[~clear] == 255).all()


def test_align_needs_median_features(cell, cube_store, tmp_path):
    from cropglobe.errors import CropGlobeError

    with pytest.raises(CropGlobeError, match="align moves the season window"):
        make_map(cell, cube_store, tmp_path / "x.tif", replace(SYNC, adapt="align"))
    assert not (tmp_path / "x.tif").exists()
