"""The ``emit`` feature family: one good-band hyperspectral spectrum per sample.

Tong & Wang (arXiv:2509.03497) compare Sentinel-2 spectral-temporal features with hyperspectral
features from NASA's EMIT imaging spectrometer. EMIT revisits a field irregularly (ISS orbit) and
often through clouds, so the feature is a single spectrum per sample: the *clearest* acquisition
in the season (most valid good bands; ties go to the earliest date), with its few missing values
interpolated linearly over wavelength. Bad (water-absorption) bands are never present: the reader
drops them (``good_wavelengths == 0``) and this module only uses ``R<nm>`` bands of the SampleSet.

Input: the observation-level SampleSet of :func:`cropglobe.sources.emit.sample_points` (preferred), or
a season-windowed composite of it (what the transfer runner passes), for which the feature is the
window's median spectrum per band.

Options:

* ``continuum=True`` divides each spectrum by its upper convex hull over wavelength (continuum
  removal; Clark & Roush 1984, "Reflectance spectroscopy: quantitative analysis techniques for
  remote sensing applications", JGR 89(B7)), which keeps absorption-feature shape and removes
  overall brightness.
* ``pca=k`` projects onto the first ``k`` principal components (scikit-learn PCA) *fitted on the
  given data*. In a transfer experiment that leaks target statistics into the features: fit on the
  source only (:func:`fit_pca`) and pass the fitted model as ``pca_model=`` for both source and
  target.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe.checks import is_whole
from cropglobe.errors import CropGlobeError
from cropglobe.temporal import season

_R_BAND = re.compile(r"^R(\d{3,4}(?:\.\d+)?)$")


def hyperspectral_bands(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Return the indices and wavelengths (nm) of the ``R<nm>`` bands of a SampleSet, by wavelength.

    Raises:
        CropGlobeError: If the SampleSet has no hyperspectral band.
    """
    names = [str(b) for b in ds["band"].values]
    idx = [i for i, n in enumerate(names) if _R_BAND.match(n)]
    if not idx:
        raise CropGlobeError(f"emit: the SampleSet has no hyperspectral bands 'R<nm>' (bands: {names[:6]}...); "
                             "expected an EMIT SampleSet from `cropglobe data emit sample`")
    wl = np.array([float(_R_BAND.match(names[i]).group(1)) for i in idx])  # type: ignore[union-attr]
    order = np.argsort(wl, kind="stable")
    return np.asarray(idx)[order], wl[order]


def _in_window(ds: xr.Dataset, window: str | None, align: str | int) -> np.ndarray:
    """(sample, time) mask of acquisitions inside each sample's season window."""
    n, t = ds.sizes["sample"], ds.sizes["time"]
    if window is None:
        return np.ones((n, t), dtype=bool)
    time = ds["time"].values
    if not np.issubdtype(time.dtype, np.datetime64):
        raise CropGlobeError("emit: window= applies to observation dates; this SampleSet has an integer (composite) "
                             "time axis that is already season-windowed, so leave window unset")
    first, last = season.parse_window(window)
    shifts, _ = season.sample_shifts(ds, align)
    jan1 = pd.to_datetime(ds["year"].values.astype(int).astype(str), format="%Y").to_numpy("datetime64[D]")
    days = (time.astype("datetime64[D]")[None, :] - jan1[:, None]).astype(np.int64) - shifts[:, None]
    return (days + 1 >= first) & (days + 1 <= last)


def valid_fraction(ds: xr.Dataset) -> np.ndarray:
    """Return the (sample, time) fraction of hyperspectral bands holding a valid value."""
    idx, _ = hyperspectral_bands(ds)
    values = ds["reflectance"].transpose("sample", "band", "time").values[:, idx, :]
    return np.isfinite(values).mean(axis=1)


