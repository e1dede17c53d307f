"""Fixtures of the feature tests: the emit family borrows the EMIT granule fixtures."""

from tests.sources.emit.conftest import granule, scene

__all__ = ["granule", "scene"]
