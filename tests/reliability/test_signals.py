"""SIGINT -> exit 130, SIGTERM -> exit 143 with one line, for composite, map and transfer (also mid-training)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cropglobe import samples

HOLD = Path(__file__).with_name("hold.py")


def _signal_mid_job(tmp_path: Path, stage: str, sig: int, *argv: str) -> subprocess.CompletedProcess:
    ready, release = tmp_path / f"{stage}.ready", tmp_path / f"{stage}.release"
    proc = subprocess.Popen([sys.executable, str(HOLD), stage, str(ready), str(release), "--", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        while not ready.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"the job ended before it reached {stage}: rc {proc.returncode}\n{out}\n{err}")
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=300)
    finally:
        release.touch()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def observations(tmp_path_factory):
    from cropglobe.sources import simulate

    path = tmp_path_factory.mktemp("obs") / "obs.zarr"
    return samples.save(simulate.simulate(["FRA"], samples_per_class=3, seed=0), path)


@pytest.mark.parametrize("sig, code, name", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_composite_exits_128_plus_signal_and_keeps_nothing_partial(tmp_path, observations, sig, code, name):
    out = tmp_path / "comp.zarr"
    done = _signal_mid_job(tmp_path, "composite", sig, "composite", str(observations), "--out", str(out))
    assert done.returncode == code, done.stderr
    assert done.stderr.strip() == (f"cropglobe: interrupted by {name}; nothing partial was kept "
                                   "(a transfer run continues with --resume RUN_DIR)")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_map_exits_130_on_sigint_while_dask_runs_a_tile(tmp_path):
    from tests.mapping.conftest import train_cell

    from cropglobe.mapping import simulated_cube, write_cube

    cell = train_cell(tmp_path / "cell")
    cube = write_cube(simulated_cube("FRA", (2, 2), 8, seed=3)[0], tmp_path / "cube.zarr")
    out = tmp_path / "out" / "map.tif"
    done = _signal_mid_job(tmp_path, "map", signal.SIGINT, "map", str(cell), str(cube), "--out", str(out),
                           "--workers", "1", "--tile", "16")
    assert done.returncode == 130, done.stderr
    assert "interrupted by SIGINT" in done.stderr and "Traceback" not in done.stderr
    assert not out.parent.exists() or not list(out.parent.iterdir())


TINY_TORCH = """name: tiny-signal
data:
  simulate: {countries: [FRA, BEL], samples_per_class: 8, seed: 0}
composite: {interval: 5, window: "05-01:11-30", align: hemisphere, clear_threshold: 0.75}
sources: [FRA]
targets: all
cells:
  - {feature: median2d, model: cropnet-lite}
seeds: [0]
train: {epochs: 2, batch_size: 32, lr: 0.001}
"""


@pytest.mark.slow
def test_sigterm_during_lightning_training_exits_143_and_resumes(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_TORCH)
    run = tmp_path / "run"
    done = _signal_mid_job(tmp_path, "train", signal.SIGTERM, "transfer", str(spec), "--out", str(run), "--quiet")
    assert done.returncode == 143, done.stderr
    assert "interrupted by SIGTERM" in done.stderr
    ckpt = next(run.glob("cells/*/checkpoints/last.ckpt"))  # the finished first epoch: resumable
    assert not (run / "results.parquet").exists()
    resumed = subprocess.run(
        [sys.executable, "-c", "from cropglobe.cli import main; main()", "transfer", "--resume", str(run), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert (run / "results.parquet").exists() and ckpt.exists()


def test_transfer_exits_130_on_sigint_before_training(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_TORCH)
    run = tmp_path / "run"
    done = _signal_mid_job(tmp_path, "composite", signal.SIGINT, "transfer", str(spec), "--out", str(run), "--quiet")
    assert done.returncode == 130, done.stderr
    assert "interrupted by SIGINT" in done.stderr and "Traceback" not in done.stderr
    assert not (run / "results.parquet").exists()