def coverage(ds: xr.Dataset, *, window: str | None = None, align: str | int = "none",
             min_valid: float = 0.5) -> np.ndarray:
    """Return a boolean per sample: does it have an acquisition usable by :func:`emit_features`?"""
    score = np.where(_in_window(ds, window, align), valid_fraction(ds), -1.0)
    return score.max(axis=1) >= min_valid


def clearest_spectra(ds: xr.Dataset, *, window: str | None = None, align: str | int = "none",
                     min_valid: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pick each sample's clearest in-season acquisition and gap-fill it over wavelength.

    On a composite SampleSet (``time_kind == "composite"``, e.g. the season window the transfer
    runner passes) the bins are gap-filled, so "clearest" has no meaning there: the spectrum is
    the per-band median over the window's bins (``best`` is then 0 for every sample).

    Args:
        ds: SampleSet with ``R<nm>`` bands (observation-level or composite).
        window: Season window ``MM-DD:MM-DD`` on each sample's aligned calendar (see
            :mod:`cropglobe.temporal.season`); None uses every acquisition.
        align: ``"none"``, ``"hemisphere"`` or days, as :func:`cropglobe.temporal.season.sample_shifts`.
        min_valid: Least fraction of valid bands an acquisition needs to be used.

    Returns:
        ``(spectra (N, F) float32 without NaN, wavelengths (F,), chosen time index per sample)``.

    Raises:
        CropGlobeError: If a sample has no usable acquisition (names the samples; select them
            with :func:`coverage` first).
    """
    if not 0.0 < float(min_valid) <= 1.0:
        raise CropGlobeError(f"emit: min_valid={min_valid!r}, expected a fraction in (0, 1]")
    idx, wl = hyperspectral_bands(ds)
    values = ds["reflectance"].transpose("sample", "band", "time").values[:, idx, :].astype(np.float32)
    if ds.attrs.get("time_kind") == "composite":
        # gap filling hides which bins were observed: use the window's median spectrum instead
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bands, handled below
            values = np.nanmedian(values, axis=2, keepdims=True)
    score = np.where(_in_window(ds, window, align), np.isfinite(values).mean(axis=1), -1.0)
    best = np.argmax(score, axis=1)  # first maximum = earliest date among the clearest
    best_score = score[np.arange(score.shape[0]), best]
    bad = best_score < min_valid
    if bad.any():
        ids = ds["sample_id"].values.astype(str)[bad]
        where = f" inside window {window!r}" if window else ""
        raise CropGlobeError(
            f"emit: {int(bad.sum())} sample(s) have no acquisition{where} with at least {min_valid:.0%} valid bands "
            f"(e.g. {', '.join(repr(str(i)) for i in ids[:3])}); select covered samples first with "
            "cropglobe.features.emit.coverage(ds) or `cropglobe data emit sample` (drops uncovered points)"
        )
    spectra = values[np.arange(values.shape[0]), :, best]
    for i in np.flatnonzero(~np.isfinite(spectra).all(axis=1)):
        ok = np.isfinite(spectra[i])
        spectra[i] = np.interp(wl, wl[ok], spectra[i, ok])
    return spectra.astype(np.float32), wl, best


def continuum_removed(spectra: np.ndarray, wavelengths: np.ndarray) -> np.ndarray:
    """Divide each spectrum by its upper convex hull over wavelength (Clark & Roush 1984).

    The hull is computed with Qhull (:class:`scipy.spatial.ConvexHull`) on the spectrum plus two
    anchor points below it at the first and last wavelength, so its vertices other than the
    anchors are exactly the upper hull.

    Args:
        spectra: (N, F) reflectance without NaN.
        wavelengths: (F,) increasing wavelengths.

    Returns:
        (N, F) float32 values in (0, 1]; 1 where the spectrum touches its continuum.
    """
    from scipy.spatial import ConvexHull

    x = np.asarray(wavelengths, dtype=float)
    out = np.ones_like(spectra, dtype=np.float32)
    for i, y in enumerate(np.asarray(spectra, dtype=float)):
        floor = y.min() - 1.0
        points = np.column_stack([np.r_[x, x[0], x[-1]], np.r_[y, floor, floor]])
        vertices = np.asarray(ConvexHull(points).vertices)
        upper = np.sort(vertices[vertices < x.size])
        hull = np.interp(x, x[upper], y[upper])
        out[i] = np.divide(y, hull, out=np.ones_like(y), where=hull > 0)
    return out


def fit_pca(ds: xr.Dataset, n_components: int, *, seed: int = 0, **options: Any):
    """Fit a scikit-learn PCA on the (optionally continuum-removed) clearest spectra of ``ds``.

    Fit it on the *source* set and pass it as ``pca_model=`` when computing target features, so
    no target statistics leak into the features.

    Args:
        ds: The SampleSet to fit on (source).
        n_components: Number of principal components.
        seed: Random state of the PCA solver.
        **options: ``window``, ``align``, ``min_valid``, ``continuum`` as :func:`emit_features`.

    Returns:
        The fitted :class:`sklearn.decomposition.PCA`.
    """
    x = emit_features(ds, **options)
    return _pca(x, n_components, seed).fit(x)


def _pca(x: np.ndarray, n_components: Any, seed: int):
    """An unfitted PCA after checking the number of components against the data."""
    from sklearn.decomposition import PCA

    if not is_whole(n_components) or not 0 < n_components <= min(x.shape):
        raise CropGlobeError(f"emit: pca={n_components!r}, expected a whole number in 1..{min(x.shape)} "
                             f"(the fewer of {x.shape[0]} samples and {x.shape[1]} bands)")
    return PCA(n_components=int(n_components), random_state=seed)


def emit_features(ds: xr.Dataset, *, window: str | None = None, align: str | int = "none",
                  min_valid: float = 0.5, continuum: bool = False, pca: int | None = None,
                  pca_model: Any = None, seed: int = 0) -> np.ndarray:
    """Hyperspectral feature vector per sample: the clearest good-band EMIT spectrum, (N, F) float32.

    Source: Tong & Wang (arXiv:2509.03497), hyperspectral EMIT features; continuum removal after
    Clark & Roush (1984); PCA via scikit-learn. See the module docstring for the leakage caveat
    of ``pca``.

    Args:
        ds: SampleSet with ``R<nm>`` bands (e.g. from :func:`cropglobe.sources.emit.sample_points`).
        window: Season window ``MM-DD:MM-DD`` for choosing the acquisition (None = any date).
        align: Alignment of the window per sample (``"none"``, ``"hemisphere"`` or days).
        min_valid: Least fraction of valid bands an acquisition needs.
        continuum: Apply continuum removal.
        pca: Project onto this many principal components fitted on ``ds`` itself.
        pca_model: A PCA fitted elsewhere (e.g. on the source by :func:`fit_pca`); wins over ``pca``.
        seed: Random state of a PCA fitted here.

    Returns:
        Float32 array (N, F) without NaN: F good bands, or the number of components with PCA.
    """
    spectra, wl, _ = clearest_spectra(ds, window=window, align=align, min_valid=min_valid)
    if continuum:
        spectra = continuum_removed(spectra, wl)
    if pca_model is not None:
        expected = getattr(pca_model, "n_features_in_", spectra.shape[1])
        if expected != spectra.shape[1]:
            raise CropGlobeError(f"emit: pca_model was fitted on {expected} bands, this SampleSet gives "
                                 f"{spectra.shape[1]}; expected the same EMIT bands for source and target")
        spectra = pca_model.transform(spectra)
    elif pca is not None:
        spectra = _pca(spectra, pca, seed).fit_transform(spectra)
    out = np.asarray(spectra, dtype=np.float32)
    if not np.isfinite(out).all():  # guard: never hand a model NaN or inf
        raise CropGlobeError("emit: features contain non-finite values; expected a clean reflectance SampleSet")
    return out
