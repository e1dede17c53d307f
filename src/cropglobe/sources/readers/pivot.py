"""Table layouts -> (sample, band, time) cubes: long tables, wide tables, and scale checks.

Long tables (one row per sample and time) are placed into a preallocated cube by integer
indexing (``pandas.factorize`` of sample ids and times) instead of a ``pivot_table``; duplicated
(sample, time) rows are an error. Scale checks stop tables that mix scaled integers (digital
numbers x 10000) with reflectance 0-1 before anything is converted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cropglobe import bands as _bands
from cropglobe.errors import CropGlobeError


def long_to_cube(
    ids: np.ndarray, times: np.ndarray, values: np.ndarray, where: str, id_field: str = "sample_id",
    time_field: str = "time",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Place long-table rows into a (sample, band, time) cube.

    Args:
        ids: Sample id per row.
        times: Time per row (datetime64 or integer day of year).
        values: (rows, bands) values.
        where: The input (file), for messages.
        id_field: Name of the id column, for messages.
        time_field: Name of the time column, for messages.

    Returns:
        (sample ids in first-appearance order, sorted unique times, cube (S, B, T) float32 with NaN
        where a row is absent, index of each sample's first row).

    Raises:
        CropGlobeError: On missing ids/times or duplicated (sample, time) rows.
    """
    ids = np.asarray(ids)
    if pd.isna(ids).any():
        raise CropGlobeError(
            f"{where}: column {id_field!r} has {int(pd.isna(ids).sum())} empty values; expected an id on every row"
        )
    if pd.isna(times).any():
        raise CropGlobeError(
            f"{where}: column {time_field!r} has {int(pd.isna(times).sum())} empty values; expected a time on every row"
        )
    s_codes, s_uni = pd.factorize(ids, sort=False)
    t_codes, t_uni = pd.factorize(times, sort=True)
    n_s, n_t = len(s_uni), len(t_uni)
    key = s_codes.astype(np.int64) * n_t + t_codes
    counts = np.bincount(key, minlength=n_s * n_t)
    if (counts > 1).any():
        dup = np.flatnonzero(counts > 1)
        shown = ", ".join(f"({s_uni[k // n_t]!s}, {_fmt_time(t_uni[k % n_t])})" for k in dup[:3])
        raise CropGlobeError(
            f"{where}: {int((counts[dup] - 1).sum())} duplicated ({id_field}, {time_field}) rows, e.g. {shown}; "
            "expected one row per sample and time"
        )
    vals = np.asarray(values, dtype=np.float32)
    cube = np.full((n_s, n_t, vals.shape[1]), np.nan, dtype=np.float32)
    cube[s_codes, t_codes] = vals
    first = np.full(n_s, -1, dtype=np.int64)
    first[s_codes[::-1]] = np.arange(len(s_codes))[::-1]
    return np.asarray(s_uni), np.asarray(t_uni), np.ascontiguousarray(cube.transpose(0, 2, 1)), first


def _fmt_time(t: object) -> str:
    return str(t)[:10] if isinstance(t, (np.datetime64, pd.Timestamp)) else str(t)


def require_columns(columns: Sequence[str], needed: Sequence[str], where: str, what: str = "") -> None:
    """Raise one error naming every required column that is missing."""
    missing = [c for c in needed if c not in set(columns)]
    if missing:
        shown = ", ".join(repr(str(c)) for c in missing)
        extra = f" ({what})" if what else ""
        raise CropGlobeError(f"{where}: missing column(s) {shown}{extra}; found {len(columns)} columns such as "
                             f"{', '.join(repr(str(c)) for c in list(columns)[:6])}")


def example(value: float) -> str:
    """A value as the shortest text that keeps its fraction (``2026.5``, ``0.0537``, ``17368``)."""
    return np.format_float_positional(np.float32(value), trim="-")


def check_scales(cube: np.ndarray, band_names: Sequence[str], scale: float | None, where: str,
                 unit: str = "sample") -> None:
    """Stop a table that mixes scaled integers and reflectance 0-1 (called before scaling).

    With a declared scale (e.g. 1e-4) values must be digital numbers: integers or half-integers
    (the median of an even number of digital numbers, as in every Earth Engine median composite).
    Other fractional values mean some rows or bands are already reflectance. Without a scale, a
    reflectance band holding both values > 1.5 and fractional values <= 1.5 mixes the two; values
    > 1.5 alone are left to :func:`cropglobe.samples.build`, which asks for the scale.

    Args:
        cube: (rows or samples, band, time) raw values, NaN where missing.
        band_names: Band names along axis 1.
        scale: The declared scale, or None (values are reflectance).
        where: The input (file), for messages.
        unit: What axis 0 counts in messages (``"sample"``, or ``"data row"`` for one file's rows,
            1 = the first row after the header).

    Raises:
        CropGlobeError: Naming the bands, counts and the first offending value with its position.
    """
    refl = [i for i, b in enumerate(band_names) if not _bands.is_index_band(_bands.canonical_band(b))]
    issues = []
    for i in refl:
        v = cube[:, i, :]
        finite = np.isfinite(v)
        if not finite.any():
            continue
        if scale is not None and scale != 1.0:
            bad = finite & (v * 2 != np.round(v * 2))  # neither an integer nor a half-integer
            if bad.any():
                ok = int((finite & ~bad).sum())
                issues.append(f"{band_names[i]}: {int(bad.sum())} fractional values other than .5 "
                              f"({_first(v, bad, unit)}) next to {ok} integers or half-integers")
            continue
        big = finite & (v > 1.5)
        small_frac = finite & (v <= 1.5) & (v != np.round(v))
        if scale is None and big.any() and small_frac.any():
            issues.append(f"{band_names[i]}: {int(big.sum())} values > 1.5 ({_first(v, big, unit)}) next to "
                          f"{int(small_frac.sum())} fractional values <= 1.5 ({_first(v, small_frac, unit)})")
    if issues:
        declared = (f"scale={scale:g} (digital numbers: integers, or half-integers from medians)" if scale is not None
                    else "no scale (reflectance 0-1)")
        raise CropGlobeError(
            f"{where}: mixed scales: {'; '.join(issues)}; the input declares {declared}, expected every "
            "value of a band in one scale (convert the rows that differ, or split the table)"
        )


def _first(v: np.ndarray, mask: np.ndarray, unit: str) -> str:
    """``"e.g. 537.3 in data row 12"``: the first flagged value (row-major) and where it is."""
    row, col = (int(x[0]) for x in np.nonzero(mask))
    at = f"{unit} {row + 1}" + (f", time {col + 1}" if v.shape[1] > 1 else "")
    return f"e.g. {example(v[row, col])} in {at}"
