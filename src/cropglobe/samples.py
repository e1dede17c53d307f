"""SampleSet: the one in-memory and on-disk form of labelled pixel time series.

A SampleSet is an :class:`xarray.Dataset` with

* variable ``reflectance`` (float32, dims ``(sample, band, time)``, surface reflectance 0-1,
  NaN = missing; spectral-index bands such as ``NDVI`` hold index values);
* optional per-observation clear-sky information with dims ``(sample, time)``: ``clear``
  (float32 score 0-1, e.g. Cloud Score+ ``cs_cdf``; a boolean mask is stored as 0/1) and/or
  ``scl`` (uint8 Sentinel-2 scene-classification codes);
* per-sample coords ``sample_id`` (str, unique), ``lon``, ``lat`` (float, NaN when unknown),
  ``country`` (ISO 3166 alpha-3), ``year`` (int, the season's year: the calendar year in which the
  season's aligned year starts, so a southern 2019 season runs from July 2019, see
  :mod:`cropglobe.temporal.season_year`) and ``label`` (class name of the set's legend:
  ``attrs["classes"]`` when declared on import, else the paper's seven classes, :mod:`cropglobe.legend`);
* optional per-sample covariates ``cov_<name>`` (float coords, NaN when unknown: soil, terrain ...
  joined on import), which follow the samples through select/concat, compositing and features;
* optionally ``region`` (str, a name given at import, e.g. ``arkansas``; studies select on it);
* the ``band`` index (canonical band names, see :mod:`cropglobe.bands`);
* the ``time`` index: observation or bin-start dates (``datetime64``), or, for composites on an
  aligned season axis, the bin start as an integer day of year (> 365 after the year boundary);
  ``doy`` gives the day of year for both, and composites carry ``bin_days`` (bin width);
* attributes (:data:`ATTR_DEFAULTS`): bands, sensor, processing level, scale applied on import,
  ``time_kind`` (``observations`` or ``composite``), season window, alignment, source, whether the
  data are simulated, and a processing history.

On disk a SampleSet is a Zarr store, written atomically.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe import bands as _bands
from cropglobe import geography
from cropglobe import legend as _legend
from cropglobe.atomic import atomic_path, check_replaceable, is_cropglobe_zarr
from cropglobe.checks import check_coordinates, positive_finite
from cropglobe.errors import CropGlobeError
from cropglobe.zarrcheck import check_store, checksum_encoding, read_error

DIMS = ("sample", "band", "time")
SAMPLE_COORDS = ("sample_id", "lon", "lat", "country", "year", "label")
#: Prefix of per-sample covariate coordinates (``cov_clay``, ``cov_elevation``, ...).
COVARIATE_PREFIX = "cov_"
TIME_KINDS = ("observations", "composite")

#: Attributes every SampleSet carries, with their defaults.
ATTR_DEFAULTS: dict[str, Any] = {
    "sensor": "Sentinel-2",
    "processing_level": "L2A",
    "scale": 1.0,
    "time_kind": "observations",
    "season_window": "",
    "alignment": "none",
    "source": "",
    "simulated": False,
    "history": [],
}


@dataclass(frozen=True)
class SampleArrays:
    """The arrays a SampleSet is built from (:func:`build`).

    Attributes:
        reflectance: Array (sample, band, time) of reflectance or raw scaled values.
        bands: Band names (aliases such as ``B02`` or ``nir08`` are canonicalised).
        time: Observation/bin-start dates, or integer days of year for an aligned composite axis.
        sample_id: Unique sample identifiers.
        label: Class names or aliases (``maize`` -> ``corn``) of the legend ``classes``.
        country: ISO alpha-3 code per sample, or one code for all.
        year: Season year per sample, or one year for all.
        lon: Longitudes (NaN when unknown).
        lat: Latitudes (NaN when unknown).
        clear: Optional (sample, time) clear-sky score 0-1 or boolean mask.
        scl: Optional (sample, time) Sentinel-2 scene classification codes.
        bin_days: Bin width in days per time step (or one width) for composites.
        covariates: Per-sample variables by name (stored as float coords ``cov_<name>``).
    """

    reflectance: np.ndarray
    bands: Sequence[str]
    time: Sequence[Any] | np.ndarray
    sample_id: Sequence[Any]
    label: Sequence[str]
    country: Sequence[str] | str
    year: Sequence[int] | int
    lon: Sequence[float] | None = None
    lat: Sequence[float] | None = None
    clear: np.ndarray | None = None
    scl: np.ndarray | None = None
    bin_days: Sequence[int] | int | None = None
    covariates: Mapping[str, Sequence[float] | np.ndarray] | None = None


def build(arrays: SampleArrays, *, scale: float | None = None, nodata: float | None = None,
          attrs: dict[str, Any] | None = None, where: str = "input",
          classes: Sequence[str] | None = None) -> xr.Dataset:
    """Assemble and validate a SampleSet from arrays.

    Raw values stored as scaled integers are converted here, never guessed: pass ``scale`` (e.g.
    ``1e-4`` for Sentinel-2 L2A digital numbers) and ``nodata`` (e.g. 65535). Without a declared
    scale, values above 1.5 are an error (they look like digital numbers). With one, values outside
    a band's range after scaling are NaN (:func:`cropglobe.bands.mask_out_of_range`), counted in
    ``attrs["masked_out_of_range"]`` (added to the caller's count) and ``..._by_band``.

    Args:
        arrays: The reflectance, its axes and the per-sample coordinates (:class:`SampleArrays`).
        scale: Factor applied to raw values (recorded in attrs).
        nodata: Raw value meaning missing (set to NaN before scaling).
        attrs: Extra attributes (sensor, processing_level, source, time_kind, ...).
        where: Name of the input for error messages (a file path, say).
        classes: The set's own legend (:func:`cropglobe.legend.check_classes`), recorded in
            ``attrs["classes"]``; default: the paper's seven classes (``attrs["classes"]`` given in
            ``attrs`` counts too).

    Returns:
        The validated SampleSet.

    Raises:
        CropGlobeError: On any inconsistency (see :func:`validate`).
    """
    reflectance, bands, time, sample_id = arrays.reflectance, arrays.bands, arrays.time, arrays.sample_id
    label, country, year, lon, lat = arrays.label, arrays.country, arrays.year, arrays.lon, arrays.lat
    clear, scl, bin_days, covariates = arrays.clear, arrays.scl, arrays.bin_days, arrays.covariates
    values = np.asarray(reflectance)
    if values.ndim != 3:
        raise CropGlobeError(f"{where}: reflectance must have 3 dims (sample, band, time), got shape {values.shape}")
    values = values.astype(np.float32, copy=True)
    if nodata is not None:
        values[values == np.float32(nodata)] = np.nan
    n_sample, n_band, n_time = values.shape
    band_names = [_bands.canonical_band(b) for b in bands]
    masked: dict[str, int] = {}
    if scale is not None:
        positive_finite(scale, f"{where}: scale")
        values *= np.float32(scale)
        masked = _bands.mask_out_of_range(values, band_names)

    def per_sample(value: Any, name: str, dtype: Any) -> np.ndarray:
        arr = np.asarray(value)
        if arr.ndim == 0:
            arr = np.full(n_sample, arr)
        if arr.shape != (n_sample,):
            raise CropGlobeError(f"{where}: {name} has {arr.shape[0] if arr.ndim else 1} values for {n_sample} samples")
        return arr.astype(dtype)

    given = classes if classes is not None else (attrs or {}).get("classes")
    legend = _legend.DEFAULT if given is None else _legend.check_classes(list(given), f"{where}: classes")
    labels = _legend.normalize_all(np.asarray(label, dtype=str).reshape(-1), legend, where) if n_sample else []
    coords: dict[str, Any] = {
        "band": ("band", band_names),
        "time": ("time", np.asarray(time)),
        "sample_id": ("sample", per_sample(np.asarray(sample_id).astype(str), "sample_id", str)),
        "lon": ("sample", per_sample(np.nan if lon is None else lon, "lon", np.float64)),
        "lat": ("sample", per_sample(np.nan if lat is None else lat, "lat", np.float64)),
        "country": ("sample", np.char.upper(per_sample(country, "country", str))),
        "year": ("sample", check_years(per_sample(year, "year", object), where)),
        "label": ("sample", np.asarray(labels, dtype=str).reshape(n_sample)),
    }
    if bin_days is not None:
        coords["bin_days"] = ("time", np.broadcast_to(np.asarray(bin_days, dtype=np.int32), (n_time,)).copy())
    data_vars: dict[str, Any] = {"reflectance": (DIMS, values)}
    if clear is not None:
        data_vars["clear"] = (("sample", "time"), np.asarray(clear, dtype=np.float32))
    if scl is not None:
        data_vars["scl"] = (("sample", "time"), np.asarray(scl, dtype=np.uint8))
    for name, vals in (covariates or {}).items():
        coords[f"{COVARIATE_PREFIX}{name}"] = ("sample", per_sample(vals, f"covariate {name!r}", np.float64))
    full_attrs = {**ATTR_DEFAULTS, **(attrs or {})}
    if scale is not None:
        full_attrs["masked_out_of_range"] = int(full_attrs.get("masked_out_of_range") or 0) + sum(masked.values())
        full_attrs["masked_out_of_range_by_band"] = masked
    full_attrs["history"] = list(full_attrs.get("history") or [])
    full_attrs.pop("classes", None)
    if not _legend.is_default(legend):
        full_attrs["classes"] = list(legend)
    full_attrs["bands"] = band_names
    full_attrs["scale"] = float(scale) if scale is not None else float(full_attrs.get("scale", 1.0))
    if bin_days is not None and "time_kind" not in (attrs or {}):
        full_attrs["time_kind"] = "composite"
    ds = xr.Dataset(data_vars, coords=coords, attrs=full_attrs)
    return validate(_add_doy(ds), where=where)


def covariate_names(ds: xr.Dataset) -> list[str]:
    """Names of the per-sample covariate coords (``cov_*``) of a SampleSet."""
    return [str(k) for k in ds.coords if str(k).startswith(COVARIATE_PREFIX)]


def _add_doy(ds: xr.Dataset) -> xr.Dataset:
    t = ds["time"].values
    if np.issubdtype(t.dtype, np.datetime64):
        doy = pd.DatetimeIndex(t).day_of_year.to_numpy().astype(np.int32)
    else:
        doy = np.asarray(t).astype(np.int32)
    return ds.assign_coords(doy=("time", doy))


def validate(ds: xr.Dataset, where: str = "SampleSet") -> xr.Dataset:
    """Check that a dataset is a valid SampleSet and return it.

    Checks: the ``reflectance`` variable and its dims, a non-empty sample/band/time extent, known
    band names, per-sample coords, unique sample ids, labels inside the set's legend, ISO alpha-3
    countries, values inside each band's range (reflectance 0-1.5) and an increasing time axis.

    Args:
        ds: The dataset to check.
        where: Name of the input for error messages (a file path, say).

    Raises:
        CropGlobeError: With a message naming the field, the offending values and what was expected.
    """
    if not isinstance(ds, xr.Dataset) or "reflectance" not in ds:
        raise CropGlobeError(f"{where}: expected an xarray.Dataset with a 'reflectance' variable")
    refl = ds["reflectance"]
    if refl.dims != DIMS:
        raise CropGlobeError(f"{where}: 'reflectance' has dims {refl.dims}, expected {DIMS}")
    for dim in DIMS:
        if ds.sizes[dim] == 0:
            raise CropGlobeError(f"{where}: the SampleSet is empty (0 along '{dim}')")
    if refl.dtype != np.float32:
        raise CropGlobeError(f"{where}: 'reflectance' has dtype {refl.dtype}, expected float32")
    for name in ("band", "time", *SAMPLE_COORDS):
        if name not in ds.coords:
            raise CropGlobeError(f"{where}: missing coordinate {name!r}")
    band_names = [str(b) for b in ds["band"].values]
    for b in band_names:
        if _bands.canonical_band(b) != b:
            raise CropGlobeError(f"{where}: band {b!r} is not canonical, expected {_bands.canonical_band(b)!r}")
    if len(set(band_names)) != len(band_names):
        raise CropGlobeError(f"{where}: duplicate band names in {band_names}")
    ids = ds["sample_id"].values.astype(str)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = ", ".join(repr(str(u)) for u in uniq[counts > 1][:5])
        raise CropGlobeError(
            f"{where}: duplicate sample_id values ({int((counts > 1).sum())}): {dup}; expected unique ids"
        )
    classes = _legend.of(ds.attrs)
    if "classes" in ds.attrs:
        _legend.check_classes(list(classes), f"{where}: attribute 'classes'")
    _legend.check_labels(ds["label"].values, classes, where=f"{where}: coordinate 'label'")
    check_coordinates(ds["lon"].values, ds["lat"].values, where, ids)
    for code in np.unique(ds["country"].values.astype(str)):
        try:
            geography.country(code)
        except CropGlobeError as err:
            raise CropGlobeError(f"{where}: coordinate 'country': {err}") from None
    t = ds["time"].values
    if np.issubdtype(t.dtype, np.datetime64):
        t = t.astype("datetime64[ns]").astype(np.int64)
    elif not np.issubdtype(t.dtype, np.number):
        raise CropGlobeError(
            f"{where}: time coordinate has dtype {t.dtype}, expected datetime64 or integer day of year"
        )
    if (np.diff(t) <= 0).any():
        raise CropGlobeError(f"{where}: the time axis is not strictly increasing; expected sorted, unique dates")
    kind = ds.attrs.get("time_kind", "observations")
    if kind not in TIME_KINDS:
        raise CropGlobeError(f"{where}: attribute time_kind={kind!r}, expected one of {TIME_KINDS}")
    if kind == "composite" and "bin_days" not in ds.coords:
        raise CropGlobeError(f"{where}: a composite SampleSet needs a 'bin_days' coordinate along time")
    for name in covariate_names(ds):
        if ds[name].dims != ("sample",) or not np.issubdtype(ds[name].dtype, np.number):
            raise CropGlobeError(f"{where}: covariate {name!r} has dims {ds[name].dims} and dtype {ds[name].dtype}; "
                                 "expected numbers along 'sample'")
    _check_range(ds, band_names, where)
    return ds


def _check_range(ds: xr.Dataset, band_names: list[str], where: str) -> None:
    values = ds["reflectance"].values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bands
        lo = np.nanmin(values, axis=(0, 2))
        hi = np.nanmax(values, axis=(0, 2))
    for b, mn, mx in zip(band_names, lo, hi, strict=True):
        if np.isnan(mn):
            continue
        low, high = _bands.valid_range(b)
        if mn < low or mx > high:
            hint = ""
            if not (np.isfinite(mn) and np.isfinite(mx)):
                hint = " (infinite values are not reflectance: store missing values as NaN, or declare their nodata)"
            elif mx > high and mx > 1.5:
                hint = (" (the values look like scaled integers: declare the scale on import, e.g. "
                        "scale=1e-4 and nodata=65535 for Sentinel-2 L2A digital numbers)")
            raise CropGlobeError(
                f"{where}: band {b} has values in [{mn:.4g}, {mx:.4g}], expected [{low}, {high}]{hint}"
            )


def save(ds: xr.Dataset, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Validate and write a SampleSet to a Zarr store atomically.

    Args:
        ds: The SampleSet.
        path: Destination folder (``*.zarr`` by convention); a previous cropglobe store there is
            replaced once the new one is complete.
        overwrite: Also replace a file or folder at ``path`` that is not a cropglobe store.

    Returns:
        The path written.

    Raises:
        CropGlobeError: When ``path`` holds something else and ``overwrite`` is not set.
    """
    check_output(path, overwrite)
    validate(ds, where=str(path))
    return write_zarr(ds, path, encoding=_chunking(ds), overwrite=overwrite)


