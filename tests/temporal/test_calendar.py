"""The aligned calendar and its users agree (mirrors src/cropglobe/temporal/calendar.py); SIMULATED data."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe import taxonomy
from cropglobe.errors import CropGlobeError
from cropglobe.recipe import CompositeSettings, RecipeSpec
from cropglobe.sources import simulate
from cropglobe.temporal import composite, season
from cropglobe.temporal.calendar import Calendar


def test_the_calendar_holds_the_axis_window_and_alignment():
    cal = Calendar(5, "05-01:11-30", "hemisphere", {"BEL": 10})
    start, days = season.axis(5)
    np.testing.assert_array_equal(cal.bin_start, start)
    np.testing.assert_array_equal(cal.bin_days, days)
    assert (cal.first, cal.last) == season.parse_window("05-01:11-30")
    assert cal.n_bins == 73 and cal.year_days == 365
    assert cal.window_bins == (24, 43)
    shifts, label = cal.shifts(np.array(["FRA", "ARG", "BEL"]), np.array([45.0, -34.0, 50.0]))
    assert shifts.tolist() == [0, season.HEMISPHERE_SHIFT_DAYS, 10] and "BEL +10" in label
    origins = cal.origins(np.array([2023, 2023, 2022]), shifts)
    assert origins.tolist()[1] == (np.datetime64("2023-01-01") + np.timedelta64(182, "D")).item()
    assert [len(range(3)[idx]) if isinstance(idx, slice) else idx.size for _, idx in cal.groups(origins)] == [1, 1, 1]
    assert cal.window_span(np.datetime64("2023-01-01")) == (np.datetime64("2023-05-01"), np.datetime64("2023-11-30"))
    rel = cal.days_from(np.array(["2023-04-30", "2023-05-01", "2023-11-30", "2023-12-01"], dtype="datetime64[D]"),
                        np.datetime64("2023-01-01"))
    assert cal.in_window(rel).tolist() == [False, True, True, False]
    with pytest.raises(CropGlobeError, match="interval"):
        Calendar(0)
    with pytest.raises(CropGlobeError, match="align"):
        Calendar(5, align="sideways").shifts("FRA", np.array([45.0]))


def test_composite_uses_the_calendar():
    obs = simulate.simulate(["FRA", "ARG"], samples_per_class=3, seed=1)
    full = composite.composite(obs, CompositeSettings(interval=5, window="05-01:11-30", align="hemisphere"))
    cal = Calendar.of(CompositeSettings.from_attrs(full.attrs, "composite"))
    np.testing.assert_array_equal(full["time"].values, cal.bin_start)
    np.testing.assert_array_equal(full["bin_days"].values, cal.bin_days)
    assert season.window_bins(full) == cal.window_bins
    shifts, label = cal.shifts(full["country"].values, full["lat"].values)
    np.testing.assert_array_equal(full["shift_days"].values, shifts)
    assert full.attrs["alignment"] == label and set(shifts.tolist()) == {0, season.HEMISPHERE_SHIFT_DAYS}


def _recipe(**composite_settings) -> RecipeSpec:
    return RecipeSpec(model="rf", feature="median1d", bands=["B4", "B8"], classes=list(taxonomy.CLASSES),
                      composite=CompositeSettings(**composite_settings), window_bins=(24, 43), bin_days=5.0)


def test_the_map_blocks_use_the_calendar():
    from cropglobe.mapping.predict import BlockContext, composite_dataset, used_dates

    recipe = _recipe(offsets={"ARG": 150})
    times = np.arange(np.datetime64("2023-01-01"), np.datetime64("2024-12-31"), 5).astype("datetime64[ns]")
    ctx = BlockContext(recipe, times, "ARG", 2023)  # type: ignore[arg-type]
    cal = ctx.calendar
    assert cal == Calendar.of(recipe.composite) and cal.offsets == {"ARG": 150}
    ds = composite_dataset(np.zeros((2, 2, cal.n_bins), dtype=np.float32), ctx,
                           lon=np.array([-60.0, -61.0]), lat=np.array([-34.0, -35.0]))
    np.testing.assert_array_equal(ds["time"].values, cal.bin_start)
    np.testing.assert_array_equal(ds["shift_days"].values, [150, 150])
    used = used_dates(ctx, np.array([-34.0]))  # the aligned year of the ARG calendar: 150 days after 1 January
    rel = cal.days_from(times, cal.origins(2023, np.array(150))[()])
    assert used == slice(int(np.searchsorted(rel, 0)), int(np.searchsorted(rel, cal.year_days)))
    moved = BlockContext(_recipe(interval=10), times, "ARG", 2023)  # type: ignore[arg-type]
    assert moved.calendar.n_bins == 37  # a replaced recipe gets its own calendar


def test_the_season_year_and_earth_engine_use_the_calendar():
    from cropglobe.mapping.locate import season_year
    from cropglobe.sources.acquire import gee

    recipe = _recipe()
    times = np.arange(np.datetime64("2022-07-01"), np.datetime64("2023-07-01"), 5)
    cal = Calendar.of(recipe.composite)
    year = season_year(times, recipe, "ARG", -34.0)  # type: ignore[arg-type]
    w0, w1 = cal.window_span(cal.origins(year, cal.shifts("ARG", np.array([-34.0]))[0])[0])
    assert times[0] <= w0 and w1 <= times[-1] and year == 2022  # the southern season 2022/23
    with pytest.raises(CropGlobeError, match="do not cover"):
        season_year(times, recipe, "FRA", 45.0)  # type: ignore[arg-type]
    np.testing.assert_array_equal(gee.bin_starts(5), Calendar(5).bin_start)
    assert gee.season_shift("ARG", np.array([-34.0])) == int(Calendar().shifts("ARG", np.array([-34.0]))[0][0]) \
        == season.HEMISPHERE_SHIFT_DAYS
