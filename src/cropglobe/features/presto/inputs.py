"""Presto inputs from a SampleSet composite: monthly channels, masks, month index and location.

Presto (Tseng et al., arXiv:2304.14065, Sec. 3.1 and its data pipeline) reads a pixel as monthly
steps of 17 channels (:data:`cropglobe.features.presto.encoder.CHANNELS`) normalised as
``(x + shift) / div``: Sentinel-1 dB ``(x + 25) / 25``, Sentinel-2 digital numbers ``/ 10000``
(i.e. surface reflectance, which SampleSets already hold), ERA5 temperature ``(K - 272.15) / 35``
and precipitation ``/ 0.03``, SRTM elevation ``/ 2000`` and slope ``/ 50``; NDVI is computed from
the normalised B8 and B4 (0 where B8 + B4 <= 0).

:func:`build_inputs` turns a season-windowed composite (5-day bins on the aligned calendar, see
:mod:`cropglobe.temporal.season`) into those arrays:

* **months** - the bins are grouped by the month of their centre on the aligned calendar
  (non-leap) and averaged (NaN values ignored); every month the window touches is one step;
* **month index** - the calendar month of each step, i.e. the aligned month moved by the
  sample's ``shift_days`` (hemisphere alignment shifts southern samples by 182 days, so their
  aligned May is November); samples without ``shift_days`` use the aligned month;
* **masks** - a channel is masked where the SampleSet has no such band (S1, ERA5 and SRTM are
  never in an S2 SampleSet; NDVI is taken from an ``NDVI`` band or computed from B8 and B4, and
  masked otherwise) and where a month has no value for it (missing steps); the encoder then drops
  every channel group with a masked channel;
* **lat/lon** - the sample's coordinates; the location token is masked where they are NaN or when
  ``latlon=False`` (data without ``lat``/``lon`` coordinates need ``latlon=False``; map blocks carry
  each pixel's lat/lon from the cube's CRS and transform). Dynamic World
  is always missing (class 9, masked).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from cropglobe.bands import canonical_band
from cropglobe.errors import CropGlobeError
from cropglobe.features.presto.encoder import CHANNELS, MAX_STEPS

#: ``(x + SHIFT) / DIV`` per channel of :data:`CHANNELS` (Presto's normalisation; S2 values here
#: are reflectance, so their divisor is 1 instead of 10000 on digital numbers).
SHIFT = np.array([25.0, 25.0] + [0.0] * 10 + [-272.15, 0.0, 0.0, 0.0, 0.0], dtype=np.float32)
DIV = np.array([25.0, 25.0] + [1.0] * 10 + [35.0, 0.03, 2000.0, 50.0, 1.0], dtype=np.float32)
_NDVI = CHANNELS.index("NDVI")
_B8, _B4 = CHANNELS.index("B8"), CHANNELS.index("B4")
#: First day of year (1-based, non-leap) of each month.
_MONTH_START = np.array([1, 32, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366])


@dataclass(frozen=True)
class PrestoInputs:
    """Model-ready Presto inputs of N samples over T monthly steps.

    Attributes:
        x: (N, T, 17) float32 normalised channels, 0 where masked.
        mask: (N, T, 17) bool, True where a channel is missing.
        month: (N, T) int64 calendar month 0-11 of every step.
        latlon: (N, 2) float32 latitude, longitude (degrees; 0 where masked).
        latlon_mask: (N,) bool, True where the location token is dropped.
        months: (T,) aligned-calendar month (1-12) of every step.
        present: Channel names the SampleSet provides.
    """

    x: np.ndarray
    mask: np.ndarray
    month: np.ndarray
    latlon: np.ndarray
    latlon_mask: np.ndarray
    months: np.ndarray
    present: tuple[str, ...]

    def __len__(self) -> int:
        return self.x.shape[0]

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays the embedding depends on (for hashing and batching)."""
        return self.x, self.mask, self.month, self.latlon, self.latlon_mask


