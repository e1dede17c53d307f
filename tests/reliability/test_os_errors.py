"""OS and file errors: one line naming what, where and what to do, exit 2, no temporary leftovers."""

from __future__ import annotations

import errno
import json
import shutil

import pytest
import xarray as xr

from cropglobe.cli import main
from cropglobe.errors import CropGlobeError


def _main(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    return exc.value.code, capsys.readouterr().err


def _failing_to_zarr(code: int, reason: str):
    def to_zarr(self, store, *args, **kwargs):
        (store / "reflectance").mkdir(parents=True)  # a partial store, as a full disk leaves it
        (store / "reflectance" / "0.0.0").write_bytes(b"\0" * 10)
        raise OSError(code, reason, str(store / "reflectance" / "0.0.1"))
    return to_zarr


@pytest.mark.parametrize("code, reason, hint", [
    (errno.ENOSPC, "No space left on device", "free disk space"),
    (errno.EROFS, "Read-only file system", "choose a writable --out"),
])
def test_write_failures_are_one_line_and_leave_nothing(tmp_path, capsys, monkeypatch, code, reason, hint):
    monkeypatch.setattr(xr.Dataset, "to_zarr", _failing_to_zarr(code, reason))
    out = tmp_path / "sim.zarr"
    rc, err = _main(capsys, "simulate", "--out", str(out), "-n", "2", "-c", "FRA")
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert reason in err and hint in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no .tmp folder left behind


def test_failed_replacement_keeps_the_previous_store(tmp_path, capsys, monkeypatch):
    out = tmp_path / "sim.zarr"
    assert _main(capsys, "simulate", "--out", str(out), "-n", "2", "-c", "FRA")[0] == 0
    before = sorted(p.name for p in out.rglob("*"))
    monkeypatch.setattr(xr.Dataset, "to_zarr", _failing_to_zarr(errno.ENOSPC, "No space left on device"))
    assert _main(capsys, "simulate", "--out", str(out), "-n", "2", "-c", "FRA")[0] == 2
    assert sorted(p.name for p in out.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["sim.zarr"]


def test_recipe_options_that_do_not_fit_the_feature_are_one_error(tmp_path):
    from tests.mapping.conftest import train_cell

    from cropglobe.mapping import MapOptions, make_map, simulated_cube, write_cube

    cell = train_cell(tmp_path / "cell")
    broken = tmp_path / "broken"
    shutil.copytree(cell, broken)
    recipe = json.loads((broken / "recipe.json").read_text())
    recipe["feature_options"] = {"n_harmonics": 5}
    (broken / "recipe.json").write_text(json.dumps(recipe))
    cube = write_cube(simulated_cube("FRA", (2, 2), 8, seed=3)[0], tmp_path / "cube.zarr")
    with pytest.raises(CropGlobeError, match=r"feature_options \{'n_harmonics': 5\} do not fit feature 'harmonic'"):
        make_map(broken, cube, tmp_path / "map.tif", MapOptions(scheduler="synchronous"))
    assert not (tmp_path / "map.tif").exists()
