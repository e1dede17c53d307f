"""The YAML mapping of a generic table (:func:`cropglobe.sources.readers.read_table`), validated with pydantic.

A mapping (examples in ``configs/tables/``) names the id, time, band and label columns, the label
map, the scale and nodata of raw values, lon/lat, country and year, and for tables without dates
(UCR Crop) the start and step of the time axis. Sections for exports as Earth Engine writes them:

* ``valid: {column: valid}`` - a validity column of long tables: rows whose value is in
  ``invalid`` (default ``[0]``) are missing in every band (empty windows written as 0 with
  ``valid = 0``); ``nodata`` would also mask a genuine 0.
* ``covariates: [{path: ..., id: ..., columns: [...]}]`` - per-sample tables (soil, terrain)
  joined by id and kept as ``cov_<name>`` coords (:mod:`cropglobe.sources.readers.covariates`).
* ``classes: [corn, soybean, cereal/wheat, other]`` - the set's own legend (default: the paper's
  seven classes; :mod:`cropglobe.legend`): ``label.map`` values and unmapped raw labels are
  classes of it, and the SampleSet records it (``attrs["classes"]``).
* ``season_year: start | end`` - whether ``year`` names a southern season (which crosses the new
  year) by the year it starts (default, cropglobe's convention) or ends in (the CropGlobe
  paper's) (:mod:`cropglobe.temporal.season_year`).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from typing import Any, Literal

from pydantic import field_validator, model_validator

from cropglobe import legend, yamlfile
from cropglobe.checks import PositiveFinite, Strict
from cropglobe.choices import SeasonYear, UnknownPolicy


def _text(v: Any) -> Any:
    return None if v is None else str(v)


class ReadOptions(Strict):
    """How to parse a CSV file (ignored for Parquet)."""

    sep: str | None = None
    header: bool = True


class Join(Strict):
    """A table aligned row by row with the source (path relative to the source file)."""

    path: str


class ValueOrColumn(Strict):
    """One value for every sample, or a column (optionally mapped through ``map``)."""

    value: str | int | None = None
    column: str | None = None
    map: dict[str, str] | None = None

    _col = field_validator("column", mode="before")(lambda v: _text(v))

    @model_validator(mode="after")
    def _one(self) -> ValueOrColumn:
        if (self.value is None) == (self.column is None):
            raise ValueError("give exactly one of 'value' or 'column'")
        return self


class LabelSpec(Strict):
    """The label column, an optional raw value -> class map and the unknown-label policy."""

    column: str
    map: dict[str, str] | None = None
    unknown: UnknownPolicy = "error"

    _col = field_validator("column", mode="before")(lambda v: _text(v))

    @field_validator("map", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return None if v is None else {str(k): str(x) for k, x in dict(v).items()}


class TimeSpec(Strict):
    """How to read time: a column (long) or the ``time`` group of wide column names."""

    column: str | None = None
    format: Literal["date", "epoch_ms", "doy", "index"] = "date"
    start: _dt.date | None = None
    start_doy: int | None = None
    step_days: int | None = None
    bin_days: int | None = None

    _col = field_validator("column", mode="before")(lambda v: _text(v))

    @model_validator(mode="after")
    def _index(self) -> TimeSpec:
        if self.format == "index" and (self.step_days is None or (self.start is None) == (self.start_doy is None)):
            raise ValueError("format 'index' needs step_days and exactly one of start (a date) or start_doy")
        return self


class WideSpec(Strict):
    """Wide layout: a regex over column names with a ``time`` group and a ``band`` group or ``band``."""

    pattern: str
    band: str | None = None

    @model_validator(mode="after")
    def _groups(self) -> WideSpec:
        try:
            rx = re.compile(self.pattern)
        except re.error as err:
            raise ValueError(f"pattern is not a regular expression ({err})") from None
        if "time" not in rx.groupindex:
            raise ValueError("pattern needs a (?P<time>...) group")
        if ("band" in rx.groupindex) == (self.band is not None):
            raise ValueError("give a (?P<band>...) group in pattern or one 'band', not both")
        return self


class LongSpec(Strict):
    """Long layout: band name -> column."""

    bands: dict[str, str]

    @field_validator("bands", mode="before")
    @classmethod
    def _cols(cls, v: Any) -> Any:
        return {str(k): str(x) for k, x in dict(v).items()}


class ValidSpec(Strict):
    """A validity column of a long table: rows whose value is in ``invalid`` are missing in every band."""

    column: str
    invalid: list[float] = [0]

    _col = field_validator("column", mode="before")(lambda v: _text(v))


class CovariateSpec(Strict):
    """A per-sample table joined by id (path relative to the first input file, or absolute).

    ``id`` defaults to the mapping's ``id``; ``columns`` to every numeric column that is neither
    the id nor a column of the input tables (so ``label`` or ``latitude`` repeated there are not
    covariates).
    """

    path: str
    id: str | None = None
    columns: list[str] | None = None

    _col = field_validator("id", mode="before")(lambda v: _text(v))

    @field_validator("columns", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return None if v is None else [str(x) for x in v]


class TableMapping(Strict):
    """A YAML mapping describing a CSV/Parquet table of labelled time series."""

    description: str = ""
    layout: Literal["long", "wide"]
    read: ReadOptions = ReadOptions()
    join: list[Join] = []
    id: str | None = None
    label: LabelSpec
    time: TimeSpec = TimeSpec()
    wide: WideSpec | None = None
    long: LongSpec | None = None
    country: ValueOrColumn
    year: ValueOrColumn
    lon: str | None = None
    lat: str | None = None
    scale: PositiveFinite | None = None
    nodata: float | None = None
    sensor: str = "Sentinel-2"
    processing_level: str = "L2A"
    valid: ValidSpec | None = None
    covariates: list[CovariateSpec] = []
    season_year: SeasonYear = "start"
    classes: list[str] | None = None

    _cols = field_validator("id", "lon", "lat", mode="before")(lambda v: _text(v))

    _legend = field_validator("classes")(lambda v: legend.field(v))

    @model_validator(mode="after")
    def _layout(self) -> TableMapping:
        if self.layout == "wide" and self.wide is None:
            raise ValueError("layout 'wide' needs a 'wide' section (pattern, band)")
        if self.layout == "long" and (self.long is None or self.time.column is None or self.id is None):
            raise ValueError("layout 'long' needs 'id', 'time.column' and a 'long.bands' section")
        if self.valid is not None and self.layout != "long":
            raise ValueError("'valid' (a validity column per row) applies to layout 'long' "
                             "(one row per sample and time)")
        if self.covariates and self.id is None:
            raise ValueError("'covariates' are joined by sample id: give the id column of the inputs as 'id'")
        return self


def load_mapping(path: str | os.PathLike) -> TableMapping:
    """Read and validate a table mapping YAML file.

    Raises:
        CropGlobeError: Unreadable YAML, or fields that do not fit :class:`TableMapping`.
    """
    return yamlfile.load_model(path, TableMapping, "table mapping",
                               lambda err: f" ({err.error_count()} problem(s) in the mapping)")
