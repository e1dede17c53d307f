"""How observations become composites (mirrors src/cropglobe/temporal/settings.py): CompositeSettings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cropglobe.temporal.settings import FILL_DAYS, SCL_KEEP, CompositeSettings


def test_defaults_and_plain_values():
    s = CompositeSettings()
    assert (s.interval, s.window, s.align, s.min_clear, s.scl_keep, s.coverage, s.fill_days) == (
        5, "05-01:11-30", "hemisphere", 3, SCL_KEEP, "drop", FILL_DAYS)
    assert s.composite_kwargs()["offsets"] is None
    assert CompositeSettings(offsets={"aus": 170}).composite_kwargs()["offsets"] == {"AUS": 170}
    assert CompositeSettings(offsets={}).offsets is None  # no offsets: None, not an empty mapping
    assert CompositeSettings.model_validate(s.to_attrs()) == s


@pytest.mark.parametrize("bad", [{"interval": 0}, {"clear_threshold": 1.5}, {"coverage": "hold"},
                                 {"fill_days": 181}, {"min_clear": True}, {"colour": "red"}])
def test_bad_values_are_refused(bad):
    with pytest.raises(ValidationError):
        CompositeSettings(**bad)


def test_edge_tolerance_per_coverage():
    assert CompositeSettings(interval=5).edge_tolerance() == 4  # a bin minus a day for observations
    assert CompositeSettings(interval=5).edge_tolerance(observations=False) == 0  # coarse composites: none
    fill = CompositeSettings(interval=5, coverage="fill", fill_days=30)
    assert fill.edge_tolerance() == 30 and fill.edge_tolerance(observations=False) == 30
    assert CompositeSettings(interval=10, coverage="fill", fill_days=3).edge_tolerance() == 9


def test_same_calendar_compares_interval_alignment_and_offsets():
    base = CompositeSettings(align="10")
    assert base.same_calendar(CompositeSettings(align=10, window="06-01:10-31", min_clear=1))
    assert not base.same_calendar(CompositeSettings(align=10, interval=10))
    assert not base.same_calendar(CompositeSettings(align="hemisphere"))
    assert not base.same_calendar(CompositeSettings(align=10, offsets={"FRA": 3}))


def test_from_attrs_reads_new_and_old_composites():
    s = CompositeSettings(interval=10, min_clear=2, offsets={"AUS": 170})
    assert CompositeSettings.from_attrs({"composite_settings": s.to_attrs()}) == s
    old = {"interval": 10, "season_window": "05-01:11-30", "clear_threshold": 0.75, "min_clear": 2,
           "alignment": "hemisphere"}
    back = CompositeSettings.from_attrs(old)
    assert (back.interval, back.min_clear, back.align) == (10, 2, "hemisphere")
