"""Tests of ``cropglobe features`` (mirrors src/cropglobe/cli/features.py): the streaming pipeline's CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from cropglobe import samples
from cropglobe.cli import app, main
from cropglobe.features import families as features
from cropglobe.sources import simulate
from cropglobe.temporal import composite

CLI = [sys.executable, "-c", "from cropglobe.cli import main; main()"]


def _main(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Run the CLI's entry point in this process: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code), out.out, out.err


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> tuple[xr.Dataset, Path]:
    """A small simulated observation set (SIMULATED) and its store."""
    ds = simulate.simulate(countries=["FRA", "AUS"], samples_per_class=3, seed=6)
    path = tmp_path_factory.mktemp("obs") / "obs.zarr"
    samples.save(ds, path)
    return samples.load(path), path


def test_features_in_blocks_equal_the_whole_set(obs: tuple[xr.Dataset, Path], tmp_path: Path) -> None:
    ds, path = obs
    out = tmp_path / "f.zarr"
    res = CliRunner().invoke(app, ["features", str(path), "--out", str(out), "--family", "median2d", "-f", "harmonic",
                                   "--block", "10"])
    assert res.exit_code == 0, res.output
    n = ds.sizes["sample"]
    assert f"features median2d, harmonic of {n:,} of {n:,} samples in {-(-n // 10)} blocks of 10" in res.output
    assert res.output.strip().endswith(f"wrote {out}")
    whole = composite.season(composite.composite(ds))
    got = xr.open_zarr(out)
    assert set(got.data_vars) == {"median2d", "harmonic"}
    np.testing.assert_array_equal(got["median2d"].values, features.median2d(whole))
    np.testing.assert_allclose(got["harmonic"].values, features.harmonic(whole), rtol=1e-6, atol=1e-7)
    assert got.attrs["simulated"] is True and got.attrs["stream_block"] == 10
    # a previous feature store is replaced without --overwrite; --quiet prints only the path
    again = CliRunner().invoke(app, ["features", str(path), "--out", str(out), "-f", "median1d", "--interval", "10",
                                     "--window", "04-01:10-31", "--quiet"])
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"wrote {out}"
    assert set(xr.open_zarr(out).data_vars) == {"median1d"}


def test_progress_bar_on_stderr(obs: tuple[xr.Dataset, Path], tmp_path: Path) -> None:
    ds, path = obs
    proc = subprocess.run([*CLI, "features", str(path), "--out", str(tmp_path / "f.zarr"), "--block", "16"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    n = ds.sizes["sample"]
    assert "compositing + features" in proc.stderr and f"{n}/{n}" in proc.stderr
    assert "wrote" in proc.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--block", "0"], "--block 0: expected a positive number of samples"),
    (["--window", "13-01:11-30"], "window"),
    (["--clear-threshold", "2"], "composite options: field clear_threshold"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(obs: tuple[xr.Dataset, Path], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture, args: list[str],
                                                         message: str) -> None:
    _, path = obs
    out = tmp_path / "bad.zarr"
    code, _, err = _main(capsys, "features", str(path), "--out", str(out), *args)
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".bad.zarr*"))


def test_out_that_is_not_a_cropglobe_store_needs_overwrite(obs: tuple[xr.Dataset, Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    _, path = obs
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    code, _, err = _main(capsys, "features", str(path), "--out", str(out))
    assert code == 2 and "refusing to replace it" in err
    assert out.read_text() == "mine"
    code, _, err = _main(capsys, "features", str(tmp_path / "none.zarr"), "--out", str(tmp_path / "f.zarr"))
    assert code == 2 and "no such SampleSet" in err and not (tmp_path / "f.zarr").exists()
