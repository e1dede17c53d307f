"""The typed choices of the command line (issue 27): ``--help`` lists each option's values, a wrong value is a
usage error (exit 2) naming them, and the old string values reach the library as the same plain strings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.testing import CliRunner

from cropglobe import choices
from cropglobe.cli import _choices, app

runner = CliRunner(env={"COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"})
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

#: (command words, option, the values it lists): every option that takes one of a fixed set of strings.
CHOICES = [
    (["map"], "--precision", ["auto", "bf16-mixed", "32-true"]),
    (["predict"], "--precision", ["auto", "bf16-mixed", "32-true"]),
    (["data", "composite"], "--coverage", ["drop", "error", "fill"]),
    (["data", "features"], "--coverage", ["drop", "error", "fill"]),
    (["study", "adapt"], "--method", ["none", "adabn", "phenoshift", "prior", "selftrain", "align"]),
    (["study", "adapt-cell"], "--method", ["adabn", "selftrain"]),
    (["data", "import", "worldcereal"], "--unknown", ["error", "other", "drop"]),
    (["data", "import", "worldcereal"], "--season-year", ["start", "end"]),
    (["data", "import", "cropglobe"], "--unknown", ["error", "other", "drop"]),
    (["data", "import", "cropglobe"], "--flatten", ["band-major", "time-major"]),
    (["data", "import", "cropglobe"], "--window", ["month1-12", "month5-11"]),
    (["data", "import", "table"], "--unknown", ["error", "other", "drop"]),
    (["data", "import", "table"], "--season-year", ["start", "end"]),
    (["data", "features"], "--family", ["median2d", "median1d", "harmonic", "emit", "presto", "presto-input"]),
    (["bench"], "--device", ["cpu", "cuda"]),
    (["configs", "copy"], "--only", ["demo", "realdata", "tables", "acquire", "paper"]),
]


def _plain(text: str) -> str:
    """``text`` without ANSI codes, rich's box characters and line breaks (one line of words)."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", ANSI.sub("", text)).split())


def _help(words: list[str]) -> str:
    result = runner.invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    return _plain(result.output)


@pytest.mark.parametrize(("words", "option", "allowed"), CHOICES, ids=lambda v: " ".join(v) if isinstance(v, list)
                         else None)
def test_help_lists_the_values(words, option, allowed):
    text = _help(words)
    listed = re.search(re.escape(option) + r"\s+(?:-\w\s+)?<(?:list\[)?([\w|.-]+)\]?>", text)
    assert listed is not None, text
    assert listed.group(1).split("|") == allowed


@pytest.mark.parametrize(("words", "option", "allowed"), CHOICES, ids=lambda v: " ".join(v) if isinstance(v, list)
                         else None)
def test_a_wrong_value_exits_2_naming_the_values(words, option, allowed, tmp_path):
    args = {"map": [str(tmp_path / "cell"), str(tmp_path / "cube.zarr")],
            "predict": [str(tmp_path / "cell"), str(tmp_path / "s.zarr")],
            "composite": [str(tmp_path / "s.zarr"), "--out", str(tmp_path / "o.zarr")],
            "features": [str(tmp_path / "s.zarr"), "--out", str(tmp_path / "o.zarr")],
            "adapt": [str(tmp_path / "run")],
            "adapt-cell": [str(tmp_path / "cell"), str(tmp_path / "s.zarr"), "--out", str(tmp_path / "new")],
            "worldcereal": [str(tmp_path / "x.parquet"), "--out", str(tmp_path / "o.zarr")],
            "cropglobe": [str(tmp_path / "x.npz"), "--out", str(tmp_path / "o.zarr"), "--year", "2021"],
            "table": [str(tmp_path / "x.csv"), "--mapping", str(tmp_path / "m.yaml"), "--out",
                      str(tmp_path / "o.zarr")],
            "bench": [],
            "copy": [str(tmp_path / "configs")]}[words[-1]]
    result = runner.invoke(app, [*words, *args, option, "bogus"])
    assert result.exit_code == 2, result.output
    text = _plain(result.output)
    assert f"'bogus' is not one of {', '.join(repr(v) for v in allowed)}" in text, text
    assert not (tmp_path / "o.zarr").exists() and not (tmp_path / "configs").exists()


def test_download_what_is_a_choice():
    text = _help(["data", "download"])
    assert "<cropglobe|presto>" in text
    result = runner.invoke(app, ["data", "download", "weights"])
    assert result.exit_code == 2
    assert "'weights' is not one of 'cropglobe', 'presto'" in _plain(result.output)


def test_the_hidden_old_spellings_take_the_same_choices():
    for old, option in ((["composite"], "--coverage"), (["adapt-cell"], "--method"), (["import", "table"],
                                                                                        "--unknown")):
        new = {"composite": ["data", "composite"], "adapt-cell": ["study", "adapt-cell"],
               "import": ["data", "import", "table"]}[old[0]]
        listed = [re.search(re.escape(option) + r"\s+(?:-\w\s+)?(<[^>]+>)", _help(words)) for words in (old, new)]
        assert listed[0] is not None and listed[1] is not None
        assert listed[0].group(1) == listed[1].group(1)


class _Stop(Exception):
    """Raised by a stand-in of the library once it has recorded its arguments."""


