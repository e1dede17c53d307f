"""Transfer units: countries, years, regions and pools (mirrors src/cropglobe/study/regions.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.study import regions


def test_units_select_by_country_year_and_region():
    table = regions.UnitTable(np.array(["FRA", "FRA", "BEL", "USA"]), np.array(["2022", "2023", "2023", "2021"]),
                              np.array(["", "", "flanders", "arkansas"]))
    assert regions.mask("FRA", table).tolist() == [True, True, False, False]
    assert regions.mask("fra:2023", table).tolist() == [False, True, False, False]
    assert regions.mask("Arkansas", table).tolist() == [False, False, False, True]
    assert regions.mask("USA:arkansas+FRA:2022", table).tolist() == [True, False, False, True]
    assert regions.all_units(table, ["country", "year"]) == ["BEL:2023", "FRA:2022", "FRA:2023", "USA:2021"]
    assert regions.all_units(table, ["region"]) == ["FRA", "arkansas", "flanders"]
    with pytest.raises(CropGlobeError, match="country CHN is not in the data"):
        regions.mask("CHN", table, where="config: target")
    with pytest.raises(CropGlobeError, match="'FRA:2019' selects no sample"):
        regions.mask("FRA:2019", table)


def test_spellings_pools_labels_and_countries():
    assert regions.normalize(" fra : 2023 + usa:Arkansas ") == "FRA:2023+USA:arkansas"
    assert regions.members("CAN+usa:arkansas") == ["CAN", "USA:arkansas"]
    assert regions.label("FRA:2023") == "FRA-2023"
    table = regions.UnitTable(np.array(["FRA", "USA", "USA"]), np.array(["2023", "2021", "2021"]),
                              np.array(["", "arkansas", "iowa"]))
    assert regions.country_of("arkansas", table) == "USA"
    assert regions.country_of("iowa+FRA", table) == "FRA"  # several countries: the first
