"""Degenerate-cell warnings (issue 27): best epoch 0, validation macro-F1 at chance, one predicted class."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from cropglobe.experiment import degenerate, report


def _confusion(collapsed: bool) -> str:
    cm = np.zeros((7, 7), dtype=int)
    if collapsed:
        cm[:, 2] = 5  # every reference class predicted as class 2
    else:
        np.fill_diagonal(cm, 5)
    return json.dumps(cm.tolist())


def _rows(seeds=(0,)) -> pd.DataFrame:
    base = {"source": "FRA", "feature": "median2d", "augmentation": "none", "n": 35, "weighted_f1": 0.5,
            "kappa": 0.4, "data": "SIMULATED DATA: test", "simulated": True, "adaptation": "none", "fold": "",
            "epochs": 3, "val_classes": 7}
    rows = []
    for seed in seeds:
        for target, scenario in (("BEL", "cross-country"), ("ARG", "cross-hemisphere")):
            rows.append({**base, "model": "cropnet-lite", "target": target, "scenario": scenario, "seed": seed,
                         "oa": 0.143, "macro_f1": 0.036, "best_epoch": 0, "best_val_macro_f1": 0.0357,
                         "train_seconds": 12.5, "confusion": _confusion(True)})
            rows.append({**base, "model": "rf", "target": target, "scenario": scenario, "seed": seed, "oa": 0.9,
                         "macro_f1": 0.9, "best_epoch": np.nan, "best_val_macro_f1": np.nan, "epochs": np.nan,
                         "val_classes": np.nan, "train_seconds": 2.0, "confusion": _confusion(False)})
    return pd.DataFrame(rows)


def test_reasons_of_a_collapsed_row_and_none_for_a_healthy_one():
    rows = _rows()
    collapsed, healthy = rows.iloc[0], rows.iloc[1]
    why = degenerate.reasons(collapsed)
    assert why[0] == "best epoch 0 of 3"
    assert why[1].startswith("validation macro-F1 0.036 at or below chance (0.143 for 7 classes)")
    assert why[2] == "one predicted class on BEL (7 in the reference)"
    assert degenerate.reasons(healthy) == []


def test_best_epoch_0_of_one_epoch_and_one_class_targets_are_not_flagged():
    row = _rows().iloc[0].copy()
    row["epochs"], row["best_val_macro_f1"] = 1, 0.8
    cm = np.zeros((7, 7), dtype=int)
    cm[2, 2] = 9  # a target with one reference class: one predicted class is right
    row["confusion"] = json.dumps(cm.tolist())
    assert degenerate.reasons(row) == []


def test_report_flags_degenerate_cells_and_lists_training(tmp_path):
    report.write_results(_rows(), tmp_path)
    text = report.build(tmp_path).read_text()
    assert "## ⚠ Degenerate cells" in text
    assert "- FRA, median2d / cropnet-lite, seed 0: best epoch 0 of 3;" in text
    assert "one predicted class on BEL, ARG" in text
    assert "0.036 (0.143) ⚠" in text and "0.900 (0.900) |" in text  # the healthy RF is not marked
    assert "## Training" in text
    assert "| FRA | median2d / cropnet-lite | 0 | 0 of 3 ⚠ | 0.036 | 12.5 |" in text
    assert "| FRA | harmonic / rf |" not in text and "| FRA | median2d / rf | 0 | – | – | 2.0 |" in text
    assert "Macro-F1 (one seed), OA in brackets." in text
    assert "± 0.000" not in text


def test_healthy_report_has_no_warning_section(tmp_path):
    rows = _rows()
    report.write_results(rows[rows["model"] == "rf"], tmp_path)
    assert "Degenerate" not in report.build(tmp_path).read_text()


def test_console_table_marks_degenerate_cells(tmp_path, capsys):
    from cropglobe.cli.transfer import print_results

    print_results(_rows(), tmp_path, simulated=True)
    out = capsys.readouterr().out
    assert "0.036 (0.143) ⚠" in out and "degenerate cells" in out
    assert "FRA, median2d / cropnet-lite, seed 0: best epoch 0 of 3" in out
