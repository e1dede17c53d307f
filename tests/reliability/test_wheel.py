"""The built wheel, installed into a fresh virtual environment, runs ``cropglobe demo`` from any folder.

The fresh environment gets the already-installed dependencies through a ``.pth`` line pointing at
this environment's site-packages (nothing is downloaded), and cropglobe itself only from the wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src-copy"  # build from a copy: no build/ or egg-info in the checkout
    shutil.copytree(REPO / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(work / "dist"), str(src)], check=True, capture_output=True, text=True)
    wheel = next((work / "dist").glob("cropglobe-*.whl"))
    env = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    site = next(env.glob("lib/python*/site-packages"))
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # dependencies, after the wheel
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--no-deps",
                    "-q", str(wheel)], check=True, capture_output=True, text=True)
    return env


def _run(env: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(env / "bin" / "cropglobe"), *args], capture_output=True, text=True, cwd=cwd,
                          check=False, env={"PATH": f"{env / 'bin'}:/usr/bin:/bin", "HOME": str(cwd)})


@pytest.mark.slow
def test_installed_wheel_runs_the_tiny_demo_outside_the_checkout(installed, tmp_path):
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import cropglobe; print(cropglobe.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert where.startswith(str(installed)), where  # the wheel, not the checkout
    help_ = _run(installed, tmp_path, "demo", "--help")
    assert help_.returncode == 0 and "--config" in help_.stdout
    demo = _run(installed, tmp_path, "demo", "--config", "tiny", "-n", "4", "--epochs", "1", "--out", "demo", "--quiet")
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert (tmp_path / "demo" / "run" / "report.md").exists() and (tmp_path / "demo" / "map" / "map.tif").exists()
    assert "SIMULATED DATA" in demo.stdout


@pytest.mark.slow
def test_installed_bench_says_benchmarks_need_the_checkout(installed, tmp_path):
    bench = _run(installed, tmp_path, "bench", "--list")
    assert bench.returncode == 2
    assert "run from a source checkout" in bench.stderr and "CROPGLOBE_BENCHMARKS" in bench.stderr
    bench = subprocess.run([str(installed / "bin" / "cropglobe"), "bench", "--list"], capture_output=True, text=True,
                           check=False, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                                           "CROPGLOBE_BENCHMARKS": str(REPO / "benchmarks")})
    assert bench.returncode == 0 and "sampleset-io" in bench.stdout


@pytest.mark.slow
def test_installed_wheel_copies_the_example_configs(installed, tmp_path):
    result = _run(installed, tmp_path, "configs", "copy", "my-configs")
    assert result.returncode == 0, result.stderr[-3000:]
    for rel in ("realdata/canada_france.yaml", "tables/gee_dekadal_windows.yaml", "demo/tiny.yaml"):
        assert (tmp_path / "my-configs" / rel).is_file(), rel
    again = _run(installed, tmp_path, "configs", "copy", "my-configs")
    assert again.returncode == 2 and "refusing" in again.stderr
