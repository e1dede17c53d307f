"""The example configs ship with the package and ``cropglobe configs copy`` copies them (issue 27)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cropglobe import examples, yamlfile
from cropglobe.cli import app
from cropglobe.errors import CropGlobeError

REPO = Path(__file__).resolve().parents[1]


def test_every_example_config_of_the_checkout_is_shipped():
    shipped = set(examples.packaged_files())
    in_checkout = {f"{p.parent.name}/{p.name}" for name in examples.CONFIG_SETS
                   for p in (REPO / "configs" / name).iterdir() if p.suffix in examples.SUFFIXES}
    assert in_checkout and shipped == in_checkout
    assert {"realdata/canada_france.yaml", "tables/gee_dekadal_windows.yaml", "demo/tiny.yaml"} <= shipped


def test_package_data_globs_cover_every_shipped_file():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    for rel in examples.packaged_files():
        folder, suffix = rel.rsplit("/", 1)[0], Path(rel).suffix
        assert f'"data/configs/{folder}/*{suffix}"' in text, rel


def test_copy_writes_real_files_that_parse(tmp_path):
    dest = tmp_path / "mine"
    result = CliRunner().invoke(app, ["configs", "copy", str(dest), "--only", "realdata", "--only", "tables"])
    assert result.exit_code == 0, result.output
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == sorted(r for r in examples.packaged_files(["realdata", "tables"]))
    assert not any(p.is_symlink() for p in dest.rglob("*"))
    spec = yamlfile.load(dest / "realdata" / "canada_france.yaml", where="test")
    assert spec["name"] == "canada-france"


def test_copy_into_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    files = examples.copy_configs(tmp_path / "empty", ["demo"])
    assert sorted(p.name for p in files) == ["demo.yaml", "tiny.yaml"]


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_copy_refuses_a_path_that_holds_something(tmp_path, kind):
    dest = tmp_path / "mine"
    if kind == "folder":
        dest.mkdir()
        (dest / "notes.txt").write_text("my notes")
    else:
        dest.write_text("my file")
    with pytest.raises(CropGlobeError, match="refusing"):
        examples.copy_configs(dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    assert (dest / "notes.txt").read_text() == "my notes" if kind == "folder" else dest.read_text() == "my file"


def test_unknown_set_is_exit_2_before_writing(tmp_path):
    from cropglobe.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["configs", "copy", str(tmp_path / "new"), "--only", "nope"])
    assert exit_.value.code == 2
    assert not (tmp_path / "new").exists()


def test_list_names_every_set():
    result = CliRunner().invoke(app, ["configs", "list"])
    assert result.exit_code == 0, result.output
    for name in examples.CONFIG_SETS:
        assert f"{name}/" in result.output
