"""Tests of ``cropglobe composite`` (mirrors src/cropglobe/cli/composite.py)."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from cropglobe import samples
from cropglobe.cli import app
from cropglobe.sources import simulate


def test_simulate_then_composite(tmp_path):
    sim = tmp_path / "sim.zarr"
    samples.save(simulate.simulate(countries=["FRA", "AUS"], samples_per_class=2, seed=0), sim)
    out = tmp_path / "comp.zarr"
    res = CliRunner().invoke(app, ["composite", str(sim), "--out", str(out), "--align", "hemisphere"])
    assert res.exit_code == 0, res.output
    assert "73 bins of 5 days" in res.output and "(43 bins)" in res.output and "dropped 0 samples" in res.output
    assert "SIMULATED" in res.output
    ds = samples.load(out)
    assert ds.sizes["time"] == 73 and ds.attrs["time_kind"] == "composite"


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    sim = tmp_path / "sim.zarr"
    samples.save(simulate.simulate(countries=["FRA"], samples_per_class=1, seed=0), sim)
    out = tmp_path / "bad.zarr"
    proc = subprocess.run([sys.executable, "-c", "from cropglobe.cli import main; main()", "composite", str(sim),
                           "--out", str(out), "--interval", "0"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "interval=0: expected a whole number of days" in proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".bad.zarr*"))


def test_align_days_and_offsets(tmp_path):
    sim = tmp_path / "sim.zarr"
    samples.save(simulate.simulate(countries=["FRA", "AUS"], samples_per_class=1, seed=0), sim)
    offsets = tmp_path / "offsets.yaml"
    offsets.write_text("AUS: 180\n")
    out = tmp_path / "c.zarr"
    res = CliRunner().invoke(app, ["composite", str(sim), "--out", str(out), "--align", "none",
                                   "--offsets", str(offsets), "--interval", "10"])
    assert res.exit_code == 0, res.output
    assert "37 bins of 10 days" in res.output and "AUS +180 days" in res.output
    ds = samples.load(out)
    assert sorted(set(ds["shift_days"].values.tolist())) == [0, 180]


def test_coverage_fill_and_fill_days(tmp_path):
    """SIMULATED: observations that stop 20 days before the window's end are dropped, or filled with --coverage fill."""
    import numpy as np

    ds = simulate.simulate(countries=["FRA"], samples_per_class=1, seed=0)
    ds = ds.isel(time=np.flatnonzero(ds["time"].values <= np.datetime64("2023-11-10")))
    sim = tmp_path / "sim.zarr"
    samples.save(ds, sim)
    n = ds.sizes["sample"]
    res = CliRunner().invoke(app, ["composite", str(sim), "--out", str(tmp_path / "d.zarr")])
    assert res.exit_code != 0  # every sample stops short of the window: nothing to drop to
    res = CliRunner().invoke(app, ["composite", str(sim), "--out", str(tmp_path / "f.zarr"), "--coverage", "fill"])
    assert res.exit_code == 0, res.output
    assert f"filled the window edges (at most 30 days) of {n} samples (FRA {n})" in res.output
    assert samples.load(tmp_path / "f.zarr").attrs["composite_settings"]["fill_days"] == 30
    res = CliRunner().invoke(app, ["composite", str(sim), "--out", str(tmp_path / "g.zarr"), "--coverage", "fill",
                                   "--fill-days", "10"])
    assert res.exit_code != 0 and not (tmp_path / "g.zarr").exists()
    proc = subprocess.run([sys.executable, "-c", "from cropglobe.cli import main; main()", "composite", str(sim),
                           "--out", str(tmp_path / "h.zarr"), "--coverage", "hold"], capture_output=True, text=True)
    # a typed choice (issue 27): typer's usage error names the values
    assert proc.returncode == 2 and "'hold' is not one of 'drop', 'error', 'fill'" in proc.stderr
