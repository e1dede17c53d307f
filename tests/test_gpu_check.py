"""scripts/gpu_check.sh without a GPU (one "no GPU: ..." line, exit 0) and its one-cell real-data spec."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.experiment.study import load_spec

ROOT = Path(__file__).resolve().parents[1]


def _script(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, "PYTHON": sys.executable, **env})


def test_without_a_visible_gpu_it_says_so_in_one_line_and_exits_0(tmp_path):
    proc = _script({"CUDA_VISIBLE_DEVICES": "", "GPU_CHECK_OUT": str(tmp_path / "out")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["no GPU: CUDA_VISIBLE_DEVICES='' hides every device"]
    assert not (tmp_path / "out").exists()  # nothing written, nothing run


def test_with_torch_unable_to_see_a_gpu_it_says_why():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], capture_output=True, text=True,
                          timeout=120, check=False, env={**env, "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    assert line.startswith("no GPU: torch ") and "sees no CUDA device" in line


def _helper():
    spec = importlib.util.spec_from_file_location("gpu_check_under_test", ROOT / "scripts" / "gpu_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_canada_france_spec_is_restricted_to_one_cropnet_cell_at_full_epochs(tmp_path):
    helper = _helper()
    data = tmp_path / "data"
    with pytest.raises(CropGlobeError, match="real data not found"):
        helper.one_cell_spec(data, tmp_path / "spec.yaml")
    for name in helper.DATA:
        (data / name).mkdir(parents=True)
    written = helper.one_cell_spec(data, tmp_path / "spec.yaml")
    spec, full = load_spec(written), load_spec(helper.CONFIG)
    assert [(c.feature, c.model) for c in spec.cells] == [("median2d", "cropnet")]
    assert spec.sources == ["CAN"] and spec.targets == ["FRA"] and spec.seeds == [0] and spec.adaptation is None
    assert spec.train == full.train and spec.train.epochs == 30  # the study's own (full) training
    assert spec.composite == full.composite and spec.validation == full.validation
    assert spec.data.path == [str((data / name).resolve()) for name in helper.DATA]
