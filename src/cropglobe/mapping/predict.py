"""Per-pixel prediction of one block: clear-sky mask -> composite -> feature family -> model.

Design choice: each block's pixels become an observation-level SampleSet-like dataset (sample =
pixel) with the same variables and coordinates a SampleSet has (``reflectance``, ``clear`` /
``scl``, ``sample_id``, ``lon``, ``lat``, ``country``, ``year``, ``label``), and the *training*
code runs on it unchanged: :func:`cropglobe.composite.composite` (clear-sky test, 5-day medians,
gap filling, hemisphere alignment), :func:`cropglobe.season.season` and the feature family's
``fn``; so map features match training features exactly. :func:`cropglobe.samples.build` is not
used because a map has no labels: ``label`` is ``"other"`` (never read) and ``country`` is the
region's (``--country`` or the nearest GeoNames city, see :mod:`cropglobe.mapping.locate`);
``composite`` still validates its result with :func:`cropglobe.samples.validate`.

Nodata (class 255, confidence NaN): a pixel with fewer than ``min_clear`` clear observations in
the season window (the ``n_clear`` that ``composite`` reports), or a band that no clear
observation fills. Such pixels never get a class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from cropglobe.errors import CropGlobeError
from cropglobe.mapping.recipe import Recipe

NODATA_CLASS = 255


@dataclass(frozen=True)
class BlockContext:
    """What every block shares: the recipe, dates, bands, region and season year."""

    recipe: Recipe
    times: np.ndarray
    country: str
    year: int
    min_clear: int = 3
    simulated: bool = False


def _dataset(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lon: np.ndarray,
             lat: np.ndarray, ctx: BlockContext) -> xr.Dataset:
    """(time, band, P) reflectance + (time, P) masks -> observation-level SampleSet-like dataset."""
    n = refl.shape[2]
    data: dict[str, Any] = {"reflectance": (("sample", "band", "time"), np.ascontiguousarray(refl.transpose(2, 1, 0)))}
    if clear is not None:
        data["clear"] = (("sample", "time"), np.ascontiguousarray(clear.T))
    if scl is not None:
        data["scl"] = (("sample", "time"), np.ascontiguousarray(scl.T))
    coords = {
        "band": ("band", list(ctx.recipe.bands)), "time": ("time", ctx.times),
        "sample_id": ("sample", np.arange(n).astype(str)), "lon": ("sample", lon), "lat": ("sample", lat),
        "country": ("sample", np.full(n, ctx.country)), "year": ("sample", np.full(n, ctx.year, dtype=np.int32)),
        "label": ("sample", np.full(n, "other")),
    }
    attrs = {"time_kind": "observations", "simulated": ctx.simulated, "source": "cropglobe map", "history": []}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def model_inputs(full: xr.Dataset, recipe: Recipe) -> np.ndarray:
    """Feature family of the recipe on the season window of a full-year composite (as in training)."""
    from cropglobe import features, season

    start, count = season.window_bins(full)
    if (start, count) != tuple(recipe.window_bins):
        raise CropGlobeError(f"{recipe.path}: the composite's season window has bins {[start, count]} but the model "
                             f"was trained on {list(recipe.window_bins)}; expected the same interval and window")
    x = np.asarray(features.get_feature(recipe.feature).fn(season.season(full), **recipe.feature_options),
                   dtype=np.float32)
    return x.reshape(len(x), -1) if recipe.flatten else x


def predict_proba(model: Any, recipe: Recipe, x: np.ndarray) -> np.ndarray:
    """Class probabilities (N, C): ``predict_proba_torch`` for torch models, ``predict_proba`` otherwise."""
    if recipe.family == "torch":
        from cropglobe.train import predict_proba_torch

        return predict_proba_torch(model, x, batch_size=2048)
    return np.asarray(model.predict_proba(x))


def predict_block(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, lon: np.ndarray,
                  lat: np.ndarray, ctx: BlockContext, model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Classify the pixels of one block.

    Args:
        refl: Reflectance (time, band, P) in the recipe's band order.
        clear: Clear-sky score (time, P) or None.
        scl: Scene-classification codes (time, P) or None.
        lon: Pixel-centre longitudes (P,).
        lat: Pixel-centre latitudes (P,).
        ctx: The shared context.
        model: The loaded model.

    Returns:
        ``(classes uint8 (P,), confidence float32 (P,))``; 255 / NaN where nodata.
    """
    from cropglobe import composite

    r = ctx.recipe
    classes = np.full(refl.shape[2], NODATA_CLASS, dtype=np.uint8)
    conf = np.full(refl.shape[2], np.nan, dtype=np.float32)
    ds = _dataset(refl, clear, scl, lon, lat, ctx)
    c = r.composite
    if not composite.clear_mask(ds, float(c["clear_threshold"])).any():
        return classes, conf  # fully cloudy block: nodata, nothing to composite
    full = composite.composite(ds, interval=int(c["interval"]), window=str(c["window"]), align=c["align"],
                               clear_threshold=float(c["clear_threshold"]), min_clear=0)
    values = full["reflectance"].values
    ok = (full["n_clear"].values >= ctx.min_clear) & ~np.isnan(values).any(axis=(1, 2))
    if not ok.any():
        return classes, conf
    keep = np.flatnonzero(ok)
    x = model_inputs(full.isel(sample=keep) if keep.size < ok.size else full, r)
    proba = predict_proba(model, r, x)
    classes[keep] = proba.argmax(1).astype(np.uint8)
    conf[keep] = proba.max(1).astype(np.float32)
    return classes, conf
