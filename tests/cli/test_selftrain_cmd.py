"""``cropglobe predict / map --adapt selftrain`` (mirrors src/cropglobe/cli/_selftrain.py); SIMULATED data.

One-step self-training (CBST) of a cell and its ensemble members on the target's unlabelled
inputs, then the prediction or the map with the adapted cells: the target's labels never reach
training (garbage labels give bit-identical probabilities), the result is the two-step path's
(``study adapt-cell -m selftrain`` then ``predict``), the map records what was done in its
``ADAPTATION`` tag, and a cell outside its run is refused before anything is written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import rasterio
from tests.samplecube import samples_cube
from typer.testing import CliRunner

from cropglobe import experiment, samples, taxonomy
from cropglobe.cli import app
from cropglobe.sources import simulate

SIM = {"countries": ["FRA", "BEL"], "samples_per_class": 12, "seed": 4}
SPEC = {
    "name": "tiny-selftrain",
    "data": {"simulate": SIM},
    "sources": ["FRA"],
    "targets": ["BEL"],
    "cells": [{"feature": "median2d", "model": "cropnet-lite"}],
    "seeds": [0, 1],
    "train": {"epochs": 20, "batch_size": 16, "lr": 0.003},
    "adaptation": {"methods": ["none"], "selftrain": {"portions": [0.5], "epochs": 1}},
}
CELLS = ["FRA__median2d__cropnet-lite__none__s0", "FRA__median2d__cropnet-lite__none__s1"]
PROBS = [f"prob_{c}" for c in taxonomy.CLASSES]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "r"
    experiment.run(experiment.parse_spec(SPEC), run_dir, progress=False)
    return run_dir


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """BEL's observation-level samples with their true labels and with garbage labels: two Zarr stores."""
    bel = samples.select(simulate.simulate(**SIM), country="BEL")
    root = tmp_path_factory.mktemp("target")
    samples.save(bel, root / "bel.zarr")
    labels = np.random.default_rng(5).choice(taxonomy.CLASSES, size=bel.sizes["sample"])
    samples.save(bel.assign_coords(label=("sample", labels)), root / "garbage.zarr")
    return bel, root / "bel.zarr", root / "garbage.zarr"


@pytest.fixture(scope="module")
def cube(target, tmp_path_factory):
    """A SIMULATED float32 cube whose pixels are BEL's samples, row-major (:mod:`tests.samplecube`)."""
    bel = target[0]
    store, shape = samples_cube(bel, tmp_path_factory.mktemp("cube") / "cube.zarr")
    return store, shape, int(bel["year"].values[0])


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _probs(path) -> np.ndarray:
    return pd.read_parquet(path).set_index("sample_id").sort_index()[PROBS].to_numpy()


@pytest.fixture(scope="module")
def one_step(run_dir, target, tmp_path_factory):
    """``predict --adapt selftrain`` of the 2-seed ensemble on the true-label and the garbage-label stores."""
    out = tmp_path_factory.mktemp("one")
    cell, member = (run_dir / "cells" / c for c in CELLS)
    logs = {name: _invoke("predict", cell, store, "--member", member, "--adapt", "selftrain", "--out",
                          out / f"{name}.parquet")
            for name, store in (("true", target[1]), ("garbage", target[2]))}
    return out, logs


def test_predict_selftrain_reads_no_target_label(one_step) -> None:
    out, logs = one_step
    true, garbage = _probs(out / "true.parquet"), _probs(out / "garbage.parquet")
    np.testing.assert_array_equal(true, garbage)  # bit-identical: the labels never reached training
    metrics = [json.loads((out / f"{n}.metrics.json").read_text()) for n in ("true", "garbage")]
    a, b = (m["adaptation"] for m in metrics)
    assert a["method"] == "selftrain" and "1810.07911" in a["source"] and a["labels_used"] is False
    assert a["seeds"] == [0, 1] and [p.split("/")[-1] for p in a["cells"]] == CELLS
    assert a["pseudo_labels"] == b["pseudo_labels"] and a["samples"] == b["samples"] > 0
    assert a["settings"] == {"portions": [0.5], "epochs": 1, "lr_factor": 0.3}
    assert metrics[0]["targets"]["BEL"]["macro_f1"] != metrics[1]["targets"]["BEL"]["macro_f1"]  # scored after
    assert "self-trained 2 cell(s) (seeds 0, 1)" in logs["true"] and "target labels not used" in logs["true"]


