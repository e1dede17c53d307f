"""Transfer experiments: a YAML spec -> a matrix of trained cells evaluated on target countries.

Public face: :func:`load_spec` / :func:`parse_spec` (validated config), :func:`prepare_study` (all input
checks, before any training) and :func:`run` (train, evaluate, resume, report).
"""

from cropglobe.experiment.data import Prepared, prepare_study
from cropglobe.experiment.runner import run
from cropglobe.experiment.study import CellSpec, ExperimentSpec, load_spec, parse_spec

__all__ = ["CellSpec", "ExperimentSpec", "Prepared", "load_spec", "parse_spec", "prepare_study", "run"]
