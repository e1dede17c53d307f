"""Per-sample covariate tables (soil, terrain, ...) joined to a table import by sample id.

Earth Engine exports often come with a static table keyed by the same id as the time series
(``covariates_static_arkansas.csv``: aspect, clay, elevation, ... per ``pixel_id``, with Earth
Engine's ``system:index`` and ``.geo`` columns). Listed under ``covariates:`` in the mapping, each
table is read, its ids checked (none empty, none repeated), and its number columns kept as float
coords ``cov_<name>`` along ``sample`` (:data:`cropglobe.samples.COVARIATE_PREFIX`), NaN for
samples the table lacks. ``attrs["covariates"]`` records, per table, the path, id column, the
columns kept, the samples without a row and the rows matching no sample. Passed among the
time-series inputs instead, such a table is refused by name (:func:`refuse_if_covariates`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers.pivot import require_columns
from cropglobe.sources.readers.table_io import first_empty, is_numeric, numeric, read_file
from cropglobe.sources.readers.table_mapping import TableMapping


def resolve(path: str, first_input: Path) -> Path:
    """A covariate path: absolute (``~`` expanded), or relative to the folder of the first input file."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else first_input.parent / p


def keys(values: Any) -> np.ndarray:
    """Ids as text for matching (``12``, ``12.0`` and ``"12"`` are the same id)."""
    text = pd.Series(values, dtype=object).astype(str).str.strip()
    return text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True).to_numpy(dtype=object)


def _series_columns(columns: Collection[str], m: TableMapping) -> list[str]:
    """The input columns a time series needs besides the id (time and bands, or the wide pattern's matches)."""
    if m.layout == "long":
        assert m.long is not None
        return [c for c in [m.time.column, *m.long.bands.values()] if c in columns]
    assert m.wide is not None
    rx = re.compile(m.wide.pattern)
    return [c for c in columns if rx.fullmatch(c) and c not in (m.id, m.label.column)]


def refuse_if_covariates(columns: Collection[str], m: TableMapping, path: Path, first_input: Path) -> None:
    """Refuse an input file that has the id column but no time or band column: a per-sample table.

    Raises:
        CropGlobeError: Naming the file and pointing to the mapping's ``covariates:`` section.
    """
    if m.id is None or m.id not in columns or _series_columns(columns, m):
        return
    wanted = ([m.time.column, *list(m.long.bands.values())[:3]] if m.long is not None
              else [f"columns matching {m.wide.pattern!r}" if m.wide else "band columns"])
    listed = any(resolve(c.path, first_input).resolve() == path.resolve() for c in m.covariates)
    remedy = ("the mapping already lists it under covariates:, so leave it out of the input files" if listed else
              "list it under covariates: in the mapping to join its columns by id, or leave it out of the inputs")
    raise CropGlobeError(
        f"{path}: looks like a per-sample covariate table (it has the id column {m.id!r} but none of the time series "
        f"columns {', '.join(repr(str(w)) for w in wanted)} ...; its columns are "
        f"{', '.join(repr(str(c)) for c in list(columns)[:8])}); {remedy}"
    )


def coord_name(column: str) -> str:
    """``cov_<column>`` without characters a Zarr variable name should not hold (``org carbon`` -> ``org_carbon``)."""
    name = re.sub(r"\W+", "_", column).strip("_")
    if not name:
        raise CropGlobeError(f"covariate column {column!r}: expected a name with letters or digits")
    return name


def join(sample_ids: np.ndarray, m: TableMapping, first_input: Path,
         input_columns: Collection[str]) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Read the mapping's covariate tables and align their columns with the samples by id.

    Args:
        sample_ids: The imported samples' ids (in order).
        m: The mapping (its ``covariates`` and ``read`` options).
        first_input: The first input file (relative covariate paths start from its folder).
        input_columns: Columns of the input tables (left out of the default covariate columns).

    Returns:
        ({name: float64 values per sample (NaN without a row)}, one record per table for the attrs).

    Raises:
        CropGlobeError: Unreadable table, missing id or covariate columns, empty or repeated ids,
            non-numbers in a covariate column, two tables giving the same covariate name.
    """
    out: dict[str, np.ndarray] = {}
    records: list[dict[str, Any]] = []
    wanted = keys(sample_ids)
    for spec in m.covariates:
        path = resolve(spec.path, first_input)
        where = str(path)
        df = read_file(path, m.read)
        id_col = spec.id or str(m.id)
        require_columns(df.columns, [id_col], where, "the covariate table's id column")
        first_empty(df[id_col], where, "an id")
        have = keys(df[id_col].to_numpy())
        dup = pd.Series(have).duplicated().to_numpy()
        if dup.any():
            j = int(np.flatnonzero(dup)[0])
            i = int(np.flatnonzero(have == have[j])[0])
            raise CropGlobeError(
                f"{where}: column {id_col!r}, data row {j + 1}: id {have[j]} repeats data row {i + 1} "
                f"({int(dup.sum())} repeated id(s)); expected one row per sample")
        if spec.columns is not None:
            require_columns(df.columns, spec.columns, where, "covariate columns")
            columns = list(spec.columns)
        else:
            columns = [c for c in df.columns if c != id_col and c not in set(input_columns) and is_numeric(df[c])]
            if not columns:
                raise CropGlobeError(f"{where}: no number column besides the id and the input tables' columns; "
                                     "expected covariates such as elevation or clay (or list them in 'columns')")
        pos = pd.Index(have).get_indexer(wanted)
        missing = pos < 0
        names: dict[str, str] = {}
        for c in columns:
            name = coord_name(c)
            if name in out:
                raise CropGlobeError(f"{where}: covariate {name!r} is already given by another covariate table; "
                                     "expected each covariate once (list the columns to keep with 'columns')")
            values = numeric(df[c], where, np.float64)
            out[name] = np.where(missing, np.nan, values[np.where(missing, 0, pos)])
            names[name] = c
        records.append({"path": where, "id": id_col, "columns": names, "samples_without_row": int(missing.sum()),
                        "rows_without_sample": int(len(have) - np.unique(pos[~missing]).size)})
    return out, records