def test_predict_selftrain_is_the_two_step_path(one_step, run_dir, target, tmp_path) -> None:
    out, _ = one_step
    adapted = []
    for name in CELLS:  # study adapt-cell -m selftrain, each seed, then predict with the adapted ensemble
        _invoke("study", "adapt-cell", run_dir / "cells" / name, target[1], "-m", "selftrain", "--out",
                tmp_path / name)
        adapted.append(tmp_path / name)
    _invoke("predict", adapted[0], target[1], "--member", adapted[1], "--out", tmp_path / "two.parquet")
    np.testing.assert_array_equal(_probs(tmp_path / "two.parquet"), _probs(out / "true.parquet"))
    plain = tmp_path / "plain.parquet"
    _invoke("predict", run_dir / "cells" / CELLS[0], target[1], "--member", run_dir / "cells" / CELLS[1],
            "--out", plain)
    assert not np.array_equal(_probs(plain), _probs(out / "true.parquet"))  # self-training changed the models


def test_map_selftrain_maps_with_the_adapted_cells_and_tags_it(one_step, run_dir, cube, tmp_path) -> None:
    store, (h, w), year = cube
    cell, member = (run_dir / "cells" / c for c in CELLS)
    log = _invoke("map", cell, store, "--member", member, "--adapt", "selftrain", "--out", tmp_path / "map.tif",
                  "--country", "BEL", "--year", year, "--scheduler", "synchronous", "--quiet")
    with rasterio.open(tmp_path / "map.tif") as src:
        classes, tags = src.read(1), src.tags()
    with rasterio.open(tmp_path / "map_confidence.tif") as src:
        confidence = src.read(1)
    record = json.loads(tags["ADAPTATION"])
    assert tags["ADAPT"] == "selftrain" and record["method"] == "selftrain" and record["labels_used"] is False
    assert "1810.07911" in record["source"] and record["seeds"] == [0, 1]
    assert record["pixels"] == record["pixels_sampled"] == h * w and len(record["pseudo_labels"]) == 2
    assert [p.split("/")[-1] for p in record["cells"]] == CELLS
    assert json.loads(tags["ENSEMBLE"]) == [str(cell / "model"), str(member / "model")]  # not the scratch copies
    assert "ADAPTATION tag:" in log and "self-trained 2 cell(s)" in log
    # the cube's pixels are the samples (row-major): the adapted ensemble of predict --adapt selftrain
    proba = pd.read_parquet(one_step[0] / "true.parquet")[PROBS].to_numpy()
    np.testing.assert_array_equal(classes.ravel(), proba.argmax(1))
    np.testing.assert_allclose(confidence.ravel(), proba.max(1), rtol=1e-6)
    plain = tmp_path / "plain.tif"
    _invoke("map", cell, store, "--member", member, "--out", plain, "--country", "BEL", "--year", year,
            "--scheduler", "synchronous", "--quiet")
    with rasterio.open(plain.with_name("plain_confidence.tif")) as src:
        assert not np.array_equal(src.read(1), confidence)


def test_map_selftrain_fast_distils_the_adapted_cells(run_dir, cube, tmp_path) -> None:
    store, _, year = cube
    cell, member = (run_dir / "cells" / c for c in CELLS)
    log = _invoke("map", cell, store, "--member", member, "--adapt", "selftrain", "--fast", "--agree", "1.0",
                  "--source-pixels", "--out", tmp_path / "fast.tif", "--country", "BEL", "--year", year,
                  "--scheduler", "synchronous", "--quiet")
    with rasterio.open(tmp_path / "fast.tif") as src:
        tags = src.tags()
    teacher, record = json.loads(tags["TEACHER"]), json.loads(tags["ADAPTATION"])
    assert teacher["cells"] == [str(cell), str(member)] and teacher["seeds"] == [0, 1]  # the cells adapted from
    assert record["cells"] == [str(cell), str(member)] and record["labels_used"] is False
    assert tags["ADAPT"] == "selftrain" and "distilled a tempcnn student from 2 teacher cell(s)" in log
    # --agree: the margin is chosen against the self-trained teacher, which then backs the student
    assert teacher["cascade"]["agreement_wanted"] == 1.0 and teacher.get("defer_margin", 0.0) == \
        teacher["cascade"]["margin"]
    assert "chosen for agreement 1.0" in " ".join(log.split())
    # --source-pixels: the original cell's run gives its FRA samples to the distillation of the adapted teacher
    assert teacher["source_pixels"] == samples.select(simulate.simulate(**SIM), country="FRA").sizes["sample"]


