"""Spectral indices computed from SampleSet bands (used by the feature families and by checks).

Formulas and sources:

* NDVI = (NIR - red) / (NIR + red) (Rouse et al. 1974, "Monitoring vegetation systems in the Great
  Plains with ERTS").
* GCVI = NIR / green - 1, the green chlorophyll vegetation index (Gitelson et al. 2003,
  "Relationships between leaf chlorophyll content and spectral reflectance...", J. Plant Physiol.
  160); used for crop-type transfer by Wang, Azzari & Lobell (2019, RSE 222).
* NDWI = (green - NIR) / (green + NIR) (McFeeters 1996, open water).
* LSWI = (NIR - SWIR1) / (NIR + SWIR1) (Xiao et al. 2004, land-surface water / flooding of rice).
* NDRE = (NIR narrow - red edge 1) / (NIR narrow + red edge 1) (Gitelson & Merzlyak 1994).
* EVI = 2.5 (NIR - red) / (NIR + 6 red - 7.5 blue + 1) (Huete et al. 2002).
* SAVI = 1.5 (NIR - red) / (NIR + red + 0.5) (Huete 1988).

Bands are looked up by role, so Sentinel-2 names (``B8``) and generic names (``NIR``) both work.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from cropglobe.errors import CropGlobeError

#: Band names accepted for each spectral role, in order of preference.
ROLES: dict[str, tuple[str, ...]] = {
    "blue": ("B2", "BLUE"),
    "green": ("B3", "GREEN"),
    "red": ("B4", "RED"),
    "rededge1": ("B5",),
    "nir": ("B8", "NIR", "B8A"),
    "nir_narrow": ("B8A", "B8", "NIR"),
    "swir1": ("B11", "SWIR1", "MIR"),
    "swir2": ("B12", "SWIR2"),
}


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / b
    out[~np.isfinite(out)] = np.nan
    return out


def _nd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _ratio(a - b, a + b)


_FORMULAS: dict[str, tuple[tuple[str, ...], Callable[..., np.ndarray]]] = {
    "NDVI": (("nir", "red"), _nd),
    "GCVI": (("nir", "green"), lambda nir, green: _ratio(nir, green) - 1.0),
    "NDWI": (("green", "nir"), _nd),
    "LSWI": (("nir", "swir1"), _nd),
    "NDRE": (("nir_narrow", "rededge1"), _nd),
    "EVI": (
        ("nir", "red", "blue"),
        lambda nir, red, blue: _ratio(2.5 * (nir - red), nir + 6.0 * red - 7.5 * blue + 1.0),
    ),
    "SAVI": (("nir", "red"), lambda nir, red: _ratio(1.5 * (nir - red), nir + red + 0.5)),
}

#: Names of the indices :func:`index` computes.
INDICES: tuple[str, ...] = tuple(_FORMULAS)


def band_for(ds: xr.Dataset, role: str) -> str:
    """Return the band of ``ds`` that plays a spectral role (``"nir"`` -> ``"B8"``, say).

    Raises:
        CropGlobeError: If the role is unknown or no band of ``ds`` plays it.
    """
    return role_band([str(b) for b in ds["band"].values], role)


def role_band(present: list[str], role: str) -> str:
    """The band among ``present`` that plays a spectral role (the first of :data:`ROLES` present).

    Raises:
        CropGlobeError: If the role is unknown or no band of ``present`` plays it.
    """
    if role not in ROLES:
        raise CropGlobeError(f"unknown spectral role {role!r}; expected one of {', '.join(ROLES)}")
    for name in ROLES[role]:
        if name in present:
            return name
    raise CropGlobeError(f"no {role} band in the SampleSet: expected one of {ROLES[role]}, found {present}")


def bands_used(present: list[str], names: list[str] | tuple[str, ...]) -> list[str]:
    """The bands of ``present`` read by indices, spectral roles or band names ``names`` (in ``present``'s order)."""
    used: set[str] = set()
    for name in names:
        key = str(name).upper()
        if key in _FORMULAS:
            used.update(role_band(present, r) for r in _FORMULAS[key][0])
        elif name in ROLES:
            used.add(role_band(present, str(name)))
        else:
            used.add(str(name))
    return [b for b in present if b in used]


def index(ds: xr.Dataset, name: str) -> np.ndarray:
    """Compute a spectral index as a (sample, time) float32 array (NaN where undefined).

    Args:
        ds: A SampleSet with reflectance bands.
        name: One of :data:`INDICES` (case-insensitive).

    Raises:
        CropGlobeError: For an unknown index or a missing band.
    """
    key = str(name).upper()
    if key not in _FORMULAS:
        raise CropGlobeError(f"unknown spectral index {name!r}; expected one of {', '.join(INDICES)}")
    roles, fn = _FORMULAS[key]
    refl = ds["reflectance"]
    args = [refl.sel(band=band_for(ds, r)).transpose("sample", "time").values.astype(np.float64) for r in roles]
    return fn(*args).astype(np.float32)


def with_indices(ds: xr.Dataset, names: list[str] | tuple[str, ...]) -> xr.Dataset:
    """Return ``ds`` with index bands appended to ``reflectance`` (e.g. ``["NDVI", "GCVI"]``)."""
    extra = np.stack([index(ds, n) for n in names], axis=1)  # (sample, k, time)
    new = xr.DataArray(extra, dims=("sample", "band", "time"),
                       coords={"band": [str(n).upper() for n in names]})
    refl = xr.concat([ds["reflectance"], new.assign_coords(time=ds["time"])], dim="band")
    out = ds.drop_vars("reflectance").drop_dims("band").assign(reflectance=refl.astype(np.float32))
    out.attrs = {**ds.attrs, "bands": [str(b) for b in out["band"].values]}
    return out
