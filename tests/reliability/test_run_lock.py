"""One writer per run folder: a second transfer into a busy --out fails at once; config.yaml stays true."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cropglobe.cli import app
from cropglobe.errors import CropGlobeError
from cropglobe.experiment.lock import LOCK_NAME, is_run_folder, run_lock

runner = CliRunner()

SPEC = """name: {name}
data:
  simulate: {{countries: [FRA, BEL], samples_per_class: 6, seed: 0}}
composite: {{interval: 5, window: "05-01:11-30", align: hemisphere, clear_threshold: 0.75}}
sources: [FRA]
targets: all
cells:
  - {{feature: harmonic, model: rf}}
seeds: [0]
model_options:
  rf: {{n_estimators: {trees}}}
"""


def _spec(tmp_path, name, trees):
    path = tmp_path / f"{name}.yaml"
    path.write_text(SPEC.format(name=name, trees=trees))
    return path


def test_second_process_fails_at_once_while_the_folder_is_locked(tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from cropglobe.experiment.lock import run_lock\n"
            "with run_lock(sys.argv[1]):\n    print('locked', flush=True); sys.stdin.read()",
            str(run),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = runner.invoke(app, ["transfer", str(_spec(tmp_path, "b", 5)), "--out", str(run)])
        assert isinstance(result.exception, CropGlobeError), result.output
        assert "in use by another cropglobe process" in str(result.exception)
        assert f"pid {holder.pid}" in str(result.exception)
        assert not (run / "config.yaml").exists()
    finally:
        holder.communicate("")
    assert holder.returncode == 0


def test_lock_is_exclusive_and_released(tmp_path):
    with run_lock(tmp_path / "run") as path:
        assert path.name == LOCK_NAME
        with pytest.raises(CropGlobeError, match="in use"), run_lock(tmp_path / "run"):
            pass
    with run_lock(tmp_path / "run"):  # released: the next run may take it
        pass
    assert is_run_folder(tmp_path / "run")


def test_config_yaml_keeps_describing_the_results(tmp_path):
    run = tmp_path / "run"
    first = runner.invoke(app, ["transfer", str(_spec(tmp_path, "a", 5)), "--out", str(run), "--quiet"])
    assert first.exit_code == 0, first.output
    config = (run / "config.yaml").read_text()
    second = runner.invoke(app, ["transfer", str(_spec(tmp_path, "b", 7)), "--out", str(run), "--quiet"])
    assert isinstance(second.exception, CropGlobeError) and "already holds a run" in str(second.exception)
    assert (run / "config.yaml").read_text() == config and "name: a" in config


def test_transfer_refuses_a_folder_with_other_files(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("x")
    result = runner.invoke(app, ["transfer", str(_spec(tmp_path, "a", 5)), "--out", str(mine)])
    assert isinstance(result.exception, CropGlobeError) and "not a previous cropglobe run folder" in str(
        result.exception
    )
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.txt"]
