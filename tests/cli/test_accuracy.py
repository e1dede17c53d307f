"""``cropglobe assess sample`` and ``assess accuracy`` (mirrors src/cropglobe/cli/accuracy.py).

The estimators are checked against Olofsson et al. (2014) in tests/mapping/test_areaestimate.py; here
the commands: points drawn from a map, filled in, and the accuracy table printed and written.
"""

from __future__ import annotations

import pandas as pd
from tests.mapping.test_reference import NAMES, _map
from typer.testing import CliRunner

from cropglobe.cli import app
from cropglobe.errors import CropGlobeError

runner = CliRunner()


def test_sample_then_accuracy(tmp_path):
    path, _ = _map(tmp_path / "map.tif")
    points = tmp_path / "points.csv"
    drawn = runner.invoke(app, ["assess", "sample", str(path), "--out", str(points), "--per-class", "6"])
    assert drawn.exit_code == 0, drawn.output
    assert "points per map class: corn 6, soybean 6, wheat 6" in drawn.output and f"wrote {points}" in drawn.output
    table = pd.read_csv(points)
    assert len(table) == 18 and {"lon", "lat", "map_class", "reference"} <= set(table.columns)
    table["reference"] = table["map_class"]  # a perfect map
    table.loc[0, "reference"] = next(c for c in NAMES if c != table.loc[0, "map_class"])  # but for one point
    table.to_csv(points, index=False)
    out = tmp_path / "accuracy.csv"
    assessed = runner.invoke(app, ["assess", "accuracy", str(path), str(points), "--out", str(out)])
    assert assessed.exit_code == 0, assessed.output
    assert "overall accuracy" in assessed.output and "18 points used" in assessed.output
    assert f"wrote {out}" in assessed.output
    written = pd.read_csv(out)
    assert written.shape[0] >= len(NAMES)
    again = runner.invoke(app, ["assess", "accuracy", str(path), str(points), "--out", str(out)])
    assert again.exit_code == 0, again.output  # a previous table of the command is replaced


def test_accuracy_refuses_a_missing_column(tmp_path):
    path, _ = _map(tmp_path / "map.tif")
    points = tmp_path / "points.csv"
    assert runner.invoke(app, ["assess", "sample", str(path), "--out", str(points), "--per-class", "2"]).exit_code == 0
    result = runner.invoke(app, ["assess", "accuracy", str(path), str(points), "--column", "truth"])
    assert isinstance(result.exception, CropGlobeError)  # the entry point prints it as one line, exit 2
    assert "missing columns truth; expected lon, lat (WGS84) and truth" in str(result.exception)
