"""Embedded phenology simulator: Sentinel-2-like observation series for the 8 CropGlobe countries.

SIMULATED DATA. This is the offline default data of cropglobe; everything it writes is labelled
``simulated`` in the SampleSet attributes and shown as such by every command.

The model (all parameters in ``cropglobe/data/simulator.yaml``, loaded into :class:`SimParams`):

1. **Phenology.** Each class has a double-logistic green-cover curve (Beck et al. 2006, "Improved
   monitoring of vegetation dynamics at very high latitudes", RSE 100) with start/end of season,
   rise and fall rates, peak and base cover; winter crops add an autumn green-up before winter
   (``early_sos``); rice fields are flooded from ``flood_start`` until the canopy closes;
   sugarcane is a ratoon crop with a long season and a pixel-specific harvest date. After the
   end of season green cover is replaced by senescent residue until harvest, then by decaying
   stubble. Curves repeat yearly (previous and next seasons are added) so an 18-month series is
   continuous. "other" mixes archetypes (pasture, sunflower-like, winter crop, fallow).
2. **Spectra.** Each observation is a linear mixture of green vegetation, senescent vegetation,
   soil and water endmember spectra in the 10 bands (fractions from step 1, soil = remainder),
   with a crop-specific red-edge/NIR scale (canopy structure).
3. **Country shifts.** Per country: planting-date offset, season-length factor, peak cover (yield
   level), soil brightness, cloudiness; southern countries have every date shifted by six months.
   Per pixel: a sowing-date offset, peak-cover and soil-brightness variation, gain and noise.
4. **Acquisitions and clouds.** Two relative orbits (5-day revisit, offset 2 days) from 1 January
   of the season year to 30 June of the next; regional cloudy days; cloudy observations get a low
   clear-sky score (like Cloud Score+ ``cs_cdf``) and cloud- or shadow-contaminated values.

The output is an observation-level SampleSet (irregular dates, ``clear`` score per observation).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from cropglobe import geography, samples, taxonomy, yamlfile
from cropglobe.checks import LAT_RANGE, LON_RANGE, Strict, is_whole, validation_error, whole_number
from cropglobe.errors import CropGlobeError

CROPGLOBE_COUNTRIES = ("ARG", "AUS", "BEL", "CHN", "FRA", "GBR", "NLD", "USA")
SIMULATOR_SOURCE = "cropglobe phenology simulator (SIMULATED DATA)"


class Phenology(Strict):
    """Double-logistic phenology of one class or archetype (dates: northern day of year)."""

    sos: float
    eos: float
    rise: float = Field(gt=0)
    fall: float = Field(gt=0)
    peak: float = Field(ge=0, le=1)
    base: float = Field(ge=0, le=1)
    harvest: float | None = None
    residue: float = Field(ge=0, le=1)
    nir_scale: float = Field(gt=0)
    date_sd: float = Field(ge=0)
    early_sos: float | None = None
    early_cover: float = Field(0.0, ge=0, le=1)
    flood_start: float | None = None
    flood_fraction: float = Field(0.0, ge=0, le=1)
    weight: float = Field(1.0, ge=0)


class CountryProfile(Strict):
    """Country-level shifts and the sampled region."""

    planting_offset: float
    season_length: float = Field(gt=0)
    peak: float = Field(gt=0)
    soil_brightness: float = Field(gt=0)
    cloud_fraction: float = Field(ge=0, le=1)
    lat: tuple[float, float]
    lon: tuple[float, float]
    classes: list[str] = Field(default_factory=lambda: list(taxonomy.CLASSES))

    @field_validator("lat", "lon")
    @classmethod
    def _degrees(cls, v: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        low, high = LAT_RANGE if info.field_name == "lat" else LON_RANGE
        if not low <= v[0] <= v[1] <= high:
            raise ValueError(f"expected [low, high] degrees inside [{low:g}, {high:g}], got {list(v)}")
        return v


class Acquisition(Strict):
    """Revisit pattern, clouds and noise."""

    revisit_days: int = Field(gt=0)
    orbit_offsets: list[int]
    second_orbit_probability: float = Field(ge=0, le=1)
    dropout: float = Field(ge=0, lt=1)
    cloudy_day_pixel_cloud: float = Field(ge=0, le=1)
    clear_day_pixel_cloud: float = Field(ge=0, le=1)
    shadow_probability: float = Field(ge=0, le=1)
    noise_sd: float = Field(ge=0)
    gain_sd: float = Field(ge=0)
    peak_sd: float = Field(ge=0)
    soil_sd: float = Field(ge=0)


class SimParams(Strict):
    """The simulator's whole parameter table (see ``data/simulator.yaml``)."""

    bands: list[str]
    hemisphere_offset_days: float
    endmembers: dict[str, list[float]]
    crops: dict[str, Phenology]
    other: dict[str, Phenology]
    countries: dict[str, CountryProfile]
    acquisition: Acquisition

    @model_validator(mode="after")
    def _check(self) -> SimParams:
        need = {"green_vegetation", "senescent_vegetation", "soil", "water", "cloud"}
        if set(self.endmembers) != need:
            raise ValueError(f"endmembers must be exactly {sorted(need)}")
        for name, spec in self.endmembers.items():
            if len(spec) != len(self.bands):
                raise ValueError(f"endmember {name} has {len(spec)} values for {len(self.bands)} bands")
        for cls in self.crops:
            if cls not in taxonomy.CLASSES or cls == taxonomy.OTHER:
                raise ValueError(f"crops: {cls!r} is not a crop class of the taxonomy")
        for iso, prof in self.countries.items():
            geography.country(iso)
            for cls in prof.classes:
                if cls not in taxonomy.CLASSES:
                    raise ValueError(f"countries.{iso}.classes: unknown class {cls!r}")
        return self


