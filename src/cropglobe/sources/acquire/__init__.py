"""Acquisition: labelled Sentinel-2 sample sets from crop maps via open STAC (odc-stac + Dask) or Earth Engine.

Public face: :func:`load_config` (YAML -> :class:`AcquireConfig`), :func:`make_plan` /
:func:`describe` (the dry run), :func:`acquire` (a whole run). See ``configs/acquire/`` for examples.
"""

from cropglobe.sources.acquire.config import AcquireConfig, load_config
from cropglobe.sources.acquire.job import AcquireResult, acquire
from cropglobe.sources.acquire.plan import Plan, describe, make_plan

__all__ = ["AcquireConfig", "AcquireResult", "Plan", "acquire", "describe", "load_config", "make_plan"]
