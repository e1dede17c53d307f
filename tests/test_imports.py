"""Importing the package's modules has no side effects on matplotlib or logging (issue 16)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import logging, sys
import matplotlib
matplotlib.use("svg")
import cropglobe.experiment.report
assert "matplotlib.pyplot" not in sys.modules  # report draws with matplotlib.figure.Figure
import cropglobe.training.lightning, cropglobe.mapping  # (Lightning itself imports pyplot)
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert logging.getLogger("lightning.pytorch.utilities.rank_zero").filters == []
from cropglobe.training.lightning import _hide_tips
_hide_tips(); _hide_tips()
assert len(logging.getLogger("lightning.pytorch.utilities.rank_zero").filters) == 1
print("ok")
"""


def test_importing_report_and_train_changes_nothing():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
