"""Tests for ``cropglobe emit``: sample granules at points, and search failing clearly offline."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cropglobe import samples
from cropglobe.cli import app

_spec = importlib.util.spec_from_file_location(
    "emit_test_data", Path(__file__).parents[1] / "sources" / "emit" / "data.py"
)
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)  # the EMIT granule generator of tests/emit

runner = CliRunner()


def _points(path: Path, cells: list[tuple[int, int]]) -> Path:
    rows = [{"sample_id": f"s{i}", "lon": data.cell_center(r, c)[0], "lat": data.cell_center(r, c)[1],
             "country": "FRA", "year": 2023, "label": "maize"} for i, (r, c) in enumerate(cells)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_emit_sample_writes_a_sampleset(tmp_path):
    scene = data.make_scene()
    g1 = data.write_granule(tmp_path / "a.nc", scene)
    g2 = data.write_granule(tmp_path / "b.nc", scene, time="2023-08-01T10:00:00Z")
    points = _points(tmp_path / "points.csv", [(5, 3), (2, 2), (0, 0)])
    out = tmp_path / "EMIT.zarr"
    result = runner.invoke(app, ["emit", "sample", str(g1), str(g2), "--points", str(points), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 samples" in result.output and "dropped 1 point" in result.output
    ds = samples.load(out)
    assert ds.attrs["sensor"] == "EMIT" and ds.sizes["time"] == 2 and list(ds["label"].values) == ["corn", "corn"]
    assert ds.sizes["band"] == int(data.GOOD.sum())


def _main(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from cropglobe.cli import main; main()", *args],
                          capture_output=True, text=True, check=False, timeout=120, env=env)


def test_emit_sample_bad_granule_is_one_line_and_nothing_written(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("hello")
    points = _points(tmp_path / "points.csv", [(5, 3)])
    out = tmp_path / "EMIT.zarr"
    proc = _main(["emit", "sample", str(bad), "--points", str(points), "--out", str(out)])
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith("error:") and "not an EMIT L2A reflectance granule" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_emit_search_offline_is_one_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)}
    env.update({"HTTPS_PROXY": f"http://127.0.0.1:{port}", "HTTP_PROXY": f"http://127.0.0.1:{port}"})
    proc = _main(["emit", "search", "--bbox", "2,47,3,48", "--start", "2023-05-01", "--end", "2023-11-30",
                  "--timeout", "2"], env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith("error:") and "cannot reach NASA CMR" in proc.stderr
    bad = _main(["emit", "search", "--bbox", "2,47,x,48", "--start", "2023-05-01", "--end", "2023-11-30"], env=env)
    assert bad.returncode == 2 and "--bbox" in bad.stderr
