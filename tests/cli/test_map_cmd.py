"""``cropglobe map``: the typed options and the input the command builds (cli/map.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cropglobe.cli.map import _cube
from cropglobe.errors import CropGlobeError


def test_an_input_cube_is_mapped_as_given():
    assert _cube(Path("cube.zarr"), None, None, None) == Path("cube.zarr")
    assert _cube(Path("cube.zarr"), None, "2023-04-01", "2023-12-31") == Path("cube.zarr")  # dates alone: ignored


def test_a_whole_bbox_query_asks_for_a_stac_fetch():
    assert _cube(None, "2,45,3,46", "2023-04-01", "2023-12-31") is None


@pytest.mark.parametrize(("cube", "bbox", "start", "end"), [
    (None, None, None, None),
    (None, "2,45,3,46", "2023-04-01", None),
    (None, None, "2023-04-01", "2023-12-31"),
    (Path("cube.zarr"), "2,45,3,46", "2023-04-01", "2023-12-31"),
])
def test_neither_or_both_inputs_is_one_error_naming_what_was_given(cube, bbox, start, end):
    with pytest.raises(CropGlobeError, match="either an input cube or a bbox") as err:
        _cube(cube, bbox, start, end)
    assert f"bbox={bbox!r}, start={start!r}, end={end!r}" in str(err.value)


def test_fast_refuses_a_stac_query_before_anything_is_read(tmp_path, capfd):
    from cropglobe.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["map", str(tmp_path / "cell"), "--bbox", "2,45,3,46", "--start", "2023-04-01", "--end", "2023-12-31",
              "--fast", "--out", str(tmp_path / "m.tif")])
    assert exc.value.code == 2 and "--fast: give an input cube" in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []
