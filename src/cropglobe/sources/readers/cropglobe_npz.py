"""Read the CropGlobe release (Tong & Wang, arXiv:2509.03497): median composites and harmonic tables.

Files per country (hub dataset ``x-ytong/CropGlobe``):

* ``median_S2_{ISO3}_month1-12_day5.npz``: keys ``fea`` and ``lbl``; 10 Sentinel-2 bands
  (B2 B3 B4 B5 B6 B7 B8 B8A B11 B12) x 73 five-day median bins of the calendar year from DOY 1;
* ``median_S2_{ISO3}_month5-11_day5.npz``: the same for May-November (43 bins from DOY 121);
* ``harmonic_{ISO3}_month5-11.npz``: ``fea`` is a per-sample harmonic coefficient vector.

``fea`` is either stacked ``(N, 10, T)`` (or ``(N, T, 10)``, detected from the axis of size 10)
or flattened ``(N, 10*T)``. Flattened rows are read **band-major** by default (all T bins of B2,
then of B3, ... = ``fea.reshape(N, 10, T)``, NumPy's C order of a stacked array); pass
``flatten="time-major"`` for rows laid out as (T, 10). The layout found is logged and stored in
``attrs["layout"]``. ``lbl`` holds class indices in the release order corn, soybean, rice, wheat,
sugarcane, cotton, other. The time axis is the integer bin-start day of the calendar year with
``bin_days`` = 5 (the composite contract of :mod:`cropglobe.temporal.composite`, ``alignment="none"``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import xarray as xr

from cropglobe import bands as _bands
from cropglobe import samples, taxonomy
from cropglobe.checks import not_a_file
from cropglobe.choices import Flatten as Flatten  # re-exported
from cropglobe.choices import ReleaseWindow
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import labels as _labels

log = logging.getLogger(__name__)

#: Season windows of the release: file tag -> (first bin-start DOY, number of 5-day bins, window).
WINDOWS: dict[ReleaseWindow, tuple[int, int, str]] = {
    "month1-12": (1, 73, "01-01:12-31"),
    "month5-11": (121, 43, "05-01:11-30"),
}
_NAME = re.compile(r"^(?:median_S2|harmonic)_([A-Za-z]{3})_(month\d+-\d+)")


def _load(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    p = Path(path)
    if not p.is_file():
        raise not_a_file(p, "a CropGlobe .npz with keys 'fea' and 'lbl'")
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = list(z.keys())
            if "fea" not in keys or "lbl" not in keys:
                raise CropGlobeError(f"{p}: keys {keys}, expected 'fea' and 'lbl'")
            return np.asarray(z["fea"]), np.asarray(z["lbl"])
    except CropGlobeError:
        raise
    except Exception as err:  # any reader failure is a bad input here
        raise CropGlobeError(f"{p}: cannot be read as .npz ({type(err).__name__}: {err})") from None


def _meta(path: Path, country: str | None, window: str | None) -> tuple[str, str]:
    m = _NAME.match(path.name)
    iso3 = (country or (m.group(1) if m else "")).upper()
    win = window or (m.group(2) if m else "")
    if not iso3:
        raise CropGlobeError(f"{path}: the file name does not say the country (median_S2_{{ISO3}}_...); pass country=")
    if win not in WINDOWS:
        raise CropGlobeError(f"{path}: season window {win or '(none in the name)'!r}, expected one of "
                             f"{', '.join(WINDOWS)}; pass window=")
    return iso3, win


def _labels_of(lbl: np.ndarray, n: int, where: str, unknown: str) -> tuple[np.ndarray, np.ndarray, dict]:
    lab = np.asarray(lbl).reshape(-1)
    if lab.shape[0] != n:
        raise CropGlobeError(f"{where}: 'lbl' has {lab.shape[0]} values for {n} rows of 'fea'")
    if lab.dtype.kind == "f" and np.all(np.isfinite(lab)) and np.all(lab == np.round(lab)):
        lab = lab.astype(np.int64)
    if lab.dtype.kind not in "iu":
        raise CropGlobeError(f"{where}: 'lbl' has dtype {lab.dtype}, expected integer class indices 0..6")
    ok = (lab >= 0) & (lab < len(taxonomy.CLASSES))
    classes = np.where(ok, np.array(taxonomy.CLASSES, dtype=object)[np.clip(lab, 0, 6)], "")
    classes, keep, unknown_counts = _labels.resolve_unknown(
        classes, lab, unknown, where, "lbl", f"indices 0..6 ({', '.join(taxonomy.CLASSES)})")
    return classes, keep, unknown_counts


def read_cropglobe_npz(
    path: str | os.PathLike,
    *,
    year: int,
    country: str | None = None,
    window: str | None = None,
    flatten: Flatten = "band-major",
    scale: float | None = None,
    unknown: str = "error",
) -> xr.Dataset:
    """Read a CropGlobe ``median_S2_*`` npz into a validated composite SampleSet.

    Args:
        path: The npz file.
        year: Season year of the composites (the release does not store it).
        country: ISO3 code; default from the file name.
        window: ``"month1-12"`` or ``"month5-11"``; default from the file name.
        flatten: Order of flattened ``(N, 10*T)`` rows: ``"band-major"`` or ``"time-major"``.
        scale: Factor for scaled-integer values (e.g. 1e-4); none when already reflectance.
        unknown: Policy for label indices outside 0..6: ``"error"``, ``"other"`` or ``"drop"``.

    Raises:
        CropGlobeError: Unreadable file, missing keys, shapes that do not fit 10 bands x the
            window's bins, labels outside the class list.
    """
    p = Path(path)
    where = str(p)
    fea, lbl = _load(p)
    iso3, win = _meta(p, country, window)
    start, n_bins, season = WINDOWS[win]
    n_b = len(_bands.S2_BANDS)
    if flatten not in ("band-major", "time-major"):
        raise CropGlobeError(f"flatten={flatten!r}: expected 'band-major' or 'time-major'")
    if fea.ndim == 3 and fea.shape[1:] == (n_b, n_bins):
        cube, layout = fea, "stacked (N, band, time)"
    elif fea.ndim == 3 and fea.shape[1:] == (n_bins, n_b):
        cube, layout = fea.transpose(0, 2, 1), "stacked (N, time, band)"
    elif fea.ndim == 2 and fea.shape[1] == n_b * n_bins:
        if flatten == "band-major":
            cube = fea.reshape(len(fea), n_b, n_bins)
        else:
            cube = fea.reshape(len(fea), n_bins, n_b).transpose(0, 2, 1)
        layout = f"flattened (N, {n_b}*{n_bins}) {flatten}"
    else:
        raise CropGlobeError(f"{where}: 'fea' has shape {fea.shape}, expected (N, {n_b}, {n_bins}), "
                             f"(N, {n_bins}, {n_b}) or (N, {n_b * n_bins}) for {n_b} bands x {n_bins} bins ({win})")
    log.info("%s: 'fea' layout %s", where, layout)
    classes, keep, unknown_counts = _labels_of(lbl, len(fea), where, unknown)
    idx = np.flatnonzero(keep)
    attrs = {
        "source": f"CropGlobe release {p.name} (Tong & Wang, arXiv:2509.03497)",
        "source_file": where, "layout": layout, "season_window": season, "alignment": "none",
        "bands_present": list(_bands.S2_BANDS),
        "original_label_counts": _labels.label_counts(np.asarray(lbl).reshape(-1)),
        "unknown_labels": unknown_counts, "unknown_policy": unknown,
    }
    ds = samples.build(
        samples.SampleArrays(np.asarray(cube)[idx], bands=_bands.S2_BANDS,
                             time=np.arange(n_bins, dtype=np.int32) * 5 + start,
                             sample_id=[f"{iso3}_{win}_{i:06d}" for i in idx], label=classes[idx], country=iso3,
                             year=int(year), bin_days=5),
        scale=scale, attrs=attrs, where=where,
    )
    return samples.add_history(ds, f"import cropglobe {p.name} ({layout})")


def read_cropglobe_harmonic(
    path: str | os.PathLike, *, year: int, country: str | None = None, unknown: str = "error"
) -> xr.Dataset:
    """Read a CropGlobe ``harmonic_*`` npz as a precomputed feature table.

    The result is an :class:`xarray.Dataset` with variable ``features`` (float32, dims
    ``(sample, feature)``, features named ``h0``, ``h1``, ...) and the per-sample coords of a
    SampleSet (``sample_id``, ``label``, ``country``, ``year``, ``lon``, ``lat``);
    ``attrs["feature"] == "harmonic"`` and ``attrs["kind"] == "vector"``. ``ds["features"].values``
    is the ``(N, F)`` matrix the transfer runner takes in place of computing ``harmonic``
    features (the same shape as :data:`cropglobe.features.families.FEATURES` ``kind == "vector"``).

    Raises:
        CropGlobeError: Unreadable file, missing keys, non-2D ``fea``, NaNs or labels outside 0..6.
    """
    p = Path(path)
    where = str(p)
    fea, lbl = _load(p)
    iso3, win = _meta(p, country, None if _NAME.match(p.name) else "month5-11")
    if fea.ndim != 2:
        raise CropGlobeError(f"{where}: 'fea' has shape {fea.shape}, expected (N, n_features) harmonic coefficients")
    if not np.all(np.isfinite(fea)):
        raise CropGlobeError(
            f"{where}: 'fea' has {int((~np.isfinite(fea)).sum())} NaN/inf values; expected finite features"
        )
    classes, keep, unknown_counts = _labels_of(lbl, len(fea), where, unknown)
    idx = np.flatnonzero(keep)
    n = len(idx)
    coords = {
        "feature": ("feature", [f"h{i}" for i in range(fea.shape[1])]),
        "sample_id": ("sample", np.array([f"{iso3}_harmonic_{i:06d}" for i in idx])),
        "label": ("sample", classes[idx].astype(str)),
        "country": ("sample", np.full(n, iso3)),
        "year": ("sample", samples.check_years(np.full(n, year, dtype=object), where)),
        "lon": ("sample", np.full(n, np.nan)),
        "lat": ("sample", np.full(n, np.nan)),
    }
    attrs = {"feature": "harmonic", "kind": "vector", "season_window": WINDOWS[win][2],
             "source": f"CropGlobe release {p.name} (Tong & Wang, arXiv:2509.03497)", "source_file": where,
             "original_label_counts": _labels.label_counts(np.asarray(lbl).reshape(-1)),
             "unknown_labels": unknown_counts, "unknown_policy": unknown, "simulated": False}
    return xr.Dataset({"features": (("sample", "feature"), fea[idx].astype(np.float32))}, coords=coords, attrs=attrs)


def save_features(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a feature table (from :func:`read_cropglobe_harmonic`) to a Zarr store atomically."""
    return samples.write_zarr(ds, path)
