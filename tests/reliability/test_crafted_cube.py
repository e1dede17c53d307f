"""A cube whose .zarray names a codec that runs code (pickle) is refused before decoding (issue 29, High 4).

The payload would create a marker folder when unpickled. numcodecs >= 0.16.6 refuses pickle unless the
process opts in (the test opts in, as ``NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE=1`` or numcodecs 0.16.5
would), so what stops it here is cropglobe's own list of compression codecs.
"""

from __future__ import annotations

import json
import os
import pickle

import numcodecs.pickles
import numpy as np
import pytest
from tests.reliability.cells import snapshot, tiny_cell
from typer.testing import CliRunner

from cropglobe.cli import app
from cropglobe.errors import CropGlobeError
from cropglobe.mapping.zarrwindow import read_window
from cropglobe.zarrcheck import check_codecs, check_store_codecs


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.fixture
def unsafe_numcodecs(monkeypatch):
    monkeypatch.setattr(numcodecs.pickles, "ALLOW_UNSAFE_PICKLE_DECODE", True)


def _crafted(tmp_path, marker, consolidated_too=False):
    """A simulated cube whose reflectance .zarray names pickle (the consolidated metadata still says blosc)."""
    from cropglobe.mapping import simulated_cube, write_cube

    store = write_cube(simulated_cube("FRA", (2, 2), 8, seed=1)[0], tmp_path / "cube.zarr")
    arr = store / "reflectance"
    meta = json.loads((arr / ".zarray").read_text())
    meta["compressor"] = {"id": "pickle", "protocol": 4}
    (arr / ".zarray").write_text(json.dumps(meta))
    for chunk in [p for p in arr.iterdir() if not p.name.startswith(".")]:
        chunk.write_bytes(pickle.dumps(_Payload(str(marker))))
    if consolidated_too:
        zmeta = json.loads((store / ".zmetadata").read_text())
        zmeta["metadata"]["reflectance/.zarray"]["compressor"] = {"id": "pickle"}
        (store / ".zmetadata").write_text(json.dumps(zmeta))
    return store


def test_read_window_refuses_a_pickle_compressor(tmp_path, unsafe_numcodecs):
    marker = tmp_path / "pwned"
    store = _crafted(tmp_path, marker)
    with pytest.raises(CropGlobeError, match="compressor 'pickle'.*expected no compressor or one of blosc"):
        read_window(store, "reflectance", {}, ("time", "band", "y", "x"), np.dtype("uint16"))
    assert not marker.exists()


@pytest.mark.parametrize("consolidated_too", [False, True])
def test_map_refuses_a_crafted_cube_and_runs_nothing(tmp_path, unsafe_numcodecs, consolidated_too):
    marker = tmp_path / "pwned"
    store = _crafted(tmp_path, marker, consolidated_too)
    cell = tiny_cell(tmp_path / "cell")
    before = snapshot(store)
    result = CliRunner().invoke(app, ["map", str(cell), str(store), "--out", str(tmp_path / "map.tif"), "--quiet"])
    assert isinstance(result.exception, CropGlobeError), (result.exception, result.output)
    assert "pickle" in str(result.exception)
    assert not marker.exists() and not (tmp_path / "map.tif").exists()
    assert snapshot(store) == before


def test_consolidated_metadata_is_checked_too(tmp_path):
    from cropglobe.mapping import simulated_cube, write_cube

    store = write_cube(simulated_cube("FRA", (2, 2), 8, seed=1)[0], tmp_path / "cube.zarr")
    check_store_codecs(store)  # write_cube's own codecs pass
    zmeta = json.loads((store / ".zmetadata").read_text())
    zmeta["metadata"]["clear/.zarray"]["filters"] = [{"id": "pickle"}]
    (store / ".zmetadata").write_text(json.dumps(zmeta))
    with pytest.raises(CropGlobeError, match=r"clear \(.zmetadata\): .zarray names filter 'pickle'"):
        check_store_codecs(store)


@pytest.mark.parametrize("compressor", [None, {"id": "blosc", "cname": "lz4"}, {"id": "zstd"}, {"id": "zlib"},
                                        {"id": "gzip"}, {"id": "bz2"}, {"id": "lzma"}, {"id": "lz4"}])
def test_known_compression_codecs_pass(compressor):
    check_codecs({"compressor": compressor, "filters": [{"id": "delta", "dtype": "<u2"}]}, "a")


@pytest.mark.parametrize("meta", [{"compressor": {"id": "pickle"}}, {"compressor": {"id": "msgpack2"}},
                                  {"compressor": "blosc"}, {"compressor": {"id": None}},
                                  {"compressor": None, "filters": [{"id": "pickle"}]},
                                  {"compressor": None, "filters": [{"id": "json2"}, {"id": "zlib"}]}])
def test_other_codecs_are_refused(meta):
    with pytest.raises(CropGlobeError, match="cropglobe does not decode"):
        check_codecs(meta, "a")


def test_numcodecs_is_pinned_at_a_safe_floor():
    import re
    import tomllib
    from pathlib import Path

    deps = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.startswith("numcodecs"))
    floor = tuple(int(x) for x in re.search(r">=([\d.]+)", pin).group(1).split("."))
    assert floor >= (0, 16, 6) and "<" in pin  # 0.16.6: Pickle.decode needs an explicit opt-in
