"""Reading one table file (CSV/TSV/Parquet) and its number columns, with errors that name the file and row.

Shared by the generic table reader (:mod:`cropglobe.sources.readers.table`) and the covariate
join (:mod:`cropglobe.sources.readers.covariates`). Rows are numbered as a user counts them in the
file: data row 1 is the first row after the header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cropglobe.checks import not_a_file
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers.table_mapping import ReadOptions

#: Cell texts read as missing values in number columns (compared lower-case, stripped).
MISSING_TOKENS = {"", "nan", "na", "n/a", "null", "none", "-"}


def read_file(path: Path, opts: ReadOptions) -> pd.DataFrame:
    """Read one CSV/TSV/Parquet table with string column names.

    Raises:
        CropGlobeError: A missing, unreadable or empty file (named).
    """
    if not path.is_file():
        raise not_a_file(path, "a CSV or Parquet table")
    try:
        if path.suffix.lower() in (".parquet", ".pq", ".geoparquet"):
            df = pd.read_parquet(path)
        else:
            sep = opts.sep or ("\t" if path.suffix.lower() == ".tsv" else ",")
            df = pd.read_csv(path, sep=sep, header=0 if opts.header else None)
    except Exception as err:  # any reader failure is a bad input here
        raise CropGlobeError(
            f"{path}: cannot be read as a table ({type(err).__name__}: {str(err).splitlines()[0]})"
        ) from None
    if df.empty:
        raise CropGlobeError(f"{path}: the table has no rows")
    df.columns = [str(c) for c in df.columns]
    return df


def _not_numbers(col: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """(values as numbers, mask of cells that are neither numbers nor a missing token)."""
    values = pd.to_numeric(col, errors="coerce")
    bad = values.isna().to_numpy() & col.notna().to_numpy()
    if bad.any():
        text = col[bad].astype(str).str.strip().str.lower()
        bad[np.flatnonzero(bad)[text.isin(MISSING_TOKENS).to_numpy()]] = False
    return values, bad


def numeric(col: pd.Series, where: str, dtype: Any = np.float32) -> np.ndarray:
    """A number column as ``dtype`` (float32 by default); empty cells are missing, any other non-number is an error.

    Raises:
        CropGlobeError: Naming the column, the data row (1 = first row after the header) and the cell.
    """
    values, bad = _not_numbers(col)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CropGlobeError(
            f"{where}: column {col.name!r}, data row {i + 1}: {col.iloc[i]!r} is not a number "
            f"({int(bad.sum())} such cell(s) in the column); expected numbers, empty cells for missing"
        )
    return values.to_numpy(dtype)


def is_numeric(col: pd.Series) -> bool:
    """True when every cell is a number or a missing token and at least one is a number."""
    values, bad = _not_numbers(col)
    return not bad.any() and bool(values.notna().any())


def first_empty(col: pd.Series, where: str, what: str) -> None:
    """Raise for the first empty cell of a column that needs a value on every row.

    Raises:
        CropGlobeError: Naming the column, its first empty data row and how many there are.
    """
    empty = col.isna().to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise CropGlobeError(f"{where}: column {col.name!r}, data row {i + 1} is empty ({int(empty.sum())} empty "
                             f"cell(s) in the column); expected {what} on every row")
