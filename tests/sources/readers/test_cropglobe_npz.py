"""CropGlobe release reader on npz files generated in the release layout."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import read_cropglobe_harmonic, read_cropglobe_npz, save_features

RNG = np.random.default_rng(0)


def _cube(n, t):
    return RNG.uniform(0.01, 0.6, (n, 10, t)).astype(np.float32)


@pytest.mark.parametrize("win,t,start", [("month1-12", 73, 1), ("month5-11", 43, 121)])
def test_layouts_agree(tmp_path, win, t, start):
    cube, lbl = _cube(6, t), np.array([0, 1, 2, 3, 4, 6])
    files = {
        "stacked": cube,
        "band-major": cube.reshape(6, 10 * t),
        "time-major": cube.transpose(0, 2, 1).reshape(6, 10 * t),
    }
    for kind, fea in files.items():
        path = tmp_path / kind / f"median_S2_AUS_{win}_day5.npz"
        path.parent.mkdir()
        np.savez(path, fea=fea, lbl=lbl)
        ds = read_cropglobe_npz(path, year=2021, flatten="time-major" if kind == "time-major" else "band-major")
        np.testing.assert_allclose(ds["reflectance"].values, cube)
        assert ("stacked" if kind == "stacked" else kind) in ds.attrs["layout"]
        assert int(ds["time"][0]) == start and ds.sizes["time"] == t and set(ds["bin_days"].values) == {5}
        assert list(ds["label"].values) == ["corn", "soybean", "rice", "wheat", "sugarcane", "other"]
        assert set(ds["country"].values) == {"AUS"} and ds.attrs["time_kind"] == "composite"


def test_bad_npz(tmp_path):
    p = tmp_path / "median_S2_FRA_month5-11_day5.npz"
    np.savez(p, fea=_cube(3, 40), lbl=np.zeros(3, int))
    with pytest.raises(CropGlobeError, match=r"expected \(N, 10, 43\)"):
        read_cropglobe_npz(p, year=2021)
    np.savez(p, fea=_cube(3, 43), lbl=np.array([0, 9, 9]))
    with pytest.raises(CropGlobeError, match=r"unknown label codes: 9 \(2\)"):
        read_cropglobe_npz(p, year=2021)
    assert list(read_cropglobe_npz(p, year=2021, unknown="other")["label"].values) == ["corn", "other", "other"]
    np.savez(p, fea=_cube(3, 43) * 10000, lbl=np.zeros(3, int))
    with pytest.raises(CropGlobeError, match="declare the scale"):
        read_cropglobe_npz(p, year=2021)
    assert read_cropglobe_npz(p, year=2021, scale=1e-4).attrs["scale"] == 1e-4
    np.savez(p, features=_cube(3, 43))
    with pytest.raises(CropGlobeError, match="expected 'fea' and 'lbl'"):
        read_cropglobe_npz(p, year=2021)
    p.write_bytes(b"garbage")
    with pytest.raises(CropGlobeError, match="cannot be read as .npz"):
        read_cropglobe_npz(p, year=2021)


def test_harmonic_feature_table(tmp_path):
    p = tmp_path / "harmonic_CHN_month5-11.npz"
    fea = RNG.normal(size=(5, 70)).astype(np.float32)
    np.savez(p, fea=fea, lbl=np.array([0, 1, 2, 6, 6]))
    t = read_cropglobe_harmonic(p, year=2021)
    assert t["features"].dims == ("sample", "feature") and t.attrs["feature"] == "harmonic"
    np.testing.assert_array_equal(t["features"].values, fea)
    assert list(t["label"].values) == ["corn", "soybean", "rice", "other", "other"]
    out = save_features(t, tmp_path / "h.zarr")
    import xarray as xr
    assert xr.open_zarr(out)["features"].shape == (5, 70)
    np.savez(p, fea=fea[:, :, None], lbl=np.zeros(5, int))
    with pytest.raises(CropGlobeError, match="harmonic coefficients"):
        read_cropglobe_harmonic(p, year=2021)
