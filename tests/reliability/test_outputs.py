"""--out never deletes a user's data: only previous outputs of the same kind are replaced, after success."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cropglobe import atomic, samples
from cropglobe.cli import app
from cropglobe.errors import CropGlobeError

runner = CliRunner()


def _user_folder(path):
    path.mkdir()
    (path / "thesis.txt").write_text("four years of work")
    return path


def test_simulate_refuses_a_user_folder_and_keeps_it(tmp_path):
    mine = _user_folder(tmp_path / "mydata")
    result = runner.invoke(app, ["simulate", "--out", str(mine), "-n", "2", "-c", "FRA"])
    assert result.exit_code != 0
    assert isinstance(result.exception, CropGlobeError) and "--overwrite" in str(result.exception)
    assert (mine / "thesis.txt").read_text() == "four years of work"


def test_simulate_replaces_its_own_previous_output_and_overwrite_replaces_anything(tmp_path):
    out = tmp_path / "sim.zarr"
    for seed in ("0", "1"):  # the second run replaces a previous SampleSet without --overwrite
        result = runner.invoke(app, ["simulate", "--out", str(out), "-n", "2", "-c", "FRA", "--seed", seed])
        assert result.exit_code == 0, result.output
    mine = _user_folder(tmp_path / "mine")
    result = runner.invoke(app, ["simulate", "--out", str(mine), "-n", "2", "-c", "FRA", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not (mine / "thesis.txt").exists() and samples.load(mine).sizes["sample"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "sim.zarr"]  # no temporary leftovers


def test_out_on_an_existing_file_is_refused(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    result = runner.invoke(app, ["simulate", "--out", str(notes), "-n", "2", "-c", "FRA"])
    assert isinstance(result.exception, CropGlobeError) and "is a file" in str(result.exception)
    assert notes.read_text() == "keep me"


def test_composite_and_import_refuse_a_user_folder_before_reading(tmp_path, tiny_observations):
    src = samples.save(tiny_observations, tmp_path / "obs.zarr")
    mine = _user_folder(tmp_path / "mine")
    comp = runner.invoke(app, ["composite", str(src), "--out", str(mine)])
    assert isinstance(comp.exception, CropGlobeError), comp.output
    mapping = tmp_path / "m.yaml"
    mapping.write_text("{}")
    imp = runner.invoke(app, ["import", "table", str(tmp_path / "t.csv"), "-m", str(mapping), "--out", str(mine)])
    assert isinstance(imp.exception, CropGlobeError) and "not a previous" in str(imp.exception)
    assert (mine / "thesis.txt").exists()


def test_map_refuses_a_folder_named_like_the_map(tmp_path):
    folder = _user_folder(tmp_path / "dir.tif")
    result = runner.invoke(app, ["map", str(tmp_path / "cell"), str(tmp_path / "cube.zarr"), "--out", str(folder)])
    assert isinstance(result.exception, CropGlobeError) and "not a previous cropglobe map" in str(result.exception)
    assert (folder / "thesis.txt").exists()


def test_atomic_path_keeps_the_previous_output_when_writing_fails(tmp_path):
    store = tmp_path / "store"
    with atomic.atomic_path(store) as tmp:
        tmp.mkdir()
        (tmp / "old").write_text("1")
    with pytest.raises(OSError), atomic.atomic_path(store) as tmp:
        tmp.mkdir()
        raise OSError(28, "No space left on device")
    assert [p.name for p in store.iterdir()] == ["old"]
    assert [p.name for p in tmp_path.iterdir()] == ["store"]


def test_demo_refuses_a_user_folder(tmp_path):
    mine = _user_folder(tmp_path / "mine")
    result = runner.invoke(app, ["demo", "--out", str(mine), "-n", "2"])
    assert isinstance(result.exception, CropGlobeError) and "demo folder" in str(result.exception)
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.txt"]


def test_demo_keeps_the_previous_run_when_the_new_run_fails(tmp_path, monkeypatch):
    from cropglobe import experiment
    from cropglobe.cli.demo import DEMO_MARKER

    out = tmp_path / "demo"
    (out / "run").mkdir(parents=True)
    (out / DEMO_MARKER).write_text("")
    (out / "run" / "report.md").write_text("the previous run")

    def failing_run(spec, run_dir, **kwargs):
        run_dir.mkdir()
        (run_dir / "config.yaml").write_text("partial")
        raise RuntimeError("training failed")

    monkeypatch.setattr(experiment, "run", failing_run)
    result = runner.invoke(app, ["demo", "--out", str(out), "-n", "2", "--config", "tiny"])
    assert isinstance(result.exception, RuntimeError), result.output
    assert (out / "run" / "report.md").read_text() == "the previous run"
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]


def test_demo_reads_its_config_before_simulating(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncells: 3\n")
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--config", str(bad)])
    assert isinstance(result.exception, CropGlobeError) and "bad.yaml" in str(result.exception)
    assert not out.exists()


def test_demo_folder_of_an_earlier_version_is_recognised(tmp_path, tiny_observations):
    from cropglobe.cli.demo import is_demo_folder

    old = tmp_path / "demo-output"
    samples.save(tiny_observations, old / "observations.zarr")
    (old / "run").mkdir()
    assert is_demo_folder(old)
    (old / "thesis.txt").write_text("x")
    assert not is_demo_folder(old)


def test_map_refuses_a_user_geotiff_unless_overwrite(tmp_path):
    mine = tmp_path / "photo.tif"
    mine.write_bytes(b"II*\0 not a cropglobe map")
    result = runner.invoke(app, ["map", str(tmp_path / "cell"), str(tmp_path / "cube.zarr"), "--out", str(mine)])
    assert isinstance(result.exception, CropGlobeError) and "is a file that is not a previous cropglobe map" in str(
        result.exception
    )
    forced = runner.invoke(app, ["map", str(tmp_path / "cell"), str(tmp_path / "cube.zarr"), "--out", str(mine),
                                 "--overwrite"])
    assert "not a previous" not in str(forced.exception)  # past the check (then: no such model)
    assert mine.read_bytes().startswith(b"II*\0 not")