def _record(monkeypatch: pytest.MonkeyPatch, target: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        seen.update(kwargs, args=args)
        raise _Stop

    monkeypatch.setattr(target, stand_in)
    return seen


def _exact_str(value: Any) -> bool:
    return type(value) is str


def test_old_values_reach_the_library_as_plain_strings(monkeypatch, tmp_path):
    cases = [
        (["bench", "--device", "cpu"], "cropglobe.bench.run", "device", "cpu"),
        (["configs", "copy", str(tmp_path / "c"), "--only", "tables"], "cropglobe.examples.copy_configs", "args",
         None),
        (["study", "adapt-cell", "c", "s.zarr", "--out", str(tmp_path / "n"), "--method", "selftrain"],
         "cropglobe.experiment.adapt_cell.adapt_cell", "method", "selftrain"),
        (["adapt-cell", "c", "s.zarr", "--out", str(tmp_path / "n")], "cropglobe.experiment.adapt_cell.adapt_cell",
         "method", "adabn"),
        (["study", "adapt", "run", "-m", "prior", "-m", "none"], "cropglobe.experiment.posthoc.adapt_run", "methods",
         ["prior", "none"]),
        (["study", "adapt", "run"], "cropglobe.experiment.posthoc.adapt_run", "methods", ["adabn"]),
        (["predict", "c", "s.zarr", "--precision", "bf16-mixed"], "cropglobe.mapping.predict_table.predict_file",
         "args3.precision", "bf16-mixed"),
        (["predict", "c", "s.zarr"], "cropglobe.mapping.predict_table.predict_file", "args3.precision", "32-true"),
        (["data", "import", "table", "x.csv", "-m", "m.yaml", "--out", str(tmp_path / "o.zarr"), "--unknown",
          "drop", "--season-year", "end"], "cropglobe.sources.readers.read_table", "unknown", "drop"),
        (["data", "import", "table", "x.csv", "-m", "m.yaml", "--out", str(tmp_path / "o.zarr")],
         "cropglobe.sources.readers.read_table", "unknown", None),
        (["data", "import", "worldcereal", "x.parquet", "--out", str(tmp_path / "o.zarr")],
         "cropglobe.sources.readers.read_worldcereal", "unknown", "error"),
        (["data", "import", "cropglobe", "m.npz", "--out", str(tmp_path / "o.zarr"), "--year", "2021", "--flatten",
          "time-major", "--unknown", "other"], "cropglobe.sources.readers.read_cropglobe_npz", "flatten",
         "time-major"),
        (["data", "import", "cropglobe", "m.npz", "--out", str(tmp_path / "o.zarr"), "--year", "2021", "--window",
          "month5-11"], "cropglobe.sources.readers.read_cropglobe_npz", "window", "month5-11"),
        (["data", "import", "cropglobe", "m.npz", "--out", str(tmp_path / "o.zarr"), "--year", "2021"],
         "cropglobe.sources.readers.read_cropglobe_npz", "window", None),
        (["data", "features", "s.zarr", "--out", str(tmp_path / "o.zarr"), "--coverage", "fill"],
         "cropglobe.features.stream.check_composite_options", "args", None),
    ]
    for argv, target, key, expected in cases:
        with monkeypatch.context() as m:
            seen = _record(m, target)
            result = runner.invoke(app, argv)
        assert isinstance(result.exception, _Stop), (argv, result.output)
        if key == "args":
            continue
        name, _, attr = key.partition(".")  # "args3.precision": the 4th positional argument's field
        holder = seen["args"][int(name[4:])] if name.startswith("args") else seen[name]
        got = getattr(holder, attr) if attr else holder
        assert got == expected, (argv, got)
        assert all(_exact_str(v) for v in (got if isinstance(got, list) else [got] if got is not None else [])), argv
    with monkeypatch.context() as m:
        seen = _record(m, "cropglobe.examples.copy_configs")
        runner.invoke(app, ["configs", "copy", str(tmp_path / "c"), "--only", "tables", "--only", "demo"])
    assert seen["args"][1] == ["tables", "demo"] and all(_exact_str(v) for v in seen["args"][1])
    with monkeypatch.context() as m:
        seen = _record(m, "cropglobe.features.stream.check_composite_options")
        runner.invoke(app, ["data", "features", "s.zarr", "--out", str(tmp_path / "o.zarr")])
    assert _exact_str(seen["args"][0]["coverage"]) and seen["args"][0]["coverage"] == "drop"


def test_map_passes_its_precision_as_a_plain_string(monkeypatch, tmp_path):
    seen = _record(monkeypatch, "cropglobe.mapping.make_map")
    result = runner.invoke(app, ["map", "cell", str(tmp_path / "cube.zarr"), "--precision", "auto"])
    assert isinstance(result.exception, _Stop), result.output
    options = seen["args"][3]
    assert options.precision == "auto" and _exact_str(options.precision)


def test_download_takes_any_case_as_before(monkeypatch, tmp_path):
    seen = _record(monkeypatch, "cropglobe.features.presto.download.download_presto")
    result = runner.invoke(app, ["data", "download", "Presto", "--out", str(tmp_path / "w.pt")])
    assert isinstance(result.exception, _Stop), result.output
    assert seen["args"][0] == tmp_path / "w.pt"


def test_every_choice_comes_from_the_library_vocabulary():
    assert [m.value for m in _choices.InferencePrecision] == [p.value for p in choices.INFERENCE_CHOICES]
    assert tuple(_choices.Coverage) == choices.values(choices.Coverage)
    assert tuple(_choices.AdaptationMethod) == choices.values(choices.AdaptationMethod)
    assert _choices.value(_choices.Coverage("fill")) == "fill" and _choices.value(None) is None
