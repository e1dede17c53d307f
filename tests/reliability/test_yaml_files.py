"""YAML files: aliases (bombs), deep nesting and non-UTF-8 text are one error in every reader (issue 29, Medium 5, 7).

Every YAML a user gives goes through :mod:`cropglobe.yamlfile`; the source scan at the end keeps it
that way.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from tests.reliability.cells import tiny_cell
from typer.testing import CliRunner

from cropglobe import samples, yamlfile
from cropglobe.cli import app
from cropglobe.errors import CropGlobeError

SRC = Path(__file__).resolve().parents[2] / "src" / "cropglobe"

#: A small alias "bomb": 6 levels of 6 references expand to 6^6 = 46656 leaves (a real one goes to billions).
BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 6)}]\n" for i in range(1, 7)).replace(
    "l1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0]", "l1: &l1 [x, x, x, x, x, x]")
TRANSFER_BOMB = ("name: bomb\ndata: {simulate: {countries: [FRA, BEL], samples_per_class: 4}}\nsources: [FRA]\n"
                 "cells: [{feature: harmonic, model: rf}]\nmodel_options:\n  rf:\n    n_estimators: 3\n"
                 + "".join(f"    o{i}: &o{i} [{', '.join([f'*o{i - 1}'] * 6)}]\n" for i in range(1, 7)).replace(
                     "[*o0, *o0, *o0, *o0, *o0, *o0]", "[1, 1, 1, 1, 1, 1]"))

BAD = {
    "utf-16": ("name: x\n".encode("utf-16"), "UTF-16 text; expected UTF-8"),
    "latin-1": ("name: caf\xe9\n".encode("latin-1"), "byte 0xe9 is not UTF-8"),
    "deep flow": (("name: " + "[" * 20000 + "]" * 20000 + "\n").encode(), "nested deeper than"),
    "deep block": ("".join("  " * i + f"k{i}:\n" for i in range(3000)).encode(), "nested deeper than"),
    "alias": (b"a: &a [1, 2]\nb: *a\n", "alias *a"),
}


def test_aliases_are_refused_before_they_expand():
    t0 = time.perf_counter()
    with pytest.raises(CropGlobeError, match=r"line 2: not accepted: alias \*l1"):
        yamlfile.parse(BOMB, "bomb.yaml")
    billion = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
    with pytest.raises(CropGlobeError, match="alias"):  # 9^9 leaves: refused at the first alias, in no time
        yamlfile.parse("l0: &l0 [lol]\n" + billion, "billion.yaml")
    assert time.perf_counter() - t0 < 5


def test_transfer_refuses_an_alias_bomb_in_model_options(tmp_path):
    spec = tmp_path / "bomb.yaml"
    spec.write_text(TRANSFER_BOMB)
    result = CliRunner().invoke(app, ["transfer", str(spec), "--out", str(tmp_path / "run")])
    assert isinstance(result.exception, CropGlobeError), (result.exception, result.output)
    assert "bomb.yaml: line 9: not accepted: alias *o1" in str(result.exception)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def predict_inputs(tmp_path_factory, tiny_observations):
    folder = tmp_path_factory.mktemp("predict")
    cell = tiny_cell(folder / "FRA__harmonic__rf__none__s0")
    return cell, samples.save(samples.select(tiny_observations, country="FRA"), folder / "fra.zarr")


def _readers(tmp_path, predict_inputs):
    """name -> call(path) for every YAML a user gives: through the CLI where that is cheap, else the library."""
    from cropglobe import experiment
    from cropglobe.cli.demo import load_demo_spec
    from cropglobe.experiment import report
    from cropglobe.sources.acquire import load_config
    from cropglobe.sources.readers.table import load_mapping
    from cropglobe.sources.simulate import load_params
    from cropglobe.temporal.season import load_offsets

    def cli(*args):
        def call(path):
            result = CliRunner().invoke(app, [a.format(path=path, tmp=tmp_path) for a in args])
            if result.exception is not None:
                raise result.exception
        return call

    cell, store = predict_inputs
    return {
        "transfer": cli("transfer", "{path}", "--out", "{tmp}/run"),
        "import -m": cli("import", "table", "{tmp}/t.csv", "-m", "{path}", "--out", "{tmp}/t.zarr"),
        "demo --config": cli("demo", "--config", "{path}", "--out", "{tmp}/demo"),
        "simulate --params": cli("simulate", "--params", "{path}", "--out", "{tmp}/s.zarr", "-n", "2"),
        "acquire": cli("acquire", "{path}", "--dry-run"),
        "predict --remaps": cli("predict", str(cell), str(store), "--out", "{tmp}/p.parquet", "--remaps", "{path}"),
        "--offsets": load_offsets,
        "load_spec": experiment.load_spec,
        "load_mapping": load_mapping,
        "load_params": load_params,
        "load_config": load_config,
        "load_demo_spec": lambda p: load_demo_spec(str(p), tmp_path / "c.zarr", None),
        "report config.yaml": report.read_config,
    }


@pytest.mark.parametrize("bad", sorted(BAD))
def test_every_yaml_reader_gives_one_clear_error(tmp_path, predict_inputs, bad):
    data, message = BAD[bad]
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    for name, read in _readers(tmp_path, predict_inputs).items():
        with pytest.raises(CropGlobeError) as err:
            read(path)
        text = str(err.value)
        assert "bad.yaml" in text and message in text and "\n" not in text, (name, text)


def test_good_files_still_read(tmp_path):
    good = tmp_path / "offsets.yaml"
    good.write_bytes("\ufeffAUS: 170  # a UTF-8 byte-order mark is fine\nARG: 180\n".encode())
    from cropglobe.temporal.season import load_offsets

    assert load_offsets(good) == {"AUS": 170, "ARG": 180}


def test_yaml_is_parsed_only_by_yamlfile():
    """No module calls yaml.load / safe_load / full_load / unsafe_load itself (a new reader would skip the limits)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "yamlfile.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id == "yaml" and \
                    node.func.attr in ("load", "safe_load", "full_load", "unsafe_load", "load_all", "safe_load_all",
                                       "compose", "parse"):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not found, f"read YAML with cropglobe.yamlfile.load / parse: {found}"
