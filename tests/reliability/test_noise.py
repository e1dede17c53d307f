"""Quiet by default: no Lightning hardware lines or deprecation warnings; transfer says which cell of how many."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cropglobe.cli import main

SPEC = """name: noise
data:
  simulate: {countries: [FRA, BEL], samples_per_class: 6, seed: 0}
composite: {interval: 5, window: "05-01:11-30", align: hemisphere, clear_threshold: 0.75}
sources: [FRA]
targets: all
cells:
  - {feature: median2d, model: cropnet-lite}
  - {feature: harmonic, model: rf}
seeds: [0]
train: {epochs: 1, batch_size: 32}
model_options:
  rf: {n_estimators: 5}
"""
NOISE = ("GPU available", "TPU available", "deprecated", "DeprecationWarning", "Trainer.fit` stopped")


def _transfer(tmp_path, *flags: str) -> str:
    spec = tmp_path / "noise.yaml"
    spec.write_text(SPEC)
    proc = subprocess.run([sys.executable, "-c", "from cropglobe.cli import main; main()", "transfer", str(spec),
                           "--out", str(tmp_path / "run"), *flags], capture_output=True, text=True, check=False,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_default_output_says_the_cell_and_hides_lightning_noise(tmp_path):
    out = _transfer(tmp_path)
    assert "cell 1/2: FRA__median2d__cropnet-lite__none__s0" in out and "cell 2/2: FRA__harmonic__rf__none__s0" in out
    for noise in NOISE:
        assert noise not in out


@pytest.mark.slow
def test_verbose_shows_lightning_messages(tmp_path):
    out = _transfer(tmp_path, "--verbose")
    assert "GPU available" in out and "cell 1/2" in out


def test_quiet_prints_results_only(tmp_path, capfd):
    spec = tmp_path / "noise.yaml"
    spec.write_text(SPEC)
    with pytest.raises(SystemExit) as exc:
        main(["transfer", str(spec), "--out", str(tmp_path / "run"), "--quiet"])
    assert exc.value.code == 0
    out, err = capfd.readouterr()
    assert "macro-F1" in out and "cell 1/2" not in out
    for noise in NOISE:
        assert noise not in out + err


@pytest.mark.parametrize("command", ["simulate", "composite", "info", "transfer", "demo"])
def test_main_commands_show_examples_in_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "Example" in capsys.readouterr().out


def test_quiet_simulate_and_composite_print_only_the_path(tmp_path, capsys):
    sim, comp = tmp_path / "sim.zarr", tmp_path / "comp.zarr"
    for argv, out in ((["simulate", "--out", str(sim), "-n", "3", "-c", "FRA", "-q"], sim),
                      (["composite", str(sim), "--out", str(comp), "--quiet"], comp)):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        assert capsys.readouterr().out.strip() == f"wrote {out}"
