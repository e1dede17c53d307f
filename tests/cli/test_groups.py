"""The command tree (``cli/_groups.py``, issue 25): groups by domain, the old flat spellings as hidden
aliases that behave exactly as before, ``study config`` and shell completion."""

from __future__ import annotations

import pytest
import typer
import yaml

from cropglobe.cli import app, main
from cropglobe.cli._groups import ORDER, OrderedGroup

#: Old flat spelling -> where the command lives now.
MOVED = {
    "import": "data import", "download": "data download", "acquire": "data acquire", "simulate": "data simulate",
    "emit": "data emit", "info": "data info", "composite": "data composite", "features": "data features",
    "adapt": "study adapt", "adapt-cell": "study adapt-cell", "report": "study report",
    "sample-reference": "assess sample", "accuracy": "assess accuracy",
}

SPEC = """name: groups
data:
  simulate: {countries: [FRA, BEL], samples_per_class: 4, seed: 0}
sources: [FRA]
cells:
  - {feature: harmonic, model: rf}
seeds: [0]
"""


def _root() -> typer.core.TyperGroup:
    return typer.main.get_command(app)


def _at(path: str):
    cmd = _root()
    ctx = cmd.make_context("cropglobe", [], resilient_parsing=True)
    for name in path.split():
        cmd = cmd.get_command(ctx, name)
        assert cmd is not None, path
        ctx = cmd.make_context(name, [], parent=ctx, resilient_parsing=True)
    return cmd


def _params(cmd) -> list[tuple]:
    return [(p.name, tuple(getattr(p, "opts", ())), p.required, repr(getattr(p, "default", None))) for p in cmd.params]


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


def test_the_top_lists_the_common_verbs_and_the_groups_only():
    root = _root()
    ctx = root.make_context("cropglobe", [], resilient_parsing=True)
    visible = [n for n in root.list_commands(ctx) if not root.get_command(ctx, n).hidden]
    assert visible == ["demo", "transfer", "predict", "map", "bench", "data", "study", "assess", "presto", "configs"]
    hidden = {n for n in root.list_commands(ctx) if root.get_command(ctx, n).hidden}
    assert hidden == set(MOVED)


def test_each_group_lists_its_commands_in_data_flow_order():
    data = _at("data")
    assert data.list_commands(None) == ["import", "download", "acquire", "simulate", "emit", "info", "composite",
                                        "features"]
    assert _at("study").list_commands(None) == ["transfer", "config", "adapt", "adapt-cell", "report"]
    assert _at("assess").list_commands(None) == ["sample", "accuracy"]
    assert _at("data import").list_commands(None) == ["worldcereal", "cropglobe", "table"]


def test_ordered_group_puts_unlisted_names_last_in_their_own_order():
    group = OrderedGroup(name="g", commands={n: typer.core.TyperCommand(n) for n in ("zeta", "map", "alpha", "demo")})
    assert group.list_commands(None) == ["demo", "map", "zeta", "alpha"]
    assert ORDER.index("demo") < ORDER.index("map")


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_spelling_is_a_hidden_alias_with_the_same_options(old, new):
    alias, moved = _at(old), _at(new)
    assert alias.hidden and not moved.hidden
    assert f"`cropglobe {new}`" in alias.help
    assert moved.help in alias.help  # the command's own help comes first
    if hasattr(moved, "commands"):
        assert sorted(alias.commands) == sorted(moved.commands)
        for name in moved.commands:
            assert _params(alias.commands[name]) == _params(moved.commands[name])
    else:
        assert _params(alias) == _params(moved)
        assert alias.epilog == moved.epilog


def test_old_and_new_spellings_print_the_same_and_exit_alike(tmp_path, capfd):
    sim = tmp_path / "sim.zarr"
    assert _run(["data", "simulate", "--out", str(sim), "-n", "2", "--countries", "FRA", "--quiet"]) == 0
    capfd.readouterr()
    assert _run(["info", str(sim)]) == 0
    old = capfd.readouterr()
    assert _run(["data", "info", str(sim)]) == 0
    new = capfd.readouterr()
    assert old == new and "SIMULATED DATA" in new.out
    missing = str(tmp_path / "nope.zarr")
    assert _run(["info", missing]) == 2
    old = capfd.readouterr()
    assert _run(["data", "info", missing]) == 2
    assert capfd.readouterr() == old and old.out == "" and len(old.err.strip().splitlines()) == 1
    assert _run(["import", "nope"]) == 2  # a usage error of the hidden group, as before
    assert "No such command 'nope'" in capfd.readouterr().err


def test_study_config_prints_what_transfer_print_config_prints(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(SPEC)
    sets = ["--set", "train.epochs=5", "--set", "seeds=[0,1]"]
    assert _run(["study", "config", "s.yaml", *sets]) == 0
    printed = capfd.readouterr().out
    assert _run(["transfer", "s.yaml", *sets, "--print-config"]) == 0
    assert capfd.readouterr().out == printed
    spec = yaml.safe_load(printed)
    assert spec["train"]["epochs"] == 5 and spec["seeds"] == [0, 1]
    assert spec["train"]["precision"] == "auto" and spec["composite"]["interval"] == 5  # defaults filled in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # nothing written
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(printed)
    assert _run(["study", "config", "run"]) == 0  # a run folder: its config.yaml
    assert capfd.readouterr().out == printed


def test_study_config_refuses_a_bad_spec_in_one_line(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(SPEC)
    assert _run(["study", "config", "s.yaml", "--set", "train.epochs=-1"]) == 2
    err = capfd.readouterr().err
    assert "s.yaml with --set" in err and "epochs" in err and len(err.strip().splitlines()) == 1
    assert _run(["study", "config", "none.yaml"]) == 2
    assert "none.yaml" in capfd.readouterr().err


def _complete(monkeypatch, capfd, words: str) -> list[str]:
    monkeypatch.setenv("_CROPGLOBE_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    assert _run([]) == 0
    return capfd.readouterr().out.split()


def test_shell_completion_offers_the_tree_not_the_old_spellings(monkeypatch, capfd):
    assert _complete(monkeypatch, capfd, "cropglobe ") == list(ORDER[:10])
    assert _complete(monkeypatch, capfd, "cropglobe da") == ["data"]
    assert _complete(monkeypatch, capfd, "cropglobe data ") == ["import", "download", "acquire", "simulate", "emit",
                                                                "info", "composite", "features"]
    assert _complete(monkeypatch, capfd, "cropglobe stu") == ["study"]
    assert _complete(monkeypatch, capfd, "cropglobe re") == []  # `report` is hidden
