"""`cropglobe report` on damaged run folders is one clear error; the figures are readable; the table is whole."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cropglobe import taxonomy
from cropglobe.cli import app
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import report

runner = CliRunner()
TARGETS = (("BEL", "cross-country"), ("DEU", "cross-country"), ("ARG", "cross-hemisphere"),
           ("AUS", "cross-hemisphere"), ("CHN", "cross-continent"), ("USA", "cross-continent"),
           ("BRA", "cross-hemisphere"), ("FRA", "in-region"))


def _results(features=("median2d", "harmonic")) -> pd.DataFrame:
    rows = []
    for feature in features:
        for target, scenario in TARGETS:
            for seed in (0, 1):
                rows.append({"source": "FRA", "target": target, "scenario": scenario, "feature": feature,
                             "model": "cropnet-lite", "augmentation": "paper", "seed": seed, "oa": 0.7,
                             "macro_f1": 0.6 + 0.1 * seed, "weighted_f1": 0.6, "kappa": 0.5, "n": 20,
                             "confusion": json.dumps(np.eye(7, dtype=int).tolist()), "data": "SIMULATED DATA: test",
                             "simulated": True})
    return pd.DataFrame(rows)


@pytest.fixture()
def run_dir(tmp_path):
    report.write_results(_results(), tmp_path)
    (tmp_path / "config.yaml").write_text("name: figures-test\n")
    mats = np.random.default_rng(0).random((2, 10, 43)).astype(np.float32) * 0.4
    np.savez(tmp_path / "signatures.npz", keys=np.array(["FRA/corn", "BEL/wheat"]), mats=mats,
             bands=np.array(["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]),
             doy=np.arange(121, 336, 5), simulated=np.array(True))
    return tmp_path


def test_corrupt_results_parquet_is_one_clear_error(run_dir):
    (run_dir / "results.parquet").write_bytes(b"PAR1 not really parquet")
    result = runner.invoke(app, ["report", str(run_dir)])
    assert isinstance(result.exception, CropGlobeError)
    assert "results.parquet: cannot be read as a Parquet results table" in str(result.exception)


def test_parquet_of_something_else_is_named(run_dir):
    pd.DataFrame({"a": [1]}).to_parquet(run_dir / "results.parquet")
    with pytest.raises(CropGlobeError, match="not a cropglobe results table .missing columns source"):
        report.build(run_dir)


@pytest.mark.parametrize(
    "text, message", [("name: [unclosed\n", "not valid YAML"), ("- a\n- b\n", "expected a mapping")]
)
def test_corrupt_config_yaml_is_one_clear_error(run_dir, text, message):
    (run_dir / "config.yaml").write_text(text)
    with pytest.raises(CropGlobeError, match=message):
        report.build(run_dir)


def test_corrupt_signatures_is_one_clear_error(run_dir):
    (run_dir / "signatures.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CropGlobeError, match="signatures.npz: cannot be read"):
        report.build(run_dir)


def _figures(run_dir, monkeypatch):
    from matplotlib.figure import Figure

    figs = []
    real_savefig = Figure.savefig

    def keep(fig, *args, **kwargs):
        figs.append(fig)
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    report.build(run_dir)
    monkeypatch.setattr(Figure, "savefig", real_savefig)
    return figs


def test_confusion_figure_is_sized_to_its_content_with_full_names_and_a_colour_bar(run_dir, monkeypatch):
    figs = _figures(run_dir, monkeypatch)
    height, width = mpimg.imread(run_dir / "figures" / "confusion.png").shape[:2]
    assert width / height < 3, (width, height)  # a grid of panels, not one 2816 x 374 strip
    fig = next(f for f in figs if f.get_suptitle().startswith("Confusion"))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == list(taxonomy.CLASSES)  # full class names
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)


def test_signatures_have_axis_labels_and_features_legend_is_beside_the_bars(run_dir, monkeypatch):
    figs = _figures(run_dir, monkeypatch)
    sig = next(f for f in figs if f.get_suptitle().startswith("Mean bands"))
    assert "time" in sig.get_supxlabel() and "bands: B2 top" in sig.get_supylabel()
    feat = next(f for f in figs if f.axes[0].get_title().startswith("Feature families"))
    ax = feat.axes[0]
    legend = ax.get_legend()
    feat.canvas.draw()
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1  # right of the axes, not over the bars


def test_transfer_table_keeps_full_column_names_at_80_columns(monkeypatch, capsys):
    from cropglobe.cli.transfer import print_results

    monkeypatch.setenv("COLUMNS", "80")
    results = _results(("median2d", "harmonic", "median1d"))
    print_results(results, report.Path("runs/x"), simulated=True)
    out = capsys.readouterr().out
    for header in ("median2d/cropnet-lite +paper", "harmonic/cropnet-lite +paper", "median1d/cropnet-lite +paper"):
        assert header in out
    assert "…" not in out
