"""Tests for report aggregation and the markdown/figure builder on a hand-made results table."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.experiment import report


def _rows() -> pd.DataFrame:
    base = {"source": "FRA", "feature": "median2d", "model": "cropnet", "augmentation": "none", "n": 10,
            "weighted_f1": 0.5, "kappa": 0.4, "data": "SIMULATED DATA: test", "simulated": True,
            "confusion": json.dumps([[1] * 7] * 7)}
    rows = []
    for target, scenario in (("BEL", "cross-country"), ("ARG", "cross-hemisphere")):
        for seed, f1 in ((0, 0.6), (1, 0.8)):
            rows.append({**base, "target": target, "scenario": scenario, "seed": seed, "oa": f1, "macro_f1": f1})
    return pd.DataFrame(rows)


def test_aggregate_mean_and_std_over_seeds():
    agg = report.aggregate(_rows())
    bel = agg[agg["target"] == "BEL"].iloc[0]
    assert bel["macro_f1_mean"] == pytest.approx(0.7) and bel["macro_f1_std"] == pytest.approx(0.1)
    assert bel["seeds"] == 2


def test_build_writes_tables_by_scenario(tmp_path):
    report.write_results(_rows(), tmp_path)
    text = report.build(tmp_path).read_text()
    assert "SIMULATED DATA" in text
    assert text.index("## Cross country") < text.index("## Cross hemisphere")
    assert "0.700 ± 0.100 (0.700)" in text
    assert (tmp_path / "figures" / "confusion.png").exists()


def test_build_without_results_fails(tmp_path):
    with pytest.raises(CropGlobeError, match="no results.parquet"):
        report.build(tmp_path)