@lru_cache(maxsize=1)
def _default_text() -> str:
    return resources.files("cropglobe").joinpath("data/simulator.yaml").read_text("utf-8")


def load_params(path: str | os.PathLike | None = None) -> SimParams:
    """Load the simulator's parameter table (the embedded default, or a user YAML file).

    Raises:
        CropGlobeError: If the file is missing or a field is invalid (the message names it).
    """
    where = str(path) if path else "embedded simulator.yaml"
    try:
        text = _default_text() if path is None else Path(path).read_bytes()
        return SimParams.model_validate(yamlfile.parse(text, where))
    except OSError as err:
        raise CropGlobeError(f"{where}: cannot read simulator parameters ({err.strerror})") from None
    except ValidationError as err:
        raise validation_error(where, err, model=SimParams) from None


def _logistic(t: np.ndarray, mid: np.ndarray | float, rate: float) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh((t - mid) / (2.0 * rate)))


def cover_fractions(ph: Phenology, t: np.ndarray, shift: np.ndarray | float = 0.0,
                    length: float = 1.0, peak_gain: np.ndarray | float = 1.0) -> dict[str, np.ndarray]:
    """Green, senescent and water cover fractions of one archetype at days ``t``.

    Args:
        ph: Phenology parameters.
        t: Days since 1 January of the season year, shape (..., T).
        shift: Days added to every date (country offset + hemisphere + per-pixel), broadcastable.
        length: Season-length factor (durations from ``sos`` are multiplied by it).
        peak_gain: Factor on the peak cover (country yield level x pixel variation).

    Returns:
        ``{"green", "senescent", "water"}`` arrays of the broadcast shape, each in [0, 1].
    """
    green = np.zeros(np.broadcast_shapes(np.shape(t), np.shape(shift)))
    senescent = np.zeros_like(green)
    water = np.zeros_like(green)
    peak = np.clip(ph.peak * np.asarray(peak_gain), 0.0, 0.98)
    early = min(ph.early_cover, ph.peak)
    for cycle in (-1, 0, 1):  # previous, current and next season
        origin = ph.sos + shift + 365.0 * cycle

        def at(day: float, origin: np.ndarray = origin) -> np.ndarray:
            return origin + (day - ph.sos) * length

        rise = _logistic(t, origin, ph.rise * length)
        fall = _logistic(t, at(ph.eos), ph.fall)
        canopy = (peak - early) * rise
        if ph.early_sos is not None:
            canopy = canopy + early * _logistic(t, at(ph.early_sos), ph.rise)
        harvested = _logistic(t, at(ph.harvest), 2.0) if ph.harvest is not None else 0.0
        green += canopy * (1.0 - fall)
        dry = canopy * fall * (1.0 - harvested)
        if ph.harvest is not None:
            stubble = ph.residue * 0.4 * peak * harvested * np.exp(-np.clip(t - at(ph.harvest), 0, None) / 45.0)
            next_rise = _logistic(t, origin + 365.0 - 30.0, 5.0)
            dry = dry + stubble * (1.0 - next_rise)
        senescent += ph.residue * dry
        if ph.flood_start is not None:
            flooded = _logistic(t, at(ph.flood_start), 2.0) * (1.0 - fall)
            water += ph.flood_fraction * flooded * (1.0 - canopy / max(float(np.max(peak)), 1e-6))
    green = np.clip(green + ph.base, 0.0, 1.0)
    senescent = np.clip(senescent, 0.0, 1.0 - green)
    water = np.clip(water, 0.0, 1.0 - green - senescent)
    return {"green": green, "senescent": senescent, "water": water}


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine, or None where the platform does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def memory_need(samples_per_class: int, sets: int, n_bands: int, n_times: int) -> int:
    """Bytes :func:`simulate` holds at its peak, roughly: the float32 set about three times over
    (blocks, their concatenation, the SampleSet) plus one float64 block about five times over."""
    per_sample = n_times * (n_bands + 1) * 4
    return 3 * samples_per_class * sets * per_sample + 5 * samples_per_class * n_bands * n_times * 8


