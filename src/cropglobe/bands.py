"""Spectral band names: canonical spellings, aliases and which bands hold reflectance.

Canonical Sentinel-2 names follow the paper (``B2`` ... ``B12``, ``B8A``); aliases cover the
zero-padded ESA/Planetary-Computer spelling (``B02``), Earth Search asset names (``blue``,
``nir08``, ...) and WorldCereal columns (``S2-L2A-B02``). Index bands (``NDVI`` ...) are valid
SampleSet bands with their own value range, e.g. for single-band NDVI archives.

Four Earth Search asset names are also broad-band names of other sensors (:data:`GENERIC_REFLECTANCE_BANDS`:
MODIS MOD13Q1 and Landsat tables write ``RED``, ``NIR``, ``BLUE``, ``GREEN``). They are told apart by
case: the STAC assets are spelled in lowercase (``red`` -> ``B4``, as Earth Search's items and
cropglobe's STAC readers write them), any other spelling is the generic band (``RED``, ``Red`` ->
``RED``). The other asset names (``nir08``, ``swir16`` ...) name no generic band and are read in any case.
"""

from __future__ import annotations

import re

import numpy as np

from cropglobe.errors import CropGlobeError

#: The 10 Sentinel-2 L2A bands used by the paper, in its order.
S2_BANDS: tuple[str, ...] = ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")

#: Central wavelengths (nm) of Sentinel-2A bands (ESA S2 MSI spectral response, 2021).
S2_WAVELENGTH_NM: dict[str, float] = {
    "B1": 442.7, "B2": 492.4, "B3": 559.8, "B4": 664.6, "B5": 704.1, "B6": 740.5, "B7": 782.8,
    "B8": 832.8, "B8A": 864.7, "B9": 945.1, "B10": 1373.5, "B11": 1613.7, "B12": 2202.4,
}

#: Broad-band reflectance names used by other sensors (MODIS MOD13Q1, Landsat tables).
GENERIC_REFLECTANCE_BANDS: tuple[str, ...] = ("BLUE", "GREEN", "RED", "NIR", "MIR", "SWIR1", "SWIR2")

#: Normalised or ratio indices accepted as bands; their values are not reflectances.
INDEX_BANDS: tuple[str, ...] = ("NDVI", "EVI", "GCVI", "NDWI", "NDRE", "SAVI", "LSWI")

_EARTH_SEARCH = {
    "coastal": "B1", "blue": "B2", "green": "B3", "red": "B4", "rededge1": "B5",
    "rededge2": "B6", "rededge3": "B7", "nir": "B8", "nir08": "B8A", "nir09": "B9",
    "swir16": "B11", "swir22": "B12",
}
_S2_PATTERN = re.compile(r"^(?:S2-L2A-|S2-L1C-|OPTICAL-)?B0?(1[0-2]|[1-9]|8A)$", re.IGNORECASE)
#: Hyperspectral bands are named by centre wavelength in nm, e.g. ``R0550.3`` (EMIT).
_HYPERSPECTRAL = re.compile(r"^R\d{3,4}(?:\.\d+)?$")


def canonical_band(name: str) -> str:
    """Return the canonical spelling of a band name, or raise for an unknown band.

    Args:
        name: A band name such as ``"B02"``, ``"b8a"``, ``"nir08"``, ``"S2-L2A-B11"``, ``"ndvi"`` or ``"RED"``.

    Returns:
        The canonical name (``"B2"``, ``"B8A"``, ``"B11"``, ``"NDVI"``, ``"RED"`` ...). An Earth Search asset
        name that is also a generic band counts as the asset only in lowercase (``"red"`` -> ``"B4"``,
        ``"RED"`` -> ``"RED"``; see the module docstring).

    Raises:
        CropGlobeError: If the name is not a known band.
    """
    text = str(name).strip()
    match = _S2_PATTERN.match(text)
    if match:
        return "B" + match.group(1).upper()
    if text in _EARTH_SEARCH:  # the asset as the STAC items spell it (lowercase)
        return _EARTH_SEARCH[text]
    upper = text.upper()
    if upper in GENERIC_REFLECTANCE_BANDS or upper in INDEX_BANDS:  # "RED", "Red": MODIS / Landsat bands
        return upper
    if text.lower() in _EARTH_SEARCH:  # "NIR08": no generic band has the name
        return _EARTH_SEARCH[text.lower()]
    if _HYPERSPECTRAL.match(text):
        return text
    raise CropGlobeError(
        f"unknown band name {name!r}: expected a Sentinel-2 band (B1-B12, B8A, e.g. 'B02' or "
        f"'nir08'), one of {', '.join(GENERIC_REFLECTANCE_BANDS + INDEX_BANDS)}, or a "
        "hyperspectral band 'R<nm>'"
    )


def is_index_band(name: str) -> bool:
    """Return True when a canonical band name is a spectral index rather than a reflectance."""
    return name in INDEX_BANDS


def valid_range(name: str) -> tuple[float, float]:
    """Return the accepted (min, max) value range of a canonical band in a SampleSet."""
    return (-1.5, 1.5) if is_index_band(name) else (0.0, 1.5)


def mask_out_of_range(values: np.ndarray, band_names: list[str]) -> dict[str, int]:
    """Set scaled values outside each band's :func:`valid_range` to NaN in place; count them per band.

    For reflectance the range is 0-1.5 (Sentinel-2 L2A digital numbers 0-15000 at scale 1e-4).
    Surface reflectance above 1 is real (bright clouds, snow, glint) and kept; beyond 1.5 the
    16-bit range (up to 65535) holds saturated or failed corrections. The WorldCereal importer and
    the map decoders (:mod:`cropglobe.mapping.openeo`) apply the same limit, so training and maps agree.

    Args:
        values: (sample, band, time) float array, changed in place.
        band_names: Canonical band names along axis 1.

    Returns:
        {band: values set to NaN}, for the bands that had any.
    """
    counts: dict[str, int] = {}
    for i, b in enumerate(band_names):
        low, high = valid_range(b)
        v = values[:, i, :]
        out = (v < np.float32(low)) | (v > np.float32(high))  # NaN compares False
        if out.any():
            v[out] = np.nan
            counts[b] = int(out.sum())
    return counts