def test_map_fast_source_pixels_distils_on_the_runs_source_samples_too(run_dir, cube, tmp_path) -> None:
    from cropglobe.cells.cell import load_recipe
    from cropglobe.experiment.adapt_cell import source_series
    from cropglobe.mapping import student as students

    store, shape, year = cube
    cell, member = (run_dir / "cells" / c for c in CELLS)
    log = _invoke("map", cell, store, "--member", member, "--fast", "--source-pixels", "--out", tmp_path / "src.tif",
                  "--country", "BEL", "--year", year, "--scheduler", "synchronous", "--quiet")
    with rasterio.open(tmp_path / "src.tif") as src:
        teacher = json.loads(src.tags()["TEACHER"])
    source = source_series(cell, load_recipe(cell).bands)  # the run's FRA samples, as the study composited them
    fra = samples.select(simulate.simulate(**SIM), country="FRA").sizes["sample"]
    assert source.shape[0] == fra and np.isfinite(source).all()
    # both fit under max_pixels: every source sample and every sampled pixel of the region is distilled on
    assert teacher["source_pixels"] == fra and 0 < teacher["pixels"] <= shape[0] * shape[1]
    per_pixel = 1 + students.PRESETS["tempcnn"].views + students.PRESETS["tempcnn"].mixup
    assert teacher["inputs"] == per_pixel * (fra + teacher["pixels"])
    assert f"and {fra:,} of the teacher's source samples" in " ".join(log.split())


def test_source_pixels_name_the_runs_missing_data_before_anything_is_written(run_dir, cube, tmp_path) -> None:
    import yaml

    moved = shutil.copytree(run_dir, tmp_path / "run")  # a run whose data file is not where its config says
    config = yaml.safe_load((moved / "config.yaml").read_text(encoding="utf-8"))
    config["data"] = {**config["data"], "path": ["nowhere/fra_bel.zarr"], "simulate": None}
    (moved / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    done = _cli("map", moved / "cells" / CELLS[0], cube[0], "--fast", "--source-pixels", "--out", tmp_path / "m.tif")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--source-pixels reads the data of the cell's transfer run; nowhere/fra_bel.zarr not found" in \
        " ".join(done.stderr.split())
    assert not list(tmp_path.glob("m*"))


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from cropglobe.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, check=False)


def test_a_cell_outside_its_run_is_refused_before_anything_is_written(run_dir, target, cube, tmp_path) -> None:
    lone = tmp_path / "lone" / "cell"
    shutil.copytree(run_dir / "cells" / CELLS[0], lone)
    store = cube[0]
    out = tmp_path / "out"
    out.mkdir()
    for args in (["predict", lone, target[1], "--adapt", "selftrain", "--out", out / "p.parquet"],
                 ["map", lone, store, "--adapt", "selftrain", "--out", out / "m.tif"],
                 ["map", run_dir / "cells" / CELLS[0], store, "--member", lone, "--adapt", "selftrain",
                  "--out", out / "m.tif"],
                 ["map", lone, store, "--fast", "--source-pixels", "--out", out / "m.tif"]):
        done = _cli(*args)
        assert done.returncode == 2, done.stderr
        assert "needs the cell's transfer run" in done.stderr and "Traceback" not in done.stderr
    assert list(out.iterdir()) == []
    mine = tmp_path / "mine.parquet"  # a user's own file at --out: refused, kept
    mine.write_bytes(b"not a predictions file")
    done = _cli("predict", run_dir / "cells" / CELLS[0], target[1], "--adapt", "selftrain", "--out", mine)
    assert done.returncode == 2 and "refusing" in done.stderr and mine.read_bytes() == b"not a predictions file"
    done = _cli("map", run_dir / "cells" / CELLS[0], "--adapt", "selftrain", "--bbox", "4,50,4.1,50.1", "--start",
                "2021-01-01", "--end", "2021-12-31", "--out", out / "m.tif")
    assert done.returncode == 2 and "give an input cube" in done.stderr
    done = _cli("predict", run_dir / "cells" / CELLS[0], target[1], "--adapt", "selftrain", "--remaps",
                tmp_path / "nope.yaml", "--out", out / "p.parquet")  # refused before the training
    assert done.returncode == 2 and "cannot read remaps" in done.stderr
    done = _cli("map", run_dir / "cells" / CELLS[0], store, "--source-pixels", "--out", out / "m.tif")
    assert done.returncode == 2 and "expected --fast with --source-pixels" in done.stderr
    assert list(out.iterdir()) == []
