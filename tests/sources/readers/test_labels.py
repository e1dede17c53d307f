"""WorldCereal decision table: rules, unknown policy, and agreement with the real dictionaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import labels


def test_ewoc_rules_exact_prefix_and_unknown():
    d = labels.decode_worldcereal(
        np.array([1101060002, 1101010011, 1106000020, 1114060004, 4300000000, 0, 9900000000]), "ewoc"
    )
    assert list(d.classes) == ["corn", "wheat", "soybean", "other", "other", "", ""]
    assert d.names[0] == "green_silo_maize"


def test_legacy_rules():
    d = labels.decode_worldcereal(np.array([1100, 1200, 4100, 8200, 9211, 9120, 0, 99999]), "legacy")
    assert list(d.classes) == ["wheat", "corn", "soybean", "sugarcane", "cotton", "other", "", ""]


def test_resolve_unknown_policies():
    cls, raw = np.array(["corn", "", ""], dtype=object), np.array([1, 7, 7])
    with pytest.raises(CropGlobeError, match=r"2 samples with unknown label codes: 7 \(2\)"):
        labels.resolve_unknown(cls, raw, "error", "f.csv", "crop", "x")
    out, keep, counts = labels.resolve_unknown(cls, raw, "other", "f.csv", "crop", "x")
    assert list(out) == ["corn", "other", "other"] and keep.all() and counts == {"7": 2}
    _, keep, _ = labels.resolve_unknown(cls, raw, "drop", "f.csv", "crop", "x")
    assert list(keep) == [True, False, False]
    with pytest.raises(CropGlobeError, match="unknown-label policy"):
        labels.resolve_unknown(cls, raw, "ignore", "f.csv", "crop", "x")


@pytest.mark.shared_data
def test_table_agrees_with_worldcereal_dictionaries(shared_data):
    folder = shared_data / "worldcereal_extractions" / "worldcereal-classification"
    m = pd.read_csv(folder / "crop_type_class_mappings.csv", sep=";", encoding="utf-8-sig")
    codes = m["ewoc_code"].str.replace("-", "").astype("int64").to_numpy()
    got = labels.decode_worldcereal(codes, "ewoc").classes
    level3 = m["level_3"].fillna("")
    expect = np.where(
        level3 == "maize", "corn", np.where(level3 == "wheat", "wheat", np.where(level3 == "rice", "rice", "other"))
    )
    expect = np.where(m["label_full"] == "soy_soybeans", "soybean", expect)
    expect = np.where(m["label_full"] == "cotton", "cotton", expect)
    expect = np.where(m["label_full"] == "sugar_cane", "sugarcane", expect)
    expect = np.where(codes == 0, "", expect)
    assert (got == expect).all(), m["label_full"][got != expect].tolist()
    legacy = pd.read_csv(folder / "wc2eurocrops_map_legacy_codes.csv")
    via_ewoc = labels.decode_worldcereal(
        legacy["ewoc_code"].str.replace("-", "").astype("int64").to_numpy(), "ewoc"
    ).classes
    direct = labels.decode_worldcereal(legacy["croptype"].to_numpy(), "legacy").classes
    known = via_ewoc != ""  # legacy rows pointing at ewoc group 13 (absent from the ewoc dictionary) are grass
    assert (direct[known] == via_ewoc[known]).all(), legacy["name"][known & (direct != via_ewoc)].tolist()
    assert ((direct == "") == (legacy["name"] == "Unknown")).all()


def test_legend_unknown_marks_only_codes_the_legend_calls_unknown():
    legacy = labels.decode_worldcereal(np.array([0, 991, 9700, 1200, 12345, "9700.0"], dtype=object), "legacy")
    assert list(legacy.legend_unknown) == [True, True, True, False, False, True]
    assert list(legacy.classes) == ["", "", "", "corn", "", ""]
    ewoc = labels.decode_worldcereal(np.array([0, 1101060000, 9999999999]), "ewoc")
    assert list(ewoc.legend_unknown) == [True, False, False]
