"""Tests for cropglobe.features.emit: clearest date, gap filling, continuum removal, PCA, models."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from tests.sources.emit import data
from tests.sources.emit.conftest import points_table

from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.features.emit import clearest_spectra, continuum_removed, coverage, emit_features, fit_pca
from cropglobe.sources.emit import sample_points

CELLS = [(r, c) for r in range(1, data.NY) for c in range(1, data.NX) if (r, c) != (data.NY - 1, 0)]


@pytest.fixture()
def two_dates(tmp_path):
    """A hazy June granule (many fill values) and a clear August one; labels by swath half."""
    hazy = data.make_scene(brightness=0.8, fill_pixels=(),
                           fill_bands=tuple((d, c, b) for d in range(data.DOWN) for c in range(data.CROSS)
                                            for b in range(0, 20, 2)))
    clear = data.make_scene(fill_pixels=(), fill_bands=((3, 4, 2),))
    g1 = data.write_granule(tmp_path / "june.nc", hazy, time="2023-06-10T10:00:00Z")
    g2 = data.write_granule(tmp_path / "aug.nc", clear, time="2023-08-20T10:00:00Z")
    labels = ["corn" if c < 4 else "wheat" for _, c in CELLS]
    return sample_points([g1, g2], points_table(CELLS, labels=labels)), clear


def test_clearest_date_is_chosen_and_gaps_filled(two_dates):
    ds, clear = two_dates
    spectra, wl, best = clearest_spectra(ds)
    assert (best == 1).all()  # August is clearer for every sample
    assert np.isfinite(spectra).all() and spectra.dtype == np.float32
    np.testing.assert_allclose(wl, data.WAVELENGTHS[data.GOOD], atol=0.05)
    i = CELLS.index((data.NY - 1 - 4, 3))  # raw (3, 4) has band 2 filled -> interpolated over wavelength
    good_pos = int(np.flatnonzero(np.flatnonzero(data.GOOD) == 2)[0])
    truth = data.spectrum(3, 4)[data.GOOD]
    expected = np.interp(wl[good_pos], wl[[good_pos - 1, good_pos + 1]], truth[[good_pos - 1, good_pos + 1]])
    assert spectra[i, good_pos] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_array_equal(np.delete(spectra[i], good_pos), np.delete(truth, good_pos))


def test_window_restricts_the_dates(two_dates):
    ds, _ = two_dates
    _, _, best = clearest_spectra(ds, window="05-01:07-31", min_valid=0.5)
    assert (best == 0).all()
    with pytest.raises(CropGlobeError, match="no acquisition inside window '09-01:10-31'"):
        clearest_spectra(ds, window="09-01:10-31")
    assert not coverage(ds, window="09-01:10-31").any() and coverage(ds).all()
    with pytest.raises(CropGlobeError, match="season window"):
        emit_features(ds, window="June")


def test_bad_bands_and_fill_never_reach_a_model(two_dates):
    ds, _ = two_dates
    x = emit_features(ds)
    assert x.shape == (len(CELLS), int(data.GOOD.sum()))
    assert x.dtype == np.float32 and np.isfinite(x).all()
    assert x.max() <= 1.5 and x.min() >= 0  # no POISON (7.5) from bad bands, no -9999 fill
    y = samples.label_codes(ds)
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(x, y)
    proba = model.predict_proba(x)
    assert np.isfinite(proba).all() and (model.predict(x) == y).mean() > 0.9


def test_continuum_removal_on_a_known_absorption():
    wl = np.linspace(400, 2400, 21)
    line = 0.1 + 0.0002 * (wl - 400)
    spectrum = line.copy()
    spectrum[10] *= 0.6  # one absorption band at 1400 nm
    spectrum[3] *= 0.9
    out = continuum_removed(spectrum[None, :].astype(np.float32), wl)[0]
    expected = np.ones_like(wl)
    expected[10], expected[3] = 0.6, 0.9
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    convex = 0.5 - 1e-7 * (wl - 1400) ** 2  # a concave-down spectrum is its own continuum
    np.testing.assert_allclose(continuum_removed(convex[None, :], wl)[0], 1.0, rtol=1e-6)


def test_continuum_and_pca_options(two_dates):
    ds, _ = two_dates
    cr = emit_features(ds, continuum=True)
    assert np.isfinite(cr).all() and cr.max() <= 1.0 + 1e-6 and cr.min() > 0
    np.testing.assert_allclose(cr.max(axis=1), 1.0, rtol=1e-6)
    pcs = emit_features(ds, pca=3)
    assert pcs.shape == (len(CELLS), 3) and pcs.dtype == np.float32
    with pytest.raises(CropGlobeError, match="pca=500"):
        emit_features(ds, pca=500)


def test_pca_fitted_on_source_is_applied_to_target(two_dates):
    ds, _ = two_dates
    source, target = ds.isel(sample=slice(0, 30)), ds.isel(sample=slice(30, None))
    model = fit_pca(source, 4, continuum=True)
    x_target = emit_features(target, continuum=True, pca_model=model)
    expected = model.transform(emit_features(target, continuum=True)).astype(np.float32)
    np.testing.assert_allclose(x_target, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(CropGlobeError, match="fitted on"):
        emit_features(target.isel(band=slice(0, 10)), pca_model=model)


def test_uncovered_samples_and_non_emit_sets_fail_clearly(tmp_path, granule, tiny_observations):
    ds = sample_points([granule], points_table([(5, 3), (0, 0)]), drop_uncovered=False)
    with pytest.raises(CropGlobeError, match=r"1 sample\(s\) have no acquisition.*'p001_0_0'"):
        emit_features(ds)
    assert list(coverage(ds)) == [True, False]
    assert emit_features(ds.isel(sample=np.flatnonzero(coverage(ds)))).shape == (1, data.GOOD.sum())
    with pytest.raises(CropGlobeError, match="no hyperspectral bands"):
        emit_features(tiny_observations)
    with pytest.raises(CropGlobeError, match="min_valid"):
        emit_features(ds, min_valid=0)


def test_registered_as_a_vector_family():
    from cropglobe.features import families as features

    spec = features.get_feature("emit")
    assert spec.fn is emit_features and spec.kind == "vector"


def test_composite_input_gives_the_window_median_spectrum():
    rng = np.random.default_rng(0)
    values = rng.uniform(0.05, 0.6, size=(4, 6, 5)).astype(np.float32)
    values[0, 2, 1] = np.nan
    names = [f"R{w:06.1f}" for w in (450.0, 550.0, 650.0, 850.0, 1650.0, 2200.0)]
    ds = samples.build(samples.SampleArrays(values, bands=names, time=np.arange(121, 146, 5), bin_days=5,
                                            sample_id=list("abcd"), label=["corn"] * 4, country="FRA", year=2023))
    x = emit_features(ds)
    np.testing.assert_allclose(x, np.nanmedian(values, axis=2), rtol=1e-6)
