"""``cropglobe transfer``: --set, --print-config, no folder left by an input error; --quiet/--verbose everywhere."""

from __future__ import annotations

import pytest
import yaml

from cropglobe.cli import main

SPEC = """name: sets
data:
  simulate: {countries: [FRA, BEL], samples_per_class: 4, seed: 0}
sources: [FRA]
cells:
  - {feature: harmonic, model: rf}
seeds: [0]
train: {epochs: 2}
model_options:
  rf: {n_estimators: 5}
"""


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


def test_print_config_applies_sets_and_writes_nothing(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(SPEC)
    code = _run(["transfer", "s.yaml", "--set", "train.epochs=5", "--set", "seeds=[0,1]", "--print-config",
                 "--out", "run"])
    out, err = capfd.readouterr()
    assert code == 0, err
    printed = yaml.safe_load(out)
    assert printed["train"]["epochs"] == 5 and printed["seeds"] == [0, 1]
    assert printed["model_options"] == {"rf": {"n_estimators": 5}}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # no run folder, no runs/


def test_a_typo_in_a_key_is_one_error_with_did_you_mean(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(SPEC)
    assert _run(["transfer", "s.yaml", "--set", "train.epoch=5"]) == 2
    err = capfd.readouterr().err
    assert "did you mean 'train.epochs'" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_an_input_error_found_at_preparation_leaves_no_run_folder(tmp_path, monkeypatch, capfd):
    """Issue 27: the data path is checked after the lock is taken; the folder (and its lock file) go again."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(SPEC)
    assert _run(["transfer", "s.yaml", "--set", "data={path: missing.zarr}", "--out", "run"]) == 2
    assert "missing.zarr" in capfd.readouterr().err
    assert not (tmp_path / "run").exists()


def test_set_is_refused_on_resume(tmp_path, capfd):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(SPEC)
    assert _run(["transfer", "--resume", str(run), "--set", "train.epochs=3"]) == 2
    assert "--set cannot change a run's config" in capfd.readouterr().err


def _commands():
    import typer

    from cropglobe.cli import app

    def walk(cmd, path):
        sub = getattr(cmd, "commands", None)
        if sub:
            for name, child in sub.items():
                yield from walk(child, [*path, name])
        else:
            yield " ".join(path), cmd

    return list(walk(typer.main.get_command(app), []))


def test_every_command_has_quiet_and_verbose():
    commands = _commands()
    assert len(commands) > 15
    for name, cmd in commands:
        flags = {opt for p in cmd.params for opt in p.opts}
        assert {"--quiet", "--verbose"} <= flags, name


def test_added_quiet_sets_the_verbosity(tmp_path, capfd):
    from cropglobe import verbosity

    try:
        assert _run(["report", str(tmp_path), "--quiet"]) == 2  # no results.parquet: the command ran
        assert verbosity.is_quiet()
    finally:
        verbosity.configure()


def test_coverage_fill_is_a_composite_setting_of_the_spec(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(SPEC)
    code = _run(["transfer", "s.yaml", "--set", "composite.coverage=fill", "--set", "composite.fill_days=20",
                 "--print-config"])
    out, err = capfd.readouterr()
    assert code == 0, err
    printed = yaml.safe_load(out)
    assert printed["composite"]["coverage"] == "fill" and printed["composite"]["fill_days"] == 20
    assert _run(["transfer", "s.yaml", "--set", "composite.coverage=hold", "--print-config"]) == 2
    assert "composite.coverage" in capfd.readouterr().err
