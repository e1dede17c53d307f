"""Transfer units, re-exported from :mod:`cropglobe.study.regions` (where they live, below both top floors)."""

from cropglobe.study.regions import (
    GROUP_FIELDS,
    UnitTable,
    all_units,
    country_of,
    label,
    mask,
    members,
    normalize,
)

__all__ = ["GROUP_FIELDS", "UnitTable", "all_units", "country_of", "label", "mask", "members", "normalize"]
