"""Tests for the command line: help, simulate, info, bench and the one-line error path."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from cropglobe.cli import app

runner = CliRunner()


def test_help_lists_every_command_with_one_line():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("simulate", "info", "bench", "demo"):
        assert command in result.output


def test_simulate_then_info(tmp_path):
    out = tmp_path / "sim.zarr"
    result = runner.invoke(app, ["simulate", "--out", str(out), "-n", "3", "--countries", "FRA,ARG"])
    assert result.exit_code == 0, result.output
    assert "SIMULATED DATA" in result.output
    info = runner.invoke(app, ["info", str(out)])
    assert info.exit_code == 0, info.output
    assert "FRA" in info.output and "ARG" in info.output and "missing values" in info.output
    assert "SIMULATED DATA" in info.output


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "from cropglobe.cli import main; main()", "info", str(tmp_path / "nope.zarr")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "no such SampleSet" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bench_list_and_quick_json():
    listed = runner.invoke(app, ["bench", "--list"])
    assert listed.exit_code == 0 and "sampleset-io" in listed.output
    result = runner.invoke(app, ["bench", "sampleset-io", "--quick"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["name"] == "sampleset-io"
    assert line["ratio"] > 0 if line["not_measured"] is None else line["ratio"] is None
    assert set(line) == {"name", "ratio", "not_measured", "reference", "machine", "figures"}
    assert {"cpu_model", "cpu_flags", "load_1min_before", "load_1min_after"} <= set(line["machine"])
    unknown = runner.invoke(app, ["bench", "no-such-bench"])
    assert unknown.exit_code != 0


def test_info_shows_readme_counts_of_the_sw_france_file(shared_data, tmp_path):
    src = (
        shared_data
        / "worldcereal_extractions"
        / "worldcereal-classification"
        / "2023_FRA_LPIS_POLY_110_dekad.geoparquet"
    )
    out = tmp_path / "fr.zarr"
    assert runner.invoke(app, ["import", "worldcereal", str(src), "--out", str(out)]).exit_code == 0
    info = runner.invoke(app, ["info", str(out)], env={"COLUMNS": "200"})
    assert info.exit_code == 0, info.output
    text = " ".join(info.output.split())
    assert "51 steps" in text and "│ total │ 88 │ 13 │ 61 │ 338 │ 500 │" in text
    for before in ("maize: 83", "winter_common_soft_wheat: 55", "soy_soybeans: 13"):
        assert before in text
