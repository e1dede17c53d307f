"""Transfer units: which samples a source or target name selects.

A study's sources and targets are *regions*: a country (``FRA``), a country in one season year
(``FRA:2023``), a region named at import (``arkansas``, from the SampleSet's optional ``region``
coordinate, ``cropglobe data import ... --region arkansas``), or any combination of these separated
by ``:`` (``USA:arkansas:2021``). A sample belongs to a unit when it matches every part:

* four digits: the sample's season ``year``;
* an ISO alpha-3 code of a country present in the data: the sample's ``country``;
* anything else: the sample's ``region`` (case-insensitive).

``+`` pools units into one source (``CAN+USA:arkansas``). ``targets: all`` lists the units of the
data at the granularity of ``group_by`` (``[country]`` by default; ``[country, year]``,
``[region]``, ``[country, region]`` ...), less the ones a source pools. This is how transfer
between states (two regions of one country) and between years of one region (the paper's first
open question) are written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from cropglobe.errors import CropGlobeError

#: Per-sample fields a unit (or ``group_by``) can name.
GROUP_FIELDS = ("country", "year", "region")


@dataclass(frozen=True)
class UnitTable:
    """The per-sample fields that units select on (country, year, region), as strings."""

    country: np.ndarray
    year: np.ndarray
    region: np.ndarray

    @classmethod
    def of(cls, ds: xr.Dataset) -> UnitTable:
        """The fields of a SampleSet (``region`` is empty where the data name none)."""
        n = ds.sizes["sample"]
        region = (np.char.lower(ds["region"].values.astype(str)) if "region" in ds.coords
                  else np.full(n, "", dtype=str))
        return cls(ds["country"].values.astype(str), ds["year"].values.astype(int).astype(str), region)

    def field(self, name: str) -> np.ndarray:
        """One field's per-sample values."""
        return {"country": self.country, "year": self.year, "region": self.region}[name]

    def describe(self) -> str:
        """What the data hold, for error messages."""
        parts = [f"countries {', '.join(sorted(set(self.country)))}",
                 f"years {', '.join(sorted(set(self.year)))}"]
        regions = sorted(set(self.region) - {""})
        if regions:
            parts.append(f"regions {', '.join(regions)}")
        return "; ".join(parts)


def normalize(unit: str) -> str:
    """Canonical spelling of a unit: countries upper case, regions lower case, pools kept in order."""
    out = []
    for member in str(unit).split("+"):
        tokens = [t.strip() for t in member.split(":") if t.strip()]
        out.append(":".join(t.upper() if _looks_iso3(t) else t.lower() for t in tokens))
    return "+".join(m for m in out if m)


def _looks_iso3(token: str) -> bool:
    return len(token) == 3 and token.isalpha()


def members(unit: str) -> list[str]:
    """The pooled members of a unit: ``"CAN+USA:arkansas"`` -> ``["CAN", "USA:arkansas"]``."""
    return [m for m in normalize(unit).split("+") if m]


def mask(unit: str, table: UnitTable, where: str = "config: unit") -> np.ndarray:
    """Boolean mask of the samples a (possibly pooled) unit selects.

    ``where`` starts the error message (``"config: source"``).

    Raises:
        CropGlobeError: When a part of the unit matches no sample.
    """
    keep = np.zeros(table.country.size, dtype=bool)
    present = set(table.country)
    for member in members(unit):
        if _looks_iso3(member) and member.upper() not in present and member.lower() not in set(table.region):
            raise CropGlobeError(f"{where} country {member.upper()} is not in the data (countries: "
                                 f"{', '.join(sorted(present))})")
        sel = np.ones(table.country.size, dtype=bool)
        for token in member.split(":"):
            if len(token) == 4 and token.isdigit():
                sel &= table.year == token
            elif _looks_iso3(token) and token.upper() in set(table.country):
                sel &= table.country == token.upper()
            else:
                sel &= table.region == token.lower()
        keep |= sel
    if not keep.any():
        raise CropGlobeError(f"{where} {unit!r} selects no sample (the data hold {table.describe()}); "
                             "expected COUNTRY, COUNTRY:YEAR, a region named at import (--region) or a "
                             "':'-combination of them, '+' to pool")
    return keep


def country_of(unit: str, table: UnitTable) -> str:
    """The one country of a unit's samples (for per-country remaps and the scenario), else the first."""
    names = sorted(set(table.country[mask(unit, table)]))
    return names[0]


def all_units(table: UnitTable, group_by: list[str]) -> list[str]:
    """Every unit of the data at the granularity of ``group_by`` (sorted)."""
    cols = [table.field(f) for f in group_by]
    if "region" in group_by and "country" not in group_by:  # samples without a region: their country
        cols[group_by.index("region")] = np.where(table.region == "", table.country, table.region)
    keys = {":".join(str(c[i]) for c in cols if str(c[i])) for i in range(table.country.size)}
    return sorted(k for k in keys if k)


def label(unit: str) -> str:
    """Folder-safe label of a unit (used in run folder and split names)."""
    return normalize(unit).replace(":", "-")
