"""Fixtures for the EMIT tests: generated granules and points tables (see data.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from . import data


@pytest.fixture()
def scene() -> data.Scene:
    """The default generated scene (rotated swath, empty corner, one fill pixel, one fill value)."""
    return data.make_scene()


@pytest.fixture()
def granule(tmp_path: Path, scene: data.Scene) -> Path:
    """The default scene written as an EMIT L2A RFL granule."""
    return data.write_granule(tmp_path / "EMIT_L2A_RFL_001_20230715T103105_2319607_002.nc", scene)


def points_table(cells: list[tuple[int, int]], labels: list[str] | None = None, country: str = "FRA",
                 year: int = 2023) -> pd.DataFrame:
    """A points table with one sample at the centre of each ortho cell (row, col)."""
    rows = []
    for i, (r, c) in enumerate(cells):
        lon, lat = data.cell_center(r, c)
        rows.append({"sample_id": f"p{i:03d}_{r}_{c}", "lon": lon, "lat": lat, "country": country, "year": year,
                     "label": (labels or ["corn"] * len(cells))[i]})
    return pd.DataFrame(rows)