def month_of_day(doy: np.ndarray) -> np.ndarray:
    """Month (1-12) of 1-based days of year on a non-leap calendar (days past 365 wrap)."""
    d = (np.asarray(doy, dtype=np.int64) - 1) % 365 + 1
    return np.searchsorted(_MONTH_START, d, side="right")


def _channel_map(ds: xr.Dataset) -> dict[int, int]:
    """Presto channel index -> band index of ``ds`` for the bands it has."""
    out: dict[int, int] = {}
    for j, name in enumerate(ds["band"].values.astype(str)):
        try:
            canon = canonical_band(name)
        except CropGlobeError:
            canon = str(name).upper()
        if canon in CHANNELS:
            out[CHANNELS.index(canon)] = j
    return out


def monthly(values: np.ndarray, time: np.ndarray, bin_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average (N, B, T_bins) bins into months by bin centre: ``(N, B, T_months), months (1-12)``."""
    centre = np.asarray(time, dtype=np.float64) + (np.asarray(bin_days, dtype=np.float64) - 1) / 2.0
    months_of_bin = month_of_day(np.floor(centre).astype(np.int64))
    months = np.unique(months_of_bin)
    out = np.full(values.shape[:2] + (months.size,), np.nan, dtype=np.float32)
    for k, m in enumerate(months):
        block = values[:, :, months_of_bin == m]
        n = (~np.isnan(block)).sum(axis=2)
        s = np.nansum(block, axis=2, dtype=np.float64)
        out[:, :, k] = np.where(n > 0, s / np.maximum(n, 1), np.nan)
    return out, months


def build_inputs(ds: xr.Dataset, latlon: bool = True) -> PrestoInputs:
    """Presto inputs of a season-windowed composite SampleSet (see the module docstring).

    Args:
        ds: Composite SampleSet on the aligned calendar (integer ``time`` = bin-start day of year,
            ``bin_days``), e.g. :func:`cropglobe.temporal.composite.season` of a composite.
        latlon: Use the samples' ``lat``/``lon`` (False: always drop the location token).

    Raises:
        CropGlobeError: For observation-level data, a dated time axis, more than 24 months, or a
            SampleSet without any band Presto reads.
    """
    if ds.attrs.get("time_kind") != "composite" or "bin_days" not in ds.coords:
        raise CropGlobeError(f"presto: expected a composite SampleSet (run `cropglobe data composite` first), got "
                             f"time_kind={ds.attrs.get('time_kind')!r}")
    if np.issubdtype(ds["time"].dtype, np.datetime64):
        raise CropGlobeError("presto: expected an aligned composite (integer day-of-year time), got dated time; "
                             "composite it with `cropglobe data composite`")
    cmap = _channel_map(ds)
    if not cmap:
        raise CropGlobeError(f"presto: none of the bands {list(ds['band'].values.astype(str))} is a Presto channel; "
                             f"expected Sentinel-2 bands ({', '.join(CHANNELS[2:12])}) or NDVI")
    refl = ds["reflectance"].transpose("sample", "band", "time").values.astype(np.float32)
    mon, months = monthly(refl, ds["time"].values, ds["bin_days"].values)
    n, t = mon.shape[0], mon.shape[2]
    if t > MAX_STEPS:
        raise CropGlobeError(f"presto: the window spans {t} months; Presto takes at most {MAX_STEPS}")
    x = np.zeros((n, t, len(CHANNELS)), dtype=np.float32)
    have = np.zeros((n, t, len(CHANNELS)), dtype=bool)
    for c, j in cmap.items():
        v = mon[:, j, :]
        x[:, :, c] = np.nan_to_num((v + SHIFT[c]) / DIV[c])
        have[:, :, c] = ~np.isnan(v)
    if _NDVI not in cmap and _B8 in cmap and _B4 in cmap:
        b8, b4 = x[:, :, _B8], x[:, :, _B4]
        total = b8 + b4
        with np.errstate(divide="ignore", invalid="ignore"):
            x[:, :, _NDVI] = np.where(total > 0, (b8 - b4) / np.where(total > 0, total, 1), 0).astype(np.float32)
        have[:, :, _NDVI] = have[:, :, _B8] & have[:, :, _B4]
    mask = ~have
    x[mask] = 0.0
    shift = ds["shift_days"].values.astype(np.int64) if "shift_days" in ds.coords else np.zeros(n, np.int64)
    mid = (_MONTH_START[months - 1] + _MONTH_START[months]) // 2
    month = (month_of_day(mid[None, :] + shift[:, None]) - 1).astype(np.int64)
    if latlon and not {"lat", "lon"} <= set(ds.coords):
        # masking the location token here would silently give other features than training's
        raise CropGlobeError("presto: the data have no lat/lon coordinates but latlon=True; expected per-sample "
                             "lat/lon coords, or feature_options {presto: {latlon: false}} to drop the location token")
    lat = ds["lat"].values.astype(np.float64) if latlon else np.full(n, np.nan)
    lon = ds["lon"].values.astype(np.float64) if latlon else np.full(n, np.nan)
    ll_mask = np.isnan(lat) | np.isnan(lon) | (not latlon)
    ll = np.where(ll_mask[:, None], 0.0, np.stack([lat, lon], 1)).astype(np.float32)
    present = tuple(CHANNELS[c] for c in sorted(cmap)) + (("NDVI",) if _NDVI not in cmap and _B8 in cmap
                                                          and _B4 in cmap else ())
    return PrestoInputs(x, mask, month, ll, ll_mask, months.astype(np.int64), present)


#: Values per pixel of :func:`pack`: ``PACK_PER_STEP * T + PACK_STATIC`` for T monthly steps.
PACK_PER_STEP = 2 * len(CHANNELS) + 1
PACK_STATIC = 3


def pack(inputs: PrestoInputs) -> np.ndarray:
    """All Presto inputs of a pixel in one float32 row, (N, 35 T + 3): the ``presto-input`` feature family.

    Layout (T steps): ``x`` (T x 17, step-major), ``mask`` (T x 17, 1.0 = missing), ``month``
    (T, 0-11), then ``lat``, ``lon`` (degrees) and the location mask (1.0 = dropped). Every value
    is exact in float32, so :func:`steps_of_width` and :class:`cropglobe.models.presto_ft.PrestoClassifier`
    unpack the same arrays; a torch model trained on these rows sees what :func:`build_inputs` built.
    """
    n, t, c = inputs.x.shape
    return np.concatenate([inputs.x.reshape(n, t * c), inputs.mask.reshape(n, t * c).astype(np.float32),
                           inputs.month.astype(np.float32), inputs.latlon,
                           inputs.latlon_mask[:, None].astype(np.float32)], axis=1).astype(np.float32)


def steps_of_width(width: int) -> int:
    """Monthly steps T of packed rows of ``width`` values (see :func:`pack`).

    Raises:
        CropGlobeError: If ``width`` is not ``35 T + 3`` for some T in 1..24.
    """
    t, rest = divmod(int(width) - PACK_STATIC, PACK_PER_STEP)
    if rest or not 1 <= t <= MAX_STEPS:
        raise CropGlobeError(f"presto: {width} input values per sample are not packed Presto inputs; expected "
                             f"{PACK_PER_STEP} x months + {PACK_STATIC} (the presto-input feature family)")
    return t


def presto_input(ds: xr.Dataset, latlon: bool = True) -> np.ndarray:
    """The ``presto-input`` feature family: :func:`pack` of :func:`build_inputs` (N, 35 T + 3) float32.

    Source: the input pipeline of Presto (Tseng et al., arXiv:2304.14065), for models that run the
    encoder themselves (``presto-ft``).
    """
    return pack(build_inputs(ds, latlon=latlon))
