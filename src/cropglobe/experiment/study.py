"""The transfer spec, re-exported from :mod:`cropglobe.study.spec` (where it lives, below both top floors)."""

from cropglobe.study.spec import (
    CellSpec,
    CompositeSpec,
    DataSpec,
    ExperimentSpec,
    SimulateSpec,
    ValidationSpec,
    load_spec,
    parse_spec,
)

__all__ = ["CellSpec", "CompositeSpec", "DataSpec", "ExperimentSpec", "SimulateSpec", "ValidationSpec", "load_spec",
           "parse_spec"]