def check_size(samples_per_class: int, sets: int, n_bands: int, n_times: int, memory: int | None = None) -> None:
    """Refuse a set that cannot fit in this machine's memory (or in numpy's index range).

    Args:
        samples_per_class: Samples per class and country.
        sets: Country x class combinations simulated.
        n_bands: Bands per observation.
        n_times: Observation dates.
        memory: Bytes available (default: the machine's physical memory).

    Raises:
        CropGlobeError: Naming the size asked for, the memory it needs and the largest count that fits.
    """
    memory = physical_memory() if memory is None else memory
    need = memory_need(samples_per_class, sets, n_bands, n_times)
    limit = min(memory if memory is not None else np.iinfo(np.int64).max, np.iinfo(np.int64).max // 64)
    if need <= limit:
        return
    fits = max(0, limit // max(1, memory_need(1, sets, n_bands, n_times)))
    have = f"{memory / 2**30:.1f} GiB of memory" if memory is not None else "numpy's index range"
    raise CropGlobeError(
        f"simulate: samples_per_class={samples_per_class:,} gives {samples_per_class * sets:,} samples x {n_bands} "
        f"bands x {n_times} dates, about {need / 2**30:,.0f} GiB at the peak; this machine has {have}: "
        f"expected at most {fits:,} samples per class here")


def acquisition_days(year: int, params: SimParams) -> np.ndarray:
    """Observation dates (datetime64[D]) from 1 January ``year`` to 30 June ``year + 1``."""
    start = np.datetime64(f"{year}-01-01")
    end = np.datetime64(f"{year + 1}-06-30")
    n = int((end - start).astype(int)) + 1
    days = np.arange(n)
    acq = params.acquisition
    keep = np.isin(days % acq.revisit_days, np.asarray(acq.orbit_offsets) % acq.revisit_days)
    return start + days[keep].astype("timedelta64[D]")


def _country_shift(iso: str, params: SimParams) -> float:
    prof = params.countries[iso]
    hemi = geography.hemisphere_of(iso, np.asarray(prof.lat))
    return prof.planting_offset + (params.hemisphere_offset_days if hemi == "S" else 0.0)


def _simulate_block(iso: str, cls: str, n: int, t: np.ndarray, orbit: np.ndarray, cloudy_day: np.ndarray,
                    params: SimParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Reflectance (n, B, T) and clear-sky score (n, T) for one country x class."""
    prof, acq = params.countries[iso], params.acquisition
    em = {k: np.asarray(v, dtype=np.float64) for k, v in params.endmembers.items()}
    if cls == taxonomy.OTHER:
        names = list(params.other)
        weights = np.array([params.other[k].weight for k in names], dtype=float)
        kind = rng.choice(len(names), size=n, p=weights / weights.sum())
        archetypes = [(params.other[names[k]], kind == k) for k in range(len(names))]
    else:
        archetypes = [(params.crops[cls], np.ones(n, dtype=bool))]
    base_shift = _country_shift(iso, params)
    refl = np.zeros((n, len(params.bands), t.size))
    nir_bands = np.isin(params.bands, ["B6", "B7", "B8", "B8A"])
    soil_gain = prof.soil_brightness * np.clip(rng.normal(1.0, acq.soil_sd, n), 0.6, 1.6)
    for ph, rows in archetypes:
        m = int(rows.sum())
        if m == 0:
            continue
        shift = (base_shift + rng.normal(0.0, ph.date_sd, m))[:, None]
        gain = (prof.peak * rng.normal(1.0, acq.peak_sd, m))[:, None]
        frac = cover_fractions(ph, t[None, :], shift, prof.season_length, gain)
        veg = em["green_vegetation"].copy()
        veg[nir_bands] *= ph.nir_scale
        soil_frac = 1.0 - frac["green"] - frac["senescent"] - frac["water"]
        refl[rows] = (
            frac["green"][:, None, :] * veg[None, :, None]
            + frac["senescent"][:, None, :] * em["senescent_vegetation"][None, :, None]
            + frac["water"][:, None, :] * em["water"][None, :, None]
            + soil_frac[:, None, :] * (soil_gain[rows, None, None] * em["soil"][None, :, None])
        )
    refl *= rng.normal(1.0, acq.gain_sd, (n, 1, 1))
    refl += rng.normal(0.0, acq.noise_sd, refl.shape)
    # clouds: regional cloudy days, pixel-level cover, score like Cloud Score+ cs_cdf
    p_cloud = np.where(cloudy_day, acq.cloudy_day_pixel_cloud, acq.clear_day_pixel_cloud)
    cloudy = rng.random((n, t.size)) < p_cloud[None, :]
    score = np.where(cloudy, rng.uniform(0.0, 0.6, (n, t.size)), rng.uniform(0.8, 1.0, (n, t.size)))
    shadow = cloudy & (rng.random((n, t.size)) < acq.shadow_probability)
    opacity = np.clip(1.0 - score / 0.75, 0.2, 1.0)[:, None, :]
    contaminated = (1.0 - opacity) * refl + opacity * em["cloud"][None, :, None]
    refl = np.where(cloudy[:, None, :] & ~shadow[:, None, :], contaminated, refl)
    refl = np.where(shadow[:, None, :], refl * rng.uniform(0.25, 0.6, (n, 1, t.size)), refl)
    # acquisitions: second orbit seen by some pixels only, random dropouts
    sees_second = rng.random(n) < acq.second_orbit_probability
    observed = (orbit[None, :] == 0) | sees_second[:, None]
    observed &= rng.random((n, t.size)) >= acq.dropout
    refl = np.clip(refl, 0.0, 1.0)
    refl[np.broadcast_to(~observed[:, None, :], refl.shape)] = np.nan
    score[~observed] = np.nan
    return refl.astype(np.float32), score.astype(np.float32)


def simulate(
    countries: Sequence[str] | None = None,
    samples_per_class: int = 200,
    year: int = 2023,
    seed: int = 0,
    params: SimParams | None = None,
) -> xr.Dataset:
    """Simulate an observation-level SampleSet (SIMULATED DATA).

    Args:
        countries: ISO3 codes with a profile in the parameter table (default: the 8 of CropGlobe).
        samples_per_class: Samples per class present in each country.
        year: Season year (observations run from 1 January to 30 June of the next year).
        seed: Seed of the random generator; the same seed gives the same set.
        params: Parameter table (default: the embedded one).

    Returns:
        A validated SampleSet with ``time_kind="observations"`` and a ``clear`` score.

    Raises:
        CropGlobeError: For an unknown country, a non-positive sample count or a negative seed.
    """
    whole_number(seed, "simulate: seed", minimum=0)  # numpy's generators take seeds >= 0 only
    params = params or load_params()
    countries = [c.upper() for c in (countries or CROPGLOBE_COUNTRIES)]
    for iso in countries:
        if iso not in params.countries:
            raise CropGlobeError(
                f"simulate: no simulator profile for country {iso!r}; expected one of {', '.join(params.countries)}"
            )
    if not is_whole(samples_per_class) or samples_per_class <= 0:
        raise CropGlobeError(f"simulate: samples_per_class must be > 0, got {samples_per_class!r}; "
                             "expected a whole number")
    dates = acquisition_days(year, params)
    sets = sum(1 for iso in countries for c in taxonomy.CLASSES if c in params.countries[iso].classes)
    check_size(int(samples_per_class), sets, len(params.bands), dates.size)
    t = (dates - np.datetime64(f"{year}-01-01")).astype(float)
    acq = params.acquisition
    orbit = np.searchsorted(sorted(o % acq.revisit_days for o in acq.orbit_offsets),
                            (t.astype(int) % acq.revisit_days))
    rng = np.random.default_rng(seed)
    blocks, scores, meta = [], [], []
    for iso in countries:
        prof = params.countries[iso]
        cloudy_day = rng.random(t.size) < prof.cloud_fraction
        for cls in [c for c in taxonomy.CLASSES if c in prof.classes]:
            refl, score = _simulate_block(iso, cls, samples_per_class, t, orbit, cloudy_day, params, rng)
            blocks.append(refl)
            scores.append(score)
            meta.append(pd.DataFrame({
                "sample_id": [f"{iso}-{cls}-{i:05d}" for i in range(samples_per_class)],
                "country": iso, "label": cls,
                "lon": rng.uniform(*prof.lon, samples_per_class),
                "lat": rng.uniform(*prof.lat, samples_per_class),
            }))
    table = pd.concat(meta, ignore_index=True)
    return samples.build(
        samples.SampleArrays(np.concatenate(blocks),
        bands=params.bands,
        time=dates.astype("datetime64[ns]"),
        sample_id=table["sample_id"],
        label=table["label"],
        country=table["country"],
        year=year,
        lon=table["lon"],
        lat=table["lat"],
        clear=np.concatenate(scores)),
        attrs={
            "sensor": "Sentinel-2 (simulated)",
            "processing_level": "L2A (simulated)",
            "source": SIMULATOR_SOURCE,
            "simulated": True,
            "time_kind": "observations",
            "history": [
                f"simulate(countries={countries}, samples_per_class={samples_per_class}, year={year}, seed={seed})"
            ],
        },
        where="simulator",
    )
