"""A user's own legend for WorldCereal imports (mirrors src/cropglobe/sources/readers/worldcereal_legend.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.sources.readers import data

from cropglobe import legend, samples, summary
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import read_worldcereal
from cropglobe.sources.readers.worldcereal_legend import WorldCerealLegend, load_legend

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "tables"
LEGEND = """
classes: [cereal/maize, cereal/wheat, oilseed/soybean, grassland, other]
map:
  1101060*: maize          # a code group, named by its last level
  1101010011: cereal/wheat
  1106000020: soya         # a taxonomy alias of soybean
  2001*: grassland
"""


def _legend(tmp_path, text=LEGEND) -> Path:
    path = tmp_path / "legend.yaml"
    path.write_text(text)
    return path


def test_the_generated_long_file_imports_with_the_users_classes(tmp_path):
    data.worldcereal_long(tmp_path / "x.parquet")  # maize, winter wheat, soybean, long-term meadow
    ds = read_worldcereal(tmp_path / "x.parquet", legend=_legend(tmp_path))
    assert ds["label"].values.tolist() == ["cereal/maize", "cereal/wheat", "oilseed/soybean", "grassland"]
    assert legend.of(ds.attrs) == ("cereal/maize", "cereal/wheat", "oilseed/soybean", "grassland", "other")
    assert ds.attrs["label_legend_map"]["1101060*"] == "cereal/maize"
    assert ds.attrs["label_legend"].endswith("legend.yaml")
    assert ds.attrs["original_label_counts"]["1101060000 maize"] == 1
    back = samples.load(samples.save(ds, tmp_path / "x.zarr"))
    assert legend.of(back.attrs) == legend.of(ds.attrs)
    # without the legend: the paper's seven classes, meadow -> other
    assert read_worldcereal(tmp_path / "x.parquet")["label"].values.tolist() == ["corn", "wheat", "soybean", "other"]


def test_exact_codes_win_over_prefixes_and_the_longest_prefix_wins():
    own = WorldCerealLegend.model_validate({
        "classes": ["cereal/maize", "cereal/other", "grain maize", "other"],
        "map": {"11*": "other", "1101*": "cereal/other", "1101060*": "cereal/maize", 1101060001: "grain maize"}})
    got = own.decode(np.array([1101060000, 1101060001, 1101020011, 1106000020, 3000000000]), "ewoc")
    assert got.tolist() == ["cereal/maize", "grain maize", "cereal/other", "other", ""]
    # legacy codes are compared as written (no 10-digit padding)
    legacy = WorldCerealLegend.model_validate({"classes": ["wheat", "other"], "map": {"11*": "wheat", "*": "other"}})
    assert legacy.decode(np.array([1120, 1110.0, 9120]), "legacy").tolist() == ["wheat", "wheat", "other"]


def test_unmatched_codes_follow_the_unknown_policy_never_silently_other(tmp_path):
    data.worldcereal_long(tmp_path / "x.parquet", codes=[1101060000, 1101010011, 1115000000, 0])
    path = _legend(tmp_path)
    with pytest.raises(CropGlobeError, match=r"unknown label codes: 1115000000 \(1\).*matched by the legend's map"):
        read_worldcereal(tmp_path / "x.parquet", legend=path)
    ds = read_worldcereal(tmp_path / "x.parquet", legend=path, unknown="other")
    assert ds["label"].values.tolist() == ["cereal/maize", "cereal/wheat", "other"]  # code 0 dropped as before
    assert ds.attrs["dropped_unknown_code0"] == 1 and ds.attrs["unknown_labels"] == {"1115000000": 1}
    catch_all = _legend(tmp_path, LEGEND + '  "*": other\n')
    assert read_worldcereal(tmp_path / "x.parquet", legend=catch_all)["label"].values.tolist()[-1] == "other"


@pytest.mark.parametrize(("text", "match"), [
    ("classes: [maize, wheat]\nmap: {1101060*: maize}\n", r"field 'classes'.*no class 'other'"),
    ("classes: [maize, other]\nmap: {1101060*: barley}\n", r"'barley' is not a class of the legend"),
    ("classes: [maize, other]\nmap: {11-01-06: maize}\n", r"key '11-01-06': expected a crop code"),
    ("classes: [maize, other]\nmap: {}\n", r"field 'map'"),
    ("classes: [maize, other]\n", r"field 'map'"),
    ("classes: [maize, other]\nmap: {1: maize}\ncolour: red\n", r"field 'colour'"),
])
def test_bad_legends_name_the_field(tmp_path, text, match):
    with pytest.raises(CropGlobeError, match=match):
        load_legend(_legend(tmp_path, text))


def test_the_shipped_french_legend_reads():
    own = load_legend(CONFIGS / "worldcereal_legend_fra.yaml")
    assert own.classes[-1] == "other" and own.map["*"] == "other"
    assert own.decode(np.array([1106000031, 1101050001, 1201000010]), "ewoc").tolist() == [
        "oilseed/rapeseed", "cereal/other cereals", "other"]


@pytest.mark.shared_data
def test_real_france_dekad_file_with_the_french_legend(shared_data):
    path = (shared_data / "worldcereal_extractions" / "worldcereal-classification"
            / "2023_FRA_LPIS_POLY_110_dekad.geoparquet")
    ds = read_worldcereal(path, legend=CONFIGS / "worldcereal_legend_fra.yaml")
    counts = summary.summarize(ds).counts.loc["total"].to_dict()
    assert {k: counts[k] for k in legend.of(ds.attrs)} == {
        "cereal/maize": 88, "cereal/wheat": 61, "cereal/barley": 16, "cereal/other cereals": 20,
        "oilseed/rapeseed": 16, "oilseed/sunflower": 21, "oilseed/soybean": 13, "grassland": 154, "other": 111}


def test_a_misspelt_legend_key_gets_did_you_mean(tmp_path, capsys):
    """A misspelt key of a legend file names the right one, through the CLI with exit 2 (issue 27)."""
    from cropglobe.cli import main

    path = _legend(tmp_path, LEGEND.replace("\nmap:", "\nmapp:"))
    with pytest.raises(CropGlobeError, match=r"field 'mapp': Extra inputs are not permitted; did you mean 'map'\?"):
        load_legend(path)
    with pytest.raises(SystemExit) as exit_:
        main(["data", "import", "worldcereal", str(tmp_path / "x.parquet"), "--legend", str(path), "--out",
              str(tmp_path / "o.zarr")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "did you mean 'map'?" in err and not (tmp_path / "o.zarr").exists()
