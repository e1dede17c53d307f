"""The report's figures (mirrors src/cropglobe/experiment/figures.py) on a hand-made results table (SIMULATED)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cropglobe.errors import CropGlobeError
from cropglobe.experiment import figures, report
from cropglobe.taxonomy import CLASSES

GOOD = np.diag([3, 2, 0, 4, 0, 0, 5]).tolist()
COLLAPSED = np.zeros((7, 7), dtype=int)
COLLAPSED[:, 6] = [3, 2, 0, 4, 0, 0, 5]


def _rows() -> pd.DataFrame:
    """Two sources x two targets x two cells (one collapsed) x two seeds."""
    rows = []
    scenario = {("FRA", "FRA"): "in-region", ("USA", "USA"): "in-region", ("FRA", "USA"): "cross-continent",
                ("USA", "FRA"): "cross-continent"}
    for (source, target), scen in scenario.items():
        for model, cm, f1 in (("rf", GOOD, 0.8), ("cropnet", COLLAPSED.tolist(), 0.04)):
            for seed in (0, 1):
                rows.append({"source": source, "target": target, "scenario": scen, "feature": "median2d",
                             "model": model, "augmentation": "none", "seed": seed, "oa": f1, "macro_f1": f1,
                             "weighted_f1": f1, "kappa": f1, "n": 14, "data": "SIMULATED DATA: test",
                             "simulated": True, "confusion": json.dumps(cm), "classes": ",".join(CLASSES)})
    return pd.DataFrame(rows)


@pytest.fixture
def drawn(tmp_path, monkeypatch):
    """(run folder, figures drawn by report.build keyed by file name)."""
    report.write_results(_rows(), tmp_path)
    drawn: dict[str, Figure] = {}
    real = Figure.savefig

    def keep(fig, path, *args, **kwargs):
        drawn[str(path).rsplit("/", 1)[-1]] = fig
        return real(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    text = report.build(tmp_path).read_text(encoding="utf-8")
    return tmp_path, drawn, text


def test_transfer_matrix_is_source_by_target_per_cell(drawn):
    _, figs, _ = drawn
    axes = [ax for ax in figs["transfer_matrix.png"].axes if ax.get_label() != "<colorbar>"]
    assert sorted(ax.get_title() for ax in axes) == ["median2d / cropnet", "median2d / rf"]
    for ax in axes:
        assert [t.get_text() for t in ax.get_yticklabels()] == ["FRA", "USA"] and ax.get_ylabel() == "source"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["FRA", "USA"] and ax.get_xlabel() == "target"
    collapsed = next(ax for ax in axes if ax.get_title() == "median2d / cropnet")
    assert {t.get_text() for t in collapsed.texts} == {"0.04⚠"}


def test_a_confusion_figure_per_cell_with_counts(drawn):
    run, figs, text = drawn
    for name in ("confusion_median2d__rf__none.png", "confusion_median2d__cropnet__none.png", "confusion.png"):
        assert (run / "figures" / name).is_file() and f"figures/{name}" in text
    fig = figs["confusion_median2d__cropnet__none.png"]
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert sorted(ax.get_title() for ax in panels) == ["FRA → FRA", "FRA → USA", "USA → FRA", "USA → USA"]
    counts = sorted(int(t.get_text()) for t in panels[0].texts)
    assert counts == [4, 6, 8, 10]  # the collapsed column, summed over two seeds
    assert [t.get_text() for t in panels[0].get_yticklabels()] == list(CLASSES)
    assert "counts summed over seeds [0, 1]" in fig.get_suptitle()


def test_features_by_scenario_has_a_bar_per_model_and_leaves_collapsed_cells_out(drawn):
    _, figs, _ = drawn
    ax = figs["features_by_scenario.png"].axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["median2d / rf"]
    assert "left out, did not learn" in ax.get_title() and "median2d / cropnet" in ax.get_title()
    heights = sorted(round(p.get_height(), 3) for p in ax.patches)
    assert heights == [0.8, 0.8]  # rf in both scenarios, the collapsed 0.04 not averaged in


def test_signatures_have_band_labels_and_time_ticks(tmp_path, monkeypatch):
    mats = np.random.default_rng(0).uniform(0, 0.4, size=(3, 4, 6)).astype(np.float32)
    np.savez(tmp_path / "sig.npz", keys=np.array(["FRA/corn", "FRA/wheat", "USA/corn"]), mats=mats,
             bands=np.array(["B2", "B3", "B4", "B8"]), doy=np.arange(120, 150, 5))
    drawn = []
    real = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (drawn.append(fig), real(fig, *a, **k))[1])
    figures.signatures(tmp_path / "sig.npz", tmp_path / "sig.png", "")
    axes = [ax for ax in drawn[0].axes if ax.get_label() != "<colorbar>"]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["B2", "B3", "B4", "B8"]  # first column
    bottom = axes[-1]  # USA / wheat: no pixels, still with time ticks and the image's orientation
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["120", "130", "135", "145"]
    assert bottom.get_ylim()[0] > bottom.get_ylim()[1]
    assert any(t.get_text() == "no pixels" for t in bottom.texts)
    assert "time" in drawn[0].get_supxlabel() and "bands: B2 top" in drawn[0].get_supylabel()


def test_confusion_names_come_from_the_runs_legend(tmp_path):
    own = [f"class{i}" for i in range(7)]
    figures.confusion(_rows(), ("median2d", "rf", "none"), tmp_path / "own.png", "", own)
    assert (tmp_path / "own.png").is_file()
    with pytest.raises(CropGlobeError, match=r"are 7 x 7; the run's legend has 4 classes"):
        figures.confusion(_rows(), ("median2d", "rf", "none"), tmp_path / "bad.png", "", list(CLASSES[:4]))
