"""Per-pixel prediction of one block: clear-sky mask -> composite -> feature family -> model.

Map features must match training features exactly, so every step applies the training rules
with the recipe's settings (:class:`cropglobe.recipe.CompositeSettings`): the clear-sky test
(``clear`` score and/or ``scl`` codes in ``scl_keep``), the alignment with per-country ``offsets``
(:func:`cropglobe.temporal.season.shifts`), 5-day medians and linear gap filling; then the season
window and the feature family's ``fn``. Raster strips come time-major ``(time, band, P)`` with the
cube's *raw* values (``ctx.decoding`` turns them into reflectance): :func:`window_block` runs the
compiled kernels of :mod:`cropglobe.temporal.kernels` (the float32 arithmetic of
:mod:`cropglobe.temporal.gapfill`, bit for bit) on the season window plus a margin of bins; pixels whose gaps
reach past it go through :func:`composite_block` (the time-major numpy kernels of
:mod:`cropglobe.temporal.gapfill` over the full year). No per-pixel ids, strings or SampleSet validation are
built. :func:`reference_composite` runs the same block through :func:`cropglobe.temporal.composite.composite`
(tests check all three agree). Only the bands the feature family reads are read
(``ctx.read_bands``, e.g. 6 of 10 for harmonic features); the clear-sky rule's "some band observed"
then looks at those bands (Sentinel-2 observations are all bands or none, so this changes nothing
on real scenes).

A PRE-COMPOSITED cube (``bin_days`` along time, e.g. an Earth Engine 5-day median export) skips the
medians and gap filling: its steps are re-gridded onto the aligned bins with the linear
interpolation between bin centres of :func:`cropglobe.temporal.composite.composite`'s coarse-input path
(on 5-day bins that already sit on the aligned calendar this only fills missing steps).

Nodata (class 255, confidence NaN): a pixel with fewer than ``min_clear`` clear observations in
the season window (the ``n_clear`` that ``composite`` reports), or a band that no clear
observation fills. Such pixels never get a class.

A CASCADE (``ctx.defer``, ``cropglobe map --fast --defer MARGIN``): the pixels on which the model (a
``--fast`` student) is unsure, its top class leading the next by less than ``margin``, get the
probabilities of the teacher it was distilled from instead (:func:`defer`): a confidence-gated
cascade of a cheap and a costly model (Viola & Jones, "Rapid object detection using a boosted
cascade of simple features", CVPR 2001; for classifiers, Wang et al., "Wisdom of Committees: An
Overlooked Approach to Faster and More Accurate Models", ICLR 2022). The student's near-ties are
where it leaves its teacher (docs/results.md, "Fast path on real data"), so a few per cent of the
pixels sent to the teacher buy most of the remaining agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr

from cropglobe.cells.cell import Cell, Recipe
from cropglobe.cells.cell import recipe_features as recipe_features  # re-exported (tests)
from cropglobe.mapping.cascade import margins
from cropglobe.mapping.cube import Decoding
from cropglobe.temporal import composite, gapfill
from cropglobe.temporal.calendar import Calendar
from cropglobe.training.settings import INFERENCE_CHOICES, Precision

NODATA_CLASS = 255

#: ``--precision`` of ``cropglobe map`` / ``cropglobe predict`` (torch models; tabular models ignore it).
PRECISIONS = INFERENCE_CHOICES


def inference_precision(precision: str | None, family: str = "torch") -> str:
    """Check a ``--precision`` and resolve it to the one torch inference uses.

    ``"32-true"`` (the default) is float32 throughout: the classes of training's evaluation.
    ``"bf16-mixed"`` runs the forward pass under bfloat16 autocast
    (:func:`cropglobe.training.lightning.predict_proba_torch`): faster on AMX-BF16 / AVX512-BF16 CPUs and bf16
    GPUs, probabilities move by about 1e-2 and near-ties can flip. ``"auto"`` is ``"bf16-mixed"``
    where this machine's CPU has bfloat16 instructions (:func:`cropglobe.training.lightning.resolve_precision`),
    else ``"32-true"``. Tabular models always predict in float64/float32 as trained (``"32-true"``).

    Raises:
        CropGlobeError: For a value outside :data:`PRECISIONS`.
    """
    from cropglobe.errors import CropGlobeError

    precision = Precision.FP32.value if precision is None else str(precision)
    if precision not in PRECISIONS:
        raise CropGlobeError(f"--precision {precision}: expected one of {', '.join(PRECISIONS)}")
    if family != "torch":
        return Precision.FP32.value
    if precision == Precision.AUTO:
        from cropglobe.training.lightning import resolve_precision

        return resolve_precision(Precision.AUTO, "cpu")
    return Precision(precision).value


@lru_cache(maxsize=8)
def _scl_lut(scl_keep: tuple[int, ...]) -> np.ndarray:
    """SCL code -> clear (the kernels' lookup table) for the recipe's ``scl_keep``."""
    return np.isin(np.arange(256), np.asarray(scl_keep, dtype=np.int64))


@dataclass(frozen=True)
class Deferral:
    """The teacher of a cascade (:func:`defer`) and when a pixel goes to it.

    Attributes:
        teacher: The teacher's recipe (a cell, or a seed ensemble: :func:`cropglobe.cells.cell.load_cells`),
            on the same bands, classes and season window as the model it backs.
        margin: A pixel whose top-class probability leads the next by less than this goes to the teacher.
    """

    teacher: Recipe
    margin: float


@dataclass(frozen=True)
class BlockContext:
    """What every block shares: the recipe, dates, bands, region and season year.

    ``collect_proba``: tiles also return the class probabilities of their valid pixels
    (:class:`cropglobe.mapping.tiles.TileResult`), e.g. to estimate the region's class prior.
    ``window_offsets``: the season window is read with its start / end moved by these days from
    the full-year composite (``--adapt align``, :mod:`cropglobe.augment.align`).
    ``collect_series``: tiles return the gap-filled full-year series of their valid pixels instead
    of classifying them (the first pass of ``--adapt align``). ``defer``: the cascade's teacher
    (:class:`Deferral`, :func:`defer`), or None. ``calendar`` is the recipe's aligned
    calendar (:class:`cropglobe.temporal.calendar.Calendar`), computed once per map.
    """

    recipe: Recipe
    times: np.ndarray
    country: str
    year: int
    min_clear: int = 3
    simulated: bool = False
    bin_days: np.ndarray | None = None
    decoding: Decoding = Decoding()
    bands: tuple[str, ...] | None = None
    collect_proba: bool = False
    precision: str = "32-true"
    window_offsets: tuple[float, float] | None = None
    collect_series: bool = False
    defer: Deferral | None = None
    calendar: Calendar = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "calendar", Calendar.of(self.recipe.composite))

    @property
    def read_bands(self) -> list[str]:
        """The bands a block holds: those the feature family reads (default: every band of the recipe)."""
        return list(self.bands) if self.bands is not None else list(self.recipe.bands)


def observation_dataset(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lon: np.ndarray,
             lat: np.ndarray, ctx: BlockContext) -> xr.Dataset:
    """(time, band, P) reflectance + (time, P) masks -> observation-level SampleSet-like dataset (reference path)."""
    n = refl.shape[2]
    data: dict[str, Any] = {"reflectance": (("sample", "band", "time"), np.ascontiguousarray(refl.transpose(2, 1, 0)))}
    if clear is not None:
        data["clear"] = (("sample", "time"), np.ascontiguousarray(clear.T))
    if scl is not None:
        data["scl"] = (("sample", "time"), np.ascontiguousarray(scl.T))
    coords = {
        "band": ("band", ctx.read_bands), "time": ("time", ctx.times),
        "sample_id": ("sample", np.arange(n).astype(str)), "lon": ("sample", lon), "lat": ("sample", lat),
        "country": ("sample", np.full(n, ctx.country)), "year": ("sample", np.full(n, ctx.year, dtype=np.int32)),
        "label": ("sample", np.full(n, "other")),
    }
    if ctx.bin_days is not None:
        coords["bin_days"] = ("time", ctx.bin_days)
    kind = "observations" if ctx.bin_days is None else "composite"
    attrs = {"time_kind": kind, "simulated": ctx.simulated, "source": "cropglobe map", "history": []}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def reference_composite(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lat: np.ndarray,
                        ctx: BlockContext) -> xr.Dataset:
    """The block through :func:`cropglobe.temporal.composite.composite` itself (slow reference: tests, benchmarks)."""
    refl, clear = ctx.decoding.reflectance(refl), ctx.decoding.clear(clear)
    ds = observation_dataset(refl, clear, scl, np.zeros_like(lat), lat, ctx)
    # every pixel is kept (the map applies min_clear itself) and compared with composite_block
    c = ctx.recipe.composite
    return composite.composite(ds, c.model_copy(update={"min_clear": 0,
                                                        "coverage": "fill" if c.coverage == "fill" else "drop"}))


def composite_block(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lat: np.ndarray,
                    ctx: BlockContext) -> tuple[np.ndarray, np.ndarray]:
    """Full-year aligned composite of a time-major block, as :func:`cropglobe.temporal.composite.composite` computes it.

    Args:
        refl: Raw reflectance (time, band, P), decoded with ``ctx.decoding``.
        clear: Raw clear-sky score (time, P) or None.
        scl: Scene-classification codes (time, P) or None.
        lat: Pixel-centre latitudes (P,) (hemisphere alignment).
        ctx: The shared context.

    Returns:
        ``(values (bins, band, P) float32, n_clear (P,))``; NaN where a band has no clear value.
    """
    cal = ctx.calendar
    refl, clear = ctx.decoding.reflectance(refl), ctx.decoding.clear(clear)
    valid = _valid(refl, clear, scl, ctx)
    n = refl.shape[2]
    bin_start, bin_days = cal.bin_start, cal.bin_days
    days = ctx.times.astype("datetime64[D]")
    out = np.empty((bin_start.size, refl.shape[1], n), dtype=np.float32)
    n_clear = np.zeros(n, dtype=np.int64)
    for origin, cols in cal.groups(cal.origins(ctx.year, _shifts(lat, ctx))):
        ok = valid[:, cols]
        if ctx.bin_days is None:
            rel = cal.days_from(days, origin)
            values = gapfill.bin_median_time_major(refl[:, :, cols], ok, rel, cal.interval, bin_start.size)
        else:
            rel = _precomposited_rel(ctx, origin)
            values = _regrid(refl[:, :, cols], ok, rel, bin_start, bin_days)
        if isinstance(cols, slice):  # one calendar for the whole block: its result is the block's, no copy
            out = values
        else:
            out[:, :, cols] = values
        n_clear[cols] = (ok & cal.in_window(rel)[:, None]).sum(axis=0)
    if ctx.bin_days is None:
        gapfill.fill_gaps_time_major(out, bin_start.astype(np.float64))
    return out, n_clear


def _valid(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, ctx: BlockContext) -> np.ndarray:
    """(time, P) clear-sky test of a time-major block (:func:`cropglobe.temporal.composite.usable`)."""
    c = ctx.recipe.composite
    return composite.usable(refl, clear, scl, c.clear_threshold, tuple(c.scl_keep))


def _shifts(lat: np.ndarray, ctx: BlockContext) -> np.ndarray:
    """Per-pixel day shifts of the aligned calendar: the recipe's ``align`` and per-country ``offsets``."""
    return ctx.calendar.shifts(ctx.country, lat)[0]


def used_dates(ctx: BlockContext, lat: np.ndarray) -> slice:
    """The dates a block of an observation cube can use: inside the aligned year of some pixel's calendar.

    :func:`composite_block` ignores observations outside ``[0, bins x interval)`` days from each
    pixel's aligned 1 January (e.g. the next year's dates of an 18-month cube), so a reader can skip
    them; a pre-composited cube needs every step (interpolation at the edges).
    """
    if ctx.bin_days is not None:
        return slice(None)
    cal = ctx.calendar
    end = cal.year_days
    t0, t1 = ctx.times.size, 0
    for origin, _ in cal.groups(cal.origins(ctx.year, _shifts(lat, ctx))):
        rel = cal.days_from(ctx.times, origin)
        t0, t1 = min(t0, int(np.searchsorted(rel, 0))), max(t1, int(np.searchsorted(rel, end)))
    return slice(t0, max(t0, t1))


def window_block(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lat: np.ndarray,
                 ctx: BlockContext, margin: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The season-window bins of :func:`composite_block`, computing only what the window needs.

    Raw values go to the compiled kernels (:mod:`cropglobe.temporal.kernels`): the clear-sky test,
    the medians of the window's bins plus ``margin`` bins on each side (only observations inside
    them are touched) and the gap filling of the window, decoding each value as it is used. That
    equals the full-year composite's window for every pixel whose bands each have a value among
    the margin bins and the window's first bin, and one among the window's last bin and the margin
    after it: linear interpolation then never reaches outside the range. The other pixels go
    through :func:`composite_block` itself, except those with fewer than ``min_clear`` clear
    observations, which are nodata anyway. A pre-composited cube is re-gridded by
    :func:`composite_block` (cheap: no medians).

    Args:
        refl: Raw reflectance (time, band, P) in the order of ``ctx.read_bands``.
        clear: Raw clear-sky score (time, P) or None.
        scl: Scene-classification codes (time, P) or None.
        lat: Pixel-centre latitudes (P,).
        ctx: The shared context (decoding, recipe, dates).
        margin: Bins composited on each side of the window.

    Returns:
        ``(window (P, band, count) float32, n_clear (P,), filled (P,) bool)``: the window sample-major
        (the layout of the feature functions, so no transposing copy follows); ``filled`` is False
        where the full-year composite keeps a NaN (a band without any clear value).
    """
    from cropglobe.temporal import kernels

    start, count = ctx.recipe.window_bins
    if ctx.bin_days is not None:  # pre-composited: no medians; re-grid (or decode) and take the window
        return _precomposited_window(refl, clear, scl, lat, ctx)
    c, dec, cal = ctx.recipe.composite, ctx.decoding, ctx.calendar
    interval, bin_start = cal.interval, cal.bin_start
    a0, a1 = max(0, start - margin), min(bin_start.size, start + count + margin)
    n, nb = refl.shape[2], refl.shape[1]
    none = np.zeros((0, 0), dtype=np.float32)
    decode = kernels.decoding(dec.scale, dec.offset, dec.nodata, dec.clear_scale, dec.clear_fill, c.clear_threshold)
    lut = _scl_lut(tuple(c.scl_keep))
    medians = np.empty((a1 - a0, nb, n), dtype=np.float32)
    n_clear = np.zeros(n, dtype=np.int64)
    for origin, cols in cal.groups(cal.origins(ctx.year, _shifts(lat, ctx))):
        rel = cal.days_from(ctx.times, origin)
        edges = np.searchsorted(rel, a0 * interval + interval * np.arange(a1 - a0 + 1))
        w_lo, w_hi = (int(i) for i in np.searchsorted(rel, [cal.first - 1, cal.last]))
        part = (medians, n_clear) if isinstance(cols, slice) else \
            (np.empty((a1 - a0, nb, cols.size), dtype=np.float32), np.zeros(cols.size, dtype=np.int64))
        masks = (none if clear is None else np.ascontiguousarray(clear[:, cols]),
                 none.astype(np.uint8) if scl is None else np.ascontiguousarray(scl[:, cols]), lut)
        kernels.bin_medians(np.ascontiguousarray(refl[:, :, cols]), masks, decode, (edges[:-1], edges[1:]),
                            (w_lo, w_hi), *part)
        if not isinstance(cols, slice):
            medians[:, :, cols], n_clear[cols] = part
    out = np.empty((n, nb, count), dtype=np.float32)
    filled, edge = np.empty(n, dtype=np.bool_), np.empty(n, dtype=np.bool_)
    kernels.fill_window(medians, bin_start[a0:a1].astype(np.float64), start - a0, count, out, filled, edge)
    edge = np.flatnonzero(edge & (n_clear >= ctx.min_clear))
    if edge.size:
        out[edge], _, filled[edge] = _full_year_window(refl, clear, scl, lat, ctx, edge)
    return out, n_clear, filled


def _full_year_window(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lat: np.ndarray,
                      ctx: BlockContext, pixels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window of :func:`composite_block`'s full year, sample-major: ``(window, n_clear, filled)``.

    ``pixels``: only these columns of the block (None: all).
    """
    from cropglobe.temporal import kernels

    if pixels is not None:
        refl, lat = refl[:, :, pixels], lat[pixels]
        clear = None if clear is None else clear[:, pixels]
        scl = None if scl is None else scl[:, pixels]
    values, n_clear = composite_block(refl, clear, scl, lat, ctx)
    start, count = ctx.recipe.window_bins
    win = np.empty((values.shape[2], values.shape[1], count), dtype=np.float32)
    full = np.empty(values.shape[2], dtype=np.bool_)
    kernels.window_sample_major(values, start, count, win, full)
    return win, n_clear, full


def _precomposited_window(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lat: np.ndarray,
                          ctx: BlockContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`window_block` of a pre-composited cube (``ctx.bin_days`` set).

    A cube already on the aligned bins (e.g. 5-day composites of this calendar) with one calendar
    for the block: :func:`cropglobe.temporal.kernels.window_direct` decodes the window's bins only,
    and the pixels whose window is clear and complete take those values (re-gridding and gap
    filling would leave them unchanged); the others with at least ``min_clear`` clear observations
    go through :func:`composite_block`, and the rest (nodata anyway) report ``filled`` False. Any
    other cube (monthly or dekadal steps, several calendars in the block) is re-gridded whole.
    """
    from cropglobe.temporal import kernels

    start, count = ctx.recipe.window_bins
    cal = ctx.calendar
    groups = list(cal.groups(cal.origins(ctx.year, _shifts(lat, ctx))))
    rel = _precomposited_rel(ctx, groups[0][0]) if len(groups) == 1 else None
    if rel is None or not _on_bins(rel, _bin_centres(cal.bin_start, cal.bin_days)):
        return _full_year_window(refl, clear, scl, lat, ctx)  # re-grid the full year, then take its window
    c, dec = ctx.recipe.composite, ctx.decoding
    counted = np.flatnonzero(cal.in_window(rel))
    lo, hi = (int(counted[0]), int(counted[-1]) + 1) if counted.size else (0, 0)
    n, nb = refl.shape[2], refl.shape[1]
    none = np.zeros((0, 0), dtype=np.float32)
    masks = (none if clear is None else clear, none.astype(np.uint8) if scl is None else scl,
             _scl_lut(tuple(c.scl_keep)))
    decode = kernels.decoding(dec.scale, dec.offset, dec.nodata, dec.clear_scale, dec.clear_fill, c.clear_threshold)
    win = np.empty((n, nb, count), dtype=np.float32)
    n_clear = np.empty(n, dtype=np.int64)
    filled = np.empty(n, dtype=np.bool_)
    kernels.window_direct(refl, masks, decode, start, count, (lo, hi), (win, n_clear, filled))
    rest = np.flatnonzero(~filled & (n_clear >= ctx.min_clear))
    if rest.size:  # gaps in the window: re-grid these pixels' full year
        win[rest], _, filled[rest] = _full_year_window(refl, clear, scl, lat, ctx, rest)
    return win, n_clear, filled


def _bin_centres(bin_start: np.ndarray, bin_days: np.ndarray) -> np.ndarray:
    """Centres of the aligned bins in days after the aligned 1 January (what re-gridding aims at)."""
    return (bin_start - 1) + bin_days / 2.0


def _on_bins(rel: np.ndarray, centre: np.ndarray) -> bool:
    """A pre-composited cube's step centres ``rel`` are the aligned bins' centres themselves."""
    return rel.size == centre.size and bool(np.array_equal(rel, centre))


def _precomposited_rel(ctx: BlockContext, origin: Any) -> np.ndarray:
    """The centres of a pre-composited cube's steps in days after the calendar's ``origin`` (float64)."""
    days = ctx.times.astype("datetime64[D]")
    return days.astype(np.float64) + ctx.bin_days / 2.0 - np.datetime64(origin, "D").astype(np.float64)


def _regrid(refl: np.ndarray, ok: np.ndarray, rel: np.ndarray, bin_start: np.ndarray,
            bin_days: np.ndarray) -> np.ndarray:
    """Coarse/pre-composited steps (centres ``rel``) -> aligned bins, as composite's regrid path (time-major).

    ``refl`` (float32, the caller's own decoded copy) is overwritten: NaN where ``ok`` is False.
    """
    t, nb, p = refl.shape
    centre = _bin_centres(bin_start, bin_days)
    # x * 1 = x and x * NaN = NaN: the clear-sky mask as one in-place multiply (4x cheaper than np.where's copy)
    keep = np.where(ok, np.float32(1), np.float32(np.nan))[:, None, :]
    masked = np.multiply(refl, keep, out=refl).reshape(t, -1)
    if _on_bins(rel, centre):  # already on the aligned bins
        out = masked  # fill its gaps in place
        rows = np.flatnonzero(np.isnan(masked).any(axis=0))
    else:
        out = np.full((centre.size, nb * p), np.nan, dtype=np.float32)
        rows = np.arange(nb * p)
    if rows.size:
        out[:, rows] = _regrid_rows(np.ascontiguousarray(masked[:, rows].T), rel, centre).T
    return out.reshape(centre.size, nb, p)


def _regrid_rows(values: np.ndarray, x_src: np.ndarray, x_tgt: np.ndarray) -> np.ndarray:
    """:func:`cropglobe.temporal.gapfill.regrid_linear` of rows (M, S) -> (M, R) by the compiled kernel: same values."""
    from cropglobe.temporal import kernels

    x_src = np.asarray(x_src, dtype=np.float64)
    x_tgt = np.asarray(x_tgt, dtype=np.float64)
    before, after = gapfill.regrid_neighbours(x_src, x_tgt)
    out = np.empty((values.shape[0], x_tgt.size), dtype=values.dtype)
    kernels.regrid_rows(values, x_src, x_tgt, before, after, out)
    return out


def composite_dataset(values: np.ndarray, ctx: BlockContext, window: tuple[int, int] | None = None,
                      lon: np.ndarray | None = None, lat: np.ndarray | None = None) -> xr.Dataset:
    """(P, band, bins) composite (the full year, or the bins ``window=(start, count)``) -> dataset for features.

    With the pixels' ``lon``/``lat`` (degrees, (P,)) the dataset carries them and each pixel's
    ``shift_days`` as a composite of samples does (features such as Presto's read them).
    """
    bin_start, bin_days = ctx.calendar.bin_start, ctx.calendar.bin_days
    if window is not None:
        bin_start, bin_days = bin_start[window[0]:sum(window)], bin_days[window[0]:sum(window)]
    n = values.shape[0]
    coords = {"band": ("band", ctx.read_bands), "time": ("time", bin_start), "bin_days": ("time", bin_days),
              "sample_id": ("sample", np.arange(n))}
    if lon is not None and lat is not None:
        coords.update(lon=("sample", np.asarray(lon, dtype=np.float64)),
                      lat=("sample", np.asarray(lat, dtype=np.float64)),
                      shift_days=("sample", _shifts(np.asarray(lat, dtype=np.float64), ctx).astype(np.int32)))
    attrs = {"time_kind": "composite", "season_window": ctx.recipe.composite.window}
    return xr.Dataset({"reflectance": (("sample", "band", "time"), values)}, coords=coords, attrs=attrs)


def predict_proba(model: Any, recipe: Recipe, x: np.ndarray, threads: int | None = None,
                  precision: str = "32-true") -> np.ndarray:
    """Class probabilities (N, C) of ``model`` with its recipe: :meth:`cropglobe.cells.cell.Cell.predict_proba`.

    ``threads`` sets a LightGBM model's threads for this call (torch uses its process-wide setting);
    ``precision`` (``"32-true"`` or ``"bf16-mixed"``, see :func:`inference_precision`) is the torch
    forward pass's; tabular models ignore it.
    """
    return Cell(recipe, model, precision).predict_proba(x, threads)


def block_inputs(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lat: np.ndarray,
                 ctx: BlockContext, lon: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs of the mappable pixels of one block and their positions: ``(x, keep)``.

    ``lon`` (with ``lat``, the pixel centres from the cube's CRS and transform) gives the features
    each pixel's location (Presto's location token); without it the block carries no lon/lat.
    """
    r = ctx.recipe
    start, count = r.window_bins
    if ctx.window_offsets is not None or ctx.collect_series:
        return _aligned_block_inputs(refl, clear, scl, lat, ctx)
    win, n_clear, filled = window_block(refl, clear, scl, lat, ctx)
    ok = (n_clear >= ctx.min_clear) & filled
    keep = np.flatnonzero(ok)
    if not keep.size:
        return np.empty((0,), dtype=np.float32), keep
    win = win[keep] if keep.size < ok.size else win  # whole rows of the sample-major window
    where = (None, None) if lon is None else (np.asarray(lon)[keep], np.asarray(lat)[keep])
    win_ds = composite_dataset(win, ctx, (start, count), *where)
    return Cell(r).features(win_ds), keep


def recipe_bin_days(recipe: Recipe) -> float:
    """The cell's composite bin width in days (format-1 recipes: the compositing interval)."""
    return Cell(recipe).bin_days


def check_alignable(recipe: Recipe, where: str) -> None:
    """Raise unless the cell's features are season windows of the composite (what align moves)."""
    from cropglobe.errors import CropGlobeError
    from cropglobe.features import families

    if not families.get_feature(recipe.feature).windowed:
        raise CropGlobeError(f"{where}: {recipe.path} uses feature {recipe.feature!r}; align moves the season "
                             f"window of the median features ({', '.join(families.window_families())}) only")


def search_alignment(recipe: Recipe, model: Any, series: np.ndarray, precision: str, where: str) -> dict[str, float]:
    """The season offset / stretch of :meth:`cropglobe.cells.cell.Cell.search_alignment` on unlabelled series.

    Shared by ``cropglobe predict --adapt align`` and ``cropglobe map --adapt align`` (and, through
    :class:`~cropglobe.cells.cell.Cell`, the study's ``align`` rows).

    Args:
        recipe: The cell.
        model: Its loaded model (or ensemble).
        series: Gap-filled full-year series (N, B, T) of the samples or pixels.
        precision: Torch inference precision.
        where: Names the option in the error (``"adapt='align'"``, ``"--adapt align"``).

    Raises:
        CropGlobeError: When the cell's features are not season windows of the composite.
    """
    check_alignable(recipe, where)
    return Cell(recipe, model, precision).search_alignment(series, where=where)[2]


def _aligned_block_inputs(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lat: np.ndarray,
                          ctx: BlockContext) -> tuple[np.ndarray, np.ndarray]:
    """Inputs of a block whose window is moved (``ctx.window_offsets``), or its series (``ctx.collect_series``).

    Both need the full-year composite (:func:`composite_block`), not only the window's bins.
    """
    r = ctx.recipe
    values, n_clear = composite_block(refl, clear, scl, lat, ctx)  # (bins, band, P)
    keep = np.flatnonzero((n_clear >= ctx.min_clear) & ~np.isnan(values).any(axis=(0, 1)))
    if not keep.size:
        return np.empty((0,), dtype=np.float32), keep
    series = np.ascontiguousarray(np.nan_to_num(values[..., keep]).transpose(2, 1, 0)).astype(np.float32)
    if ctx.collect_series:
        return series, keep
    a, b = ctx.window_offsets or (0.0, 0.0)
    return Cell(r).series_inputs(series, a, b), keep


@dataclass(frozen=True)
class RawBlock:
    """The raw arrays of one block of P pixels, as the cube holds them (the kernels decode them).

    Attributes:
        refl: Raw reflectance (time, band, P) in the order of ``BlockContext.read_bands`` (decoded
            with ``BlockContext.decoding``).
        clear: Clear-sky score (time, P) or None.
        scl: Scene-classification codes (time, P) or None.
        lon: Pixel-centre longitudes (P,).
        lat: Pixel-centre latitudes (P,).
    """

    refl: np.ndarray
    clear: np.ndarray | None
    scl: np.ndarray | None
    lon: np.ndarray
    lat: np.ndarray


def predict_block(block: RawBlock, ctx: BlockContext, model: Any, threads: int | None = None,
                  proba_out: list[np.ndarray] | None = None, teacher: Any = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Classify the pixels of one block.

    Args:
        block: The block's raw arrays and pixel coordinates.
        ctx: The shared context.
        model: The cell (:class:`~cropglobe.cells.cell.Cell`), or its loaded model.
        threads: Threads of the model's call in the calling thread (:meth:`.Cell.predict_proba`), or None.
        proba_out: When given, the probabilities of the valid pixels (P_valid, C) are appended to it
            (with ``ctx.collect_series``: their full-year series (P_valid, B, T), and no class is given).
        teacher: The loaded model of ``ctx.defer.teacher`` (a cascade, :func:`defer`), or None.

    Returns:
        ``(classes uint8 (P,), confidence float32 (P,), deferred)``; 255 / NaN where nodata;
        ``deferred``: how many pixels the cascade's teacher classified.
    """
    classes = np.full(block.refl.shape[2], NODATA_CLASS, dtype=np.uint8)
    conf = np.full(block.refl.shape[2], np.nan, dtype=np.float32)
    x, keep = block_inputs(block.refl, block.clear, block.scl, block.lat, ctx, block.lon)
    if not keep.size:
        return classes, conf, 0
    if ctx.collect_series:  # first pass of --adapt align: the series, no classes
        if proba_out is not None:
            proba_out.append(x)
        return classes, conf, 0
    cell = model if isinstance(model, Cell) else Cell(ctx.recipe, model, ctx.precision)
    proba = cell.predict_proba(x, threads)
    deferred = 0
    if ctx.defer is not None:
        proba, deferred = defer(proba, cell.window_of_inputs(x), ctx.defer,
                                Cell(ctx.defer.teacher, teacher, ctx.precision), threads)
    classes[keep] = proba.argmax(1).astype(np.uint8)
    conf[keep] = proba.max(1).astype(np.float32)
    if proba_out is not None:
        proba_out.append(np.asarray(proba, dtype=np.float32))
    return classes, conf, deferred


def defer(proba: np.ndarray, windows: np.ndarray, deferral: Deferral, teacher: Cell,
          threads: int | None = None) -> tuple[np.ndarray, int]:
    """A cascade: the teacher's probabilities where the model's top class leads the next by less than the margin.

    Args:
        proba: The model's class probabilities (N, C).
        windows: The same pixels' season windows (N, B, count).
        deferral: The teacher and the margin.
        teacher: The teacher's cell (its loaded model).
        threads: Threads of the teacher's call, as :meth:`.Cell.predict_proba`.

    Returns:
        ``(probabilities, deferred)``: a copy with the deferred rows replaced (``proba`` itself when
        none is), and how many rows the teacher classified.
    """
    unsure = np.flatnonzero(margins(proba) < deferral.margin)
    if not unsure.size:
        return proba, 0
    out = np.array(proba, dtype=np.float32, copy=True)
    out[unsure] = teacher.predict_proba(teacher.window_inputs(windows[unsure]), threads)
    return out, int(unsure.size)