#: Season years a SampleSet accepts: a year outside is a typo, or an integer that would wrap in int32.
YEARS = (1900, 2200)


def check_years(year: Any, where: str) -> np.ndarray:
    """Season years as int32, after checking each is a whole number in :data:`YEARS`.

    Raises:
        CropGlobeError: Naming the first bad year and how many there are (never a silent wrap).
    """
    arr = np.asarray(year)
    try:
        values = arr.astype(np.float64) if arr.dtype.kind != "b" else None
    except (TypeError, ValueError, OverflowError):
        values = None
    if values is None:
        raise CropGlobeError(f"{where}: year {arr.reshape(-1)[:1].tolist()}: expected whole numbers (years "
                             f"{YEARS[0]}-{YEARS[1]})")
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < YEARS[0]) | (values > YEARS[1])
    if bad.any():
        first = arr.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]]
        raise CropGlobeError(f"{where}: year {first!r} ({int(bad.sum())} sample(s)): expected a whole number from "
                             f"{YEARS[0]} to {YEARS[1]}")
    return values.astype(np.int32)


def check_output(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Fail early unless ``path`` is new, empty, a previous cropglobe Zarr store, or ``overwrite`` is set.

    Raises:
        CropGlobeError: Naming the path and the ``--overwrite`` way out.
    """
    check_replaceable(path, "cropglobe Zarr store", is_cropglobe_zarr, overwrite)


def write_zarr(ds: xr.Dataset, path: str | os.PathLike, encoding: dict | None = None,
               overwrite: bool = False) -> Path:
    """Write any dataset as a Zarr v2 store atomically (strings as fixed-width text, tuples as lists).

    This is the writer behind :func:`save`; it does not validate (feature tables use it too). It
    refuses to replace anything but a previous cropglobe store unless ``overwrite`` is set.
    """
    check_output(path, overwrite)
    out = ds.copy()
    for name in list(out.coords) + list(out.data_vars):
        if out[name].dtype == object or out[name].dtype.kind == "U":
            out[name] = out[name].astype(str)
    out.attrs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.attrs.items()}
    # a CRC32C per chunk (cropglobe.zarrcheck.checksum_encoding): a bit flip is an error on read, not wrong values
    encoding = {name: {**checksum_encoding(out[name].dtype), **(encoding or {}).get(name, {})}
                for name in out.variables}
    with atomic_path(path) as tmp:
        # every chunk on disk, empty or not: a missing chunk then means damage (cropglobe.zarrcheck)
        out.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2, encoding=encoding, write_empty_chunks=True)
    return Path(path)


#: Target size of one stored chunk: whole series (all bands x times) of a block of samples.
CHUNK_BYTES = 8_000_000


def _chunking(ds: xr.Dataset) -> dict[str, dict[str, tuple[int, ...]]]:
    """Chunk per-sample variables by blocks of samples holding whole series (read as one piece)."""
    per_sample = ds["reflectance"].dtype.itemsize * ds.sizes["band"] * ds.sizes["time"]
    block = int(max(1, min(ds.sizes["sample"], CHUNK_BYTES // per_sample)))
    return {name: {"chunks": tuple(block if d == "sample" else ds.sizes[d] for d in var.dims)}
            for name, var in ds.data_vars.items() if var.dims and var.dims[0] == "sample"}


def load(path: str | os.PathLike) -> xr.Dataset:
    """Read and validate a SampleSet from a Zarr store (loaded into memory).

    Raises:
        CropGlobeError: If the path does not exist, is not a Zarr store, or fails validation.
    """
    p = Path(path)
    if not p.exists():
        raise CropGlobeError(f"{p}: no such SampleSet (expected a Zarr folder written by cropglobe)")

    check_store(p)  # missing or truncated chunks: an error, never NaN or a crash in the decompressor
    try:
        ds = xr.open_dataset(p, engine="zarr", chunks=None, consolidated=None).load()
    except Exception as err:  # any reader failure is a bad input here (a chunk failing its checksum: named)
        raise read_error(p, err, "a Zarr SampleSet") from None
    ds.attrs["history"] = list(ds.attrs.get("history") or [])
    return validate(ds, where=str(p))


def select(
    ds: xr.Dataset,
    country: str | Iterable[str] | None = None,
    label: str | Iterable[str] | None = None,
    year: int | Iterable[int] | None = None,
) -> xr.Dataset:
    """Return the samples matching every given criterion (each a value or a list of values).

    Raises:
        CropGlobeError: If nothing matches.
    """
    keep = np.ones(ds.sizes["sample"], dtype=bool)
    for name, wanted in (("country", country), ("label", label), ("year", year)):
        if wanted is None:
            continue
        values = [wanted] if isinstance(wanted, (str, int, np.integer)) else list(wanted)
        if name == "country":
            values = [str(v).upper() for v in values]
        elif name == "label":
            values = [_legend.normalize(v, classes_of(ds)) for v in values]
        keep &= np.isin(ds[name].values, values)
    if not keep.any():
        raise CropGlobeError(f"no samples match country={country!r}, label={label!r}, year={year!r}")
    return ds.isel(sample=np.flatnonzero(keep))


def concat(sets: Sequence[xr.Dataset]) -> xr.Dataset:
    """Concatenate SampleSets along ``sample``; bands must match and time axes are unioned.

    Observation-level sets with different dates are outer-joined on time (NaN where a sample has
    no observation); composites must share their time axis. A covariate (``cov_*``) that some
    sets lack is NaN for their samples.

    Raises:
        CropGlobeError: On mismatched bands, time kinds or duplicate sample ids.
    """
    if not sets:
        raise CropGlobeError("concat: no SampleSets given")
    first = sets[0]
    for i, other in enumerate(sets[1:], start=1):
        if list(other["band"].values) != list(first["band"].values):
            raise CropGlobeError(
                f"concat: set {i} has bands {list(other['band'].values)}, expected {list(first['band'].values)}"
            )
        if other.attrs.get("time_kind") != first.attrs.get("time_kind"):
            raise CropGlobeError("concat: cannot mix observation-level and composite SampleSets")
        if classes_of(other) != classes_of(first):
            raise CropGlobeError(f"concat: set {i} has classes {list(classes_of(other))}, expected "
                                 f"{list(classes_of(first))}; move both to one legend first (a study's "
                                 "classes and class_map, cropglobe.legend.translate)")
    join = "outer" if first.attrs.get("time_kind") == "observations" else "exact"
    covs = list(dict.fromkeys(c for s in sets for c in covariate_names(s)))
    sets = [s.assign_coords({c: ("sample", np.full(s.sizes["sample"], np.nan)) for c in covs if c not in s.coords})
            for s in sets]
    if any("region" in s.coords for s in sets):  # sets without a named region: "" (none)
        sets = [s if "region" in s.coords else s.assign_coords(region=("sample", np.full(s.sizes["sample"], "")))
                for s in sets]
    try:
        out = xr.concat([s.drop_vars("doy") for s in sets], dim="sample", join=join,
                        combine_attrs="override", coords="different", compat="equals")
    except ValueError as err:
        raise CropGlobeError(f"concat: time axes differ between composite sets ({err})") from None
    out["reflectance"] = out["reflectance"].astype(np.float32)
    out.attrs["simulated"] = any(bool(s.attrs.get("simulated")) for s in sets)
    return validate(_add_doy(out), where="concat")


def with_region(ds: xr.Dataset, region: str) -> xr.Dataset:
    """Name the region of every sample (the optional per-sample ``region`` coordinate, lower case).

    Raises:
        CropGlobeError: For an empty name, or one with ``:`` or ``+`` (they join region names in studies).
    """
    name = str(region).strip().lower()
    if not name or ":" in name or "+" in name or "/" in name:
        raise CropGlobeError(f"region {region!r}: expected a non-empty name without ':', '+' or '/' "
                             "(e.g. arkansas, sw-france)")
    out = ds.assign_coords(region=("sample", np.full(ds.sizes["sample"], name)))
    return add_history(out, f"region {name}")


def classes_of(ds: xr.Dataset) -> tuple[str, ...]:
    """The legend of a SampleSet: ``attrs["classes"]``, else the paper's seven classes."""
    return _legend.of(ds.attrs)


def with_classes(ds: xr.Dataset, labels: np.ndarray, classes: Sequence[str]) -> xr.Dataset:
    """``ds`` with new labels of the legend ``classes`` (recorded in its attributes unless the default)."""
    classes = _legend.check_classes(list(classes))
    _legend.check_labels(labels, classes, where="with_classes")
    out = ds.assign_coords(label=("sample", np.asarray(labels, dtype=str)))
    out.attrs = dict(ds.attrs)
    out.attrs.pop("classes", None)
    if not _legend.is_default(classes):
        out.attrs["classes"] = list(classes)
    return out


def label_codes(ds: xr.Dataset, classes: Sequence[str] | None = None) -> np.ndarray:
    """Return the integer class index of each sample in ``classes`` (default: the set's legend;
    for the paper's seven classes ``corn`` = 0 ... ``other`` = 6).

    Raises:
        CropGlobeError: For a label outside ``classes``.
    """
    classes = tuple(classes) if classes is not None else classes_of(ds)
    _legend.check_labels(ds["label"].values, classes, where="label_codes")
    lookup = {c: i for i, c in enumerate(classes)}
    return np.array([lookup[str(x)] for x in ds["label"].values], dtype=np.int64)


def add_history(ds: xr.Dataset, step: str) -> xr.Dataset:
    """Return ``ds`` with ``step`` appended to its processing history attribute."""
    ds.attrs["history"] = [*list(ds.attrs.get("history") or []), step]
    return ds
